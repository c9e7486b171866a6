"""The resident population on each reference date, with age, sex and health district.

Every planning number (prevalence, the stratification pyramid, risk, indicators by
area) counts the same people: residents alive and covered by the regional health
service (in an observation period) on the reference date, 31 December of each year by
default. Building that base once, in the engine, with the person's age on the day and
their reporting unit (district) from the region configuration, keeps every module's
denominator identical.

Everything runs in the engine's SQL (DuckDB): the person-year base of a 1.5 million
resident region is a few million rows, built in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from bmb._version import __version__
from bmb.domain.errors import UsageError
from bmb.domain.provenance import Provenance
from bmb.domain.regions import Region, load_region
from bmb.engines.base import Engine
from bmb.engines.capabilities import load_arrow, materialize, snapshot_of

#: Age bands used for planning tables (the synthetic region's health model uses them too).
PLANNING_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 14),
    (15, 44),
    (45, 64),
    (65, 74),
    (75, 84),
    (85, None),
)

UNITS_TABLE = "bmb_units"


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    """Whose rows the base holds: which reference dates, which region, which persons."""

    reference_dates: tuple[date, ...]
    region: str = "liguria"
    persons: tuple[int, ...] | None = None  # None: everyone

    def __post_init__(self) -> None:
        years = [d.year for d in self.reference_dates]
        if not years:
            raise UsageError("no reference dates")
        if len(set(years)) != len(years):
            raise UsageError(
                "one reference date per year", hint="results are keyed by person and year"
            )

    @classmethod
    def years(
        cls, years: Sequence[int], *, region: str = "liguria", persons: Sequence[int] | None = None
    ) -> PopulationSpec:
        """Reference dates on 31 December of each year."""
        if not years:
            raise UsageError("no years given")
        return cls(
            tuple(date(int(y), 12, 31) for y in sorted(set(years))),
            region,
            None if persons is None else tuple(int(p) for p in persons),
        )


def parse_years(text: str) -> list[int]:
    """``2023-2025`` or ``2024`` or ``2023,2025`` into years."""
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise UsageError(f"years {text!r}: write 2024, 2023-2025 or 2023,2025") from None
    if not out or any(y < 1900 or y > 2200 for y in out):
        raise UsageError(f"years {text!r}: write 2024, 2023-2025 or 2023,2025")
    return sorted(set(out))


def age_band_sql(age: str, bands: Sequence[tuple[int, int | None]] = PLANNING_BANDS) -> str:
    """A CASE expression labelling ``age`` with its band (``65-74``, ``85+``)."""
    whens = []
    for lo, hi in bands:
        if hi is None:
            whens.append(f"WHEN {age} >= {lo} THEN '{lo}+'")
        else:
            whens.append(f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{lo}-{hi}'")
    return f"CASE {' '.join(whens)} END"


def units_table(region: Region) -> pa.Table:
    """One row per comune: its location_id and reporting unit (district or group) and ASL."""
    units = region.reporting_units()
    asl_names = {a.code: a.name for a in region.asls}
    comuni = sorted(region.comuni, key=lambda c: c.istat)
    return pa.table(
        {
            "location_id": pa.array([c.location_id for c in comuni], pa.int64()),
            "comune": [c.name for c in comuni],
            "unit_code": [units[c.istat].code for c in comuni],
            "unit_name": [units[c.istat].name for c in comuni],
            "asl_code": [units[c.istat].asl for c in comuni],
            "asl_name": [asl_names.get(units[c.istat].asl, "") for c in comuni],
        }
    )


def provenance(engine: Engine) -> Provenance:
    """Where a result computed now on ``engine`` comes from (invariant 7)."""
    label = str(getattr(engine, "label", None) or engine.dialect)
    return Provenance.now(snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=label)


def require_duckdb(engine: Engine, what: str) -> None:
    """Planning analytics are written in DuckDB SQL: say so plainly on another engine."""
    if engine.dialect != "duckdb":
        raise UsageError(
            f"{what} runs on the lake's DuckDB engine, not on {engine.dialect}",
            hint="open the lake with bmb.open_lake(...)",
        )


#: CDM tables holding a person's rows (what :func:`person_slice` narrows).
PERSON_TABLES = (
    "person",
    "observation_period",
    "death",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
)


@contextmanager
def person_slice(engine: Engine, persons: Sequence[int]) -> Iterator[None]:
    """Within the block, the CDM's person tables hold only ``persons``' rows.

    Each table is read once with the person filter into a temporary table that shadows
    the lake's view of the same name (DuckDB resolves temporary objects first), so the
    many queries of a feature build touch a few rows instead of scanning the region.
    This is what makes scoring one person on demand fast.
    """
    require_duckdb(engine, "a person slice")
    ids = ", ".join(str(int(p)) for p in persons) or "NULL"
    made = []
    try:
        for t in PERSON_TABLES:
            engine.execute(
                f"CREATE OR REPLACE TEMPORARY TABLE {t} AS "
                f"SELECT * FROM main.{t} WHERE person_id IN ({ids})"
            )
            made.append(t)
        yield
    finally:
        for t in made:
            engine.execute(f"DROP TABLE IF EXISTS temp.{t}")


def build_population(engine: Engine, spec: PopulationSpec, *, table: str = "bmb_population") -> str:
    """Materialize the person-year base as ``table`` and return its name.

    Columns: person_id, year, ref_date, birth_date, age, age_band, sex ('F'/'M'/NULL),
    location_id, unit_code, unit_name, asl_code. A person is in the base on a reference
    date when an observation period covers it and no death precedes it.
    """
    require_duckdb(engine, "the population base")
    load_arrow(engine, UNITS_TABLE, units_table(load_region(spec.region)))
    refs = ", ".join(f"(DATE '{d.isoformat()}')" for d in spec.reference_dates)
    person_filter = ""
    if spec.persons is not None:
        ids = ", ".join(str(int(p)) for p in spec.persons) or "NULL"
        person_filter = f"AND p.person_id IN ({ids})"
    birth = (
        "coalesce(CAST(p.birth_datetime AS DATE), make_date(CAST(p.year_of_birth AS INTEGER), "
        "CAST(coalesce(p.month_of_birth, 7) AS INTEGER), CAST(coalesce(p.day_of_birth, 1) "
        "AS INTEGER)))"
    )
    sql = f"""
        WITH refs(ref_date) AS (VALUES {refs}),
        covered AS (
            SELECT DISTINCT op.person_id, r.ref_date
            FROM observation_period op JOIN refs r
              ON op.observation_period_start_date <= r.ref_date
             AND op.observation_period_end_date >= r.ref_date
        ),
        dead AS (SELECT person_id, min(death_date) AS death_date FROM death GROUP BY 1),
        base AS (
        SELECT p.person_id, CAST(year(c.ref_date) AS INTEGER) AS year, c.ref_date,
               {birth} AS birth_date,
               CAST(date_sub('year', {birth}, c.ref_date) AS INTEGER) AS age,
               CASE p.gender_concept_id WHEN 8532 THEN 'F' WHEN 8507 THEN 'M' END AS sex,
               p.location_id, coalesce(u.unit_code, '?') AS unit_code,
               coalesce(u.unit_name, 'outside the region') AS unit_name,
               coalesce(u.asl_code, '?') AS asl_code
        FROM covered c
        JOIN person p ON p.person_id = c.person_id
        LEFT JOIN dead d ON d.person_id = c.person_id
        LEFT JOIN {UNITS_TABLE} u ON u.location_id = p.location_id
        WHERE (d.death_date IS NULL OR d.death_date > c.ref_date) {person_filter}
        )
        SELECT *, {age_band_sql("age")} AS age_band FROM base
    """
    materialize(engine, table, sql)
    return table


__all__ = [
    "PERSON_TABLES",
    "PLANNING_BANDS",
    "UNITS_TABLE",
    "PopulationSpec",
    "age_band_sql",
    "build_population",
    "parse_years",
    "person_slice",
    "provenance",
    "require_duckdb",
    "units_table",
]
