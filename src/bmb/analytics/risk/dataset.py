"""Labelled data for risk models: features on an anchor date, outcome in the next year.

Outcomes over the ``horizon_days`` after the anchor (365 by default):

* ``admission``: an unplanned hospital stay starts (SDO admission type urgent or
  compulsory, ordinary regime; :func:`bmb.analytics.cdmsql.unplanned_admission_sql`);
* ``death``: the person dies (any cause, any place; the CDM death table).

A person who leaves the region during the horizon without the event has no known
outcome and is left out (their follow-up is incomplete); one who dies without being
admitted counts as not admitted (death is a competing event, not a censoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from bmb.analytics.cdmsql import unplanned_admission_sql
from bmb.analytics.population import PopulationSpec
from bmb.analytics.risk.features import FeatureSpec, FeatureTable, build_features
from bmb.domain.chronic import RuleSet
from bmb.domain.errors import UsageError
from bmb.engines.capabilities import materialize

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


class Outcome(StrEnum):
    """What a risk model predicts."""

    ADMISSION = "admission"
    DEATH = "death"

    @property
    def label(self) -> str:
        return {
            Outcome.ADMISSION: "unplanned hospital admission within 12 months",
            Outcome.DEATH: "death within 12 months",
        }[self]


@dataclass(frozen=True, slots=True)
class Dataset:
    """A model matrix with its outcome and the persons it describes."""

    person_id: NDArray[np.int64]
    anchor_date: date
    x: NDArray[np.float32]
    y: NDArray[np.int8]
    columns: tuple[str, ...]
    excluded: int  # persons left out for incomplete follow-up

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def events(self) -> int:
        return int(self.y.sum())


def outcome_sql(anchors: str, outcome: Outcome, horizon_days: int) -> str:
    """``person_id, anchor_date, event, followed`` for each anchor."""
    end = f"a.anchor_date + {int(horizon_days)}"
    death = (
        f"EXISTS (SELECT 1 FROM death d WHERE d.person_id = a.person_id "
        f"AND d.death_date > a.anchor_date AND d.death_date <= {end})"
    )
    if outcome is Outcome.DEATH:
        event = death
    else:
        event = (
            f"EXISTS (SELECT 1 FROM ({unplanned_admission_sql()}) v "
            f"WHERE v.person_id = a.person_id AND v.visit_start_date > a.anchor_date "
            f"AND v.visit_start_date <= {end})"
        )
    followed = (
        f"EXISTS (SELECT 1 FROM observation_period op WHERE op.person_id = a.person_id "
        f"AND op.observation_period_start_date <= a.anchor_date "
        f"AND op.observation_period_end_date >= {end})"
    )
    return (
        f"SELECT a.person_id, a.anchor_date, {event} AS event, "
        f"({event}) OR ({death}) OR ({followed}) AS followed FROM ({anchors}) a"
    )


def last_data_date(engine: Engine) -> date:
    row = engine.query(
        "SELECT max(observation_period_end_date) AS d FROM observation_period"
    ).to_pylist()[0]
    if row["d"] is None:
        raise UsageError("the lake has no observation periods", hint="ingest the registry first")
    value = row["d"]
    assert isinstance(value, date)
    return value


def labelled(
    engine: Engine,
    year: int,
    outcome: Outcome,
    spec: FeatureSpec,
    *,
    rules: RuleSet | None = None,
    region: str = "liguria",
    horizon_days: int = 365,
    prefix: str = "bmb_risk",
) -> Dataset:
    """Features on 31 December of ``year`` and the outcome over the next ``horizon_days``."""
    anchor = date(year, 12, 31)
    last = last_data_date(engine)
    if anchor + timedelta(days=horizon_days) > last:
        raise UsageError(
            f"the outcome window after {anchor} ends after the lake's data ({last})",
            hint=f"use a year up to {(last - timedelta(days=horizon_days)).year}",
        )
    table = build_features(
        engine,
        PopulationSpec.years([year], region=region),
        spec,
        rules=rules,
        prefix=f"{prefix}_{year}",
    )
    return _matrix(engine, table, outcome, horizon_days, anchor)


def _matrix(
    engine: Engine, table: FeatureTable, outcome: Outcome, horizon: int, anchor: date
) -> Dataset:
    out = f"{table.table}_{outcome.value}"
    materialize(
        engine,
        out,
        outcome_sql(f"SELECT person_id, anchor_date FROM {table.table}", outcome, horizon),
    )
    columns = table.spec.columns
    cols = ", ".join(f"CAST(f.{c} AS FLOAT) AS {c}" for c in columns)
    data = engine.query(
        f"SELECT f.person_id, o.event, {cols} FROM {table.table} f "
        f"JOIN {out} o ON o.person_id = f.person_id AND o.anchor_date = f.anchor_date "
        "WHERE o.followed ORDER BY f.person_id"
    )
    excluded = int(
        engine.query(f"SELECT count(*) FROM {out} WHERE NOT followed").column(0)[0].as_py()
    )
    engine.execute(f"DROP TABLE IF EXISTS {out}")
    table.drop(engine)  # the matrix is in Python now: free the engine's copies
    person_id = np.asarray(data.column("person_id").to_numpy(), dtype=np.int64)
    y = np.asarray(data.column("event").to_numpy(zero_copy_only=False), dtype=np.int8)
    x = matrix(data, columns)
    del data
    return Dataset(
        person_id=person_id, anchor_date=anchor, x=x, y=y, columns=columns, excluded=excluded
    )


def matrix(data: pa.Table, columns: tuple[str, ...]) -> NDArray[np.float32]:
    """Columns of an Arrow table as a float32 matrix, NULL as NaN (LightGBM's missing)."""
    out = np.empty((data.num_rows, len(columns)), dtype=np.float32)
    for j, c in enumerate(columns):
        col = data.column(c)
        if col.type == "bool":
            col = col.cast("float32")
        out[:, j] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float32)
    return out
