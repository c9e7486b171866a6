"""Charlson and Elixhauser comorbidity per person over a look-back window, in SQL.

An index is computed at an *anchor*: a person and a date (31 December for planning,
the admission date for an outcome indicator). Every diagnosis the person received in
the chosen settings (hospital stays by default; emergency visits on request) during the
``lookback_days`` before the anchor counts, principal or secondary. Diagnosis codes
meet the code lists (:mod:`bmb.domain.comorbidity`) through their source concepts, so
ICD-9-CM (Italian SDO today) and ICD-10 (ICD-10-IM tomorrow) both score.

Output, one row per anchor: a boolean column per category (``cc_chf``, ``ex_wloss``),
the Charlson score with the 1987 weights (``cci``) and with Quan's 2011 weights
(``cci_quan2011``), the age points and the age-adjusted score, the Elixhauser count
and the van Walraven score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bmb._version import __version__
from bmb.analytics.cdmsql import (
    EMERGENCY,
    INPATIENT,
    OUTPATIENT,
    diagnosis_concepts_sql,
    session_table,
    values_sql,
)
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.population import PopulationSpec, build_population, require_duckdb
from bmb.domain.comorbidity import Coding, Index, charlson, elixhauser
from bmb.domain.errors import UsageError
from bmb.domain.provenance import Provenance
from bmb.engines.base import Engine
from bmb.engines.capabilities import materialize, snapshot_of

if TYPE_CHECKING:
    import pyarrow as pa

#: Settings whose diagnoses may count, by the name users give.
SETTINGS = {"inpatient": INPATIENT, "emergency": EMERGENCY, "outpatient": OUTPATIENT}


@dataclass(frozen=True, slots=True)
class ComorbiditySpec:
    """Which diagnoses count: look-back window, settings, and whether the anchor day does."""

    lookback_days: int = 365
    settings: tuple[str, ...] = ("inpatient",)
    include_anchor_day: bool = True

    def __post_init__(self) -> None:
        bad = [s for s in self.settings if s not in SETTINGS]
        if bad or not self.settings:
            raise UsageError(f"unknown settings {bad}", hint=f"choose from {', '.join(SETTINGS)}")
        if self.lookback_days < 0:
            raise UsageError("lookback_days cannot be negative")


@dataclass(frozen=True, slots=True)
class ComorbidityResult:
    """Scores held in the engine (``table``) and how they were computed."""

    table: str
    spec: ComorbiditySpec
    provenance: Provenance
    seconds: float

    def rows(self, engine: Engine) -> pa.Table:
        return engine.query(f"SELECT * FROM {self.table} ORDER BY year, person_id")


def _prefix_rows(index: Index, tag: str) -> list[tuple[object, ...]]:
    return [
        (f"{tag}_{cat.code}", coding.value, p)
        for cat in index.categories
        for coding in Coding
        for p in cat.prefixes(coding)
    ]


def _score_sql(index: Index, tag: str, scheme: str) -> str:
    """Weighted score from the ``<tag>_<category>`` flags, severe forms superseding."""
    superseded_by = {c.supersedes: c.code for c in index.categories if c.supersedes}
    terms = []
    for cat in index.categories:
        w = cat.weights[scheme]
        if w == 0:
            continue
        cond = f"{tag}_{cat.code}"
        if cat.code in superseded_by:
            cond += f" AND NOT {tag}_{superseded_by[cat.code]}"
        terms.append(f"CASE WHEN {cond} THEN {w} ELSE 0 END")
    return " + ".join(terms) or "0"


def comorbidity_sql(
    anchors: str,
    spec: ComorbiditySpec,
    *,
    carry: tuple[str, ...] = (),
    engine: Engine | None = None,
) -> str:
    """Scores for each row of ``anchors``: columns person_id, anchor_date, age, ``carry``.

    Anchors must be unique on (person_id, anchor_date). With ``engine``, the code-list
    map is computed once per session.
    """
    cci, elix = charlson(), elixhauser()
    prefixes = _prefix_rows(cci, "cc") + _prefix_rows(elix, "ex")
    concepts = diagnosis_concepts_sql(values_sql(("key", "system", "prefix"), prefixes))
    if engine is not None:
        concepts = f"SELECT * FROM {session_table(engine, concepts)}"
    visits = ", ".join(str(SETTINGS[s]) for s in spec.settings)
    upper = "<=" if spec.include_anchor_day else "<"
    flags = [f"{t}_{c.code}" for t, idx in (("cc", cci), ("ex", elix)) for c in idx.categories]
    pivot = ", ".join(f"coalesce(bool_or(h.key = '{f}'), false) AS {f}" for f in flags)
    keep = "".join(f", a.{c}" for c in carry)
    age_points = "least(4, greatest(0, (age - 40) // 10))"
    elix_count = " + ".join(f"CAST(ex_{c.code} AS INTEGER)" for c in elix.categories)
    cci_1987 = _score_sql(cci, "cc", "charlson")
    return f"""
        WITH m AS ({concepts}),
        dx AS (
            SELECT co.person_id, co.condition_start_date AS d, m.key
            FROM condition_occurrence co
            JOIN m ON m.concept_id = co.condition_source_concept_id
            JOIN visit_occurrence v ON v.visit_occurrence_id = co.visit_occurrence_id
            WHERE v.visit_concept_id IN ({visits})
              AND co.person_id IN (SELECT person_id FROM ({anchors}) q)
        ),
        h AS (
            SELECT DISTINCT a.person_id, a.anchor_date, dx.key
            FROM ({anchors}) a JOIN dx ON dx.person_id = a.person_id
            WHERE dx.d {upper} a.anchor_date
              AND dx.d > a.anchor_date - {int(spec.lookback_days)}
        ),
        flags AS (
            SELECT a.person_id, a.anchor_date, a.age{keep}, {pivot}
            FROM ({anchors}) a
            LEFT JOIN h ON h.person_id = a.person_id AND h.anchor_date = a.anchor_date
            GROUP BY ALL
        )
        SELECT *,
               {cci_1987} AS cci,
               {_score_sql(cci, "cc", "quan2011")} AS cci_quan2011,
               {age_points} AS cci_age_points,
               {cci_1987} + {age_points} AS cci_age_adjusted,
               {elix_count} AS elix_count,
               {_score_sql(elix, "ex", "vw")} AS elix_vw
        FROM flags
    """


def build_comorbidity(
    engine: Engine,
    spec: PopulationSpec,
    comorbidity: ComorbiditySpec | None = None,
    *,
    population: str | None = None,
    table: str = "bmb_comorbidity",
) -> ComorbidityResult:
    """Charlson and Elixhauser for every resident on each reference date of ``spec``."""
    require_duckdb(engine, "comorbidity indices")
    how = comorbidity or ComorbiditySpec()
    t0 = time.perf_counter()
    pop = population or build_population(engine, spec, table=f"{table}_population")
    anchors = f"SELECT person_id, ref_date AS anchor_date, age, year FROM {pop}"
    materialize(engine, table, comorbidity_sql(anchors, how, carry=("year",), engine=engine))
    provenance = Provenance.now(
        snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
    )
    return ComorbidityResult(table, how, provenance, time.perf_counter() - t0)


__all__ = [
    "SETTINGS",
    "ComorbidityResult",
    "ComorbiditySpec",
    "build_comorbidity",
    "comorbidity_sql",
]
