"""Features for risk models, built from the CDM for any set of persons and dates.

One SQL builder serves training (every resident on 31 December), scoring the region,
and scoring one person on demand (a one-row anchor), so a model always sees features
computed the same way. Features describe the 12 months before the anchor date:

* age, sex;
* chronic conditions from the registry (one flag each) and their count;
* Charlson (1987 weights) and Elixhauser (van Walraven) scores over hospital stays;
* care used: stays (unplanned, planned, day hospital), bed-days, days since the last
  admission, emergency visits (urgent triage), outpatient visits, dispensings,
  distinct drug substances, lab tests, standard cost;
* dispensings per ATC therapeutic subgroup (2nd level: C03 diuretics, N06 ...);
* the last value of each lab test (LOINC), missing when not measured.

Which drug classes and lab tests exist is learnt once, at training
(:func:`discover`), and kept with the model (:class:`FeatureSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bmb.analytics.comorbidity import ComorbiditySpec, comorbidity_sql
from bmb.analytics.population import PopulationSpec, build_population
from bmb.analytics.registry import build_registry
from bmb.analytics.utilization import (
    COLUMNS as UTILIZATION,
)
from bmb.analytics.utilization import (
    DRUG_ATC_TABLE,
    load_reference_tables,
    utilization_sql,
)
from bmb.domain.chronic import RuleSet, default_rules
from bmb.domain.stratification import default_pyramid
from bmb.engines.capabilities import materialize

if TYPE_CHECKING:
    from bmb.engines.base import Engine

#: Numeric columns every model gets, besides conditions, drug classes and labs.
BASE = ("age", "female", "n_conditions", "cci", "elix_vw", *UTILIZATION)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The features a model was trained on, so scoring rebuilds exactly them."""

    conditions: tuple[str, ...]
    atc_classes: tuple[str, ...]  # ATC 2nd-level codes (3 characters)
    loinc: tuple[str, ...]
    rules_name: str = ""
    rules_version: str = ""
    base: tuple[str, ...] = field(default=BASE)

    @property
    def columns(self) -> tuple[str, ...]:
        """The model matrix's columns, in order."""
        return (
            *self.base,
            *(f"cond_{c}" for c in self.conditions),
            *(f"rx_{a.lower()}" for a in self.atc_classes),
            *(f"lab_{_ident(code)}" for code in self.loinc),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "conditions": list(self.conditions),
            "atc_classes": list(self.atc_classes),
            "loinc": list(self.loinc),
            "rules_name": self.rules_name,
            "rules_version": self.rules_version,
            "base": list(self.base),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureSpec:
        def strs(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            assert isinstance(value, list)
            return tuple(str(v) for v in value)

        return cls(
            conditions=strs("conditions"),
            atc_classes=strs("atc_classes"),
            loinc=strs("loinc"),
            rules_name=str(data.get("rules_name", "")),
            rules_version=str(data.get("rules_version", "")),
            base=strs("base") or BASE,
        )


def _ident(code: str) -> str:
    return code.replace("-", "_").replace(".", "_").lower()


def discover(engine: Engine, rules: RuleSet | None = None) -> FeatureSpec:
    """The drug classes and lab tests this lake holds (called once, at training)."""
    rules = rules or default_rules()
    load_reference_tables(engine)
    atc = (
        engine.query(
            f"""
        SELECT DISTINCT x.atc FROM {DRUG_ATC_TABLE} x
        WHERE x.atc_length = 3
          AND x.drug_concept_id IN (SELECT DISTINCT drug_concept_id FROM drug_exposure)
        ORDER BY 1
        """
        )
        .column(0)
        .to_pylist()
    )
    loinc = (
        engine.query(
            """
        SELECT c.concept_code FROM measurement m
        JOIN concept c ON c.concept_id = m.measurement_concept_id AND c.vocabulary_id = 'LOINC'
        WHERE m.value_as_number IS NOT NULL GROUP BY 1 ORDER BY 1
        """
        )
        .column(0)
        .to_pylist()
    )
    return FeatureSpec(
        conditions=rules.names,
        atc_classes=tuple(str(a) for a in atc),
        loinc=tuple(str(code) for code in loinc),
        rules_name=rules.name,
        rules_version=rules.version,
    )


#: The comorbidity window the features use (reused tables must match it).
COMORBIDITY = ComorbiditySpec(365)


@dataclass(frozen=True, slots=True)
class Reuse:
    """Tables another step already built for the same residents and reference dates.

    The planning pipeline builds the registry, the comorbidity scores and the care used
    for the pyramid; scoring the same residents on the same date reuses them instead of
    computing them again. ``comorbidity`` must come from the default
    :class:`ComorbiditySpec` (365 days, hospital stays), as the features do.
    """

    population: str
    registry: str
    comorbidity: str | None = None  # person_id, anchor_date, cci, elix_vw, ...
    utilization: str | None = None  # person_id, anchor_date, and utilization.COLUMNS


def rx_sql(anchors: str, spec: FeatureSpec) -> str:
    """Dispensings per ATC therapeutic subgroup in the 12 months before each anchor."""
    rx = ", ".join(
        f"count(*) FILTER (WHERE x.atc = '{a}') AS rx_{a.lower()}" for a in spec.atc_classes
    )
    return f"""
        SELECT a.person_id, a.anchor_date {"," if rx else ""} {rx}
        FROM ({anchors}) a JOIN drug_exposure de ON de.person_id = a.person_id
        JOIN {DRUG_ATC_TABLE} x ON x.drug_concept_id = de.drug_concept_id AND x.atc_length = 3
        WHERE de.drug_exposure_start_date <= a.anchor_date
          AND de.drug_exposure_start_date > a.anchor_date - INTERVAL 1 YEAR
        GROUP BY ALL
    """


def labs_sql(anchors: str, spec: FeatureSpec) -> str:
    """The last value of each lab test in the 12 months before each anchor."""
    labs = ", ".join(
        f"arg_max(m.value_as_number, m.measurement_date) FILTER (WHERE c.concept_code = "
        f"'{code}') AS lab_{_ident(code)}"
        for code in spec.loinc
    )
    codes = ", ".join(f"'{code}'" for code in spec.loinc) or "NULL"
    return f"""
        SELECT a.person_id, a.anchor_date {"," if labs else ""} {labs}
        FROM ({anchors}) a JOIN measurement m ON m.person_id = a.person_id
        JOIN concept c ON c.concept_id = m.measurement_concept_id
             AND c.vocabulary_id = 'LOINC' AND c.concept_code IN ({codes})
        WHERE m.value_as_number IS NOT NULL AND m.measurement_date <= a.anchor_date
          AND m.measurement_date > a.anchor_date - INTERVAL 1 YEAR
        GROUP BY ALL
    """


def join_sql(
    anchors: str,
    registry: str,
    comorbidity: str,
    utilization: str,
    rx: str,
    labs: str,
    spec: FeatureSpec,
) -> str:
    """The feature table: every piece joined onto the anchors, in :attr:`spec.columns`."""
    cond = ", ".join(
        f"coalesce(bool_or(r.condition = '{c}'), false) AS cond_{c}" for c in spec.conditions
    )
    rx_cols = ", ".join(
        f"coalesce(rxc.rx_{a.lower()}, 0) AS rx_{a.lower()}" for a in spec.atc_classes
    )
    lab_cols = ", ".join(f"lb.lab_{_ident(code)}" for code in spec.loinc)
    cond_cols = ", ".join(f"coalesce(cd.cond_{c}, false) AS cond_{c}" for c in spec.conditions)
    util_cols = ", ".join(f"u.{c}" for c in UTILIZATION)
    return f"""
        WITH a AS ({anchors}),
        cd AS (
            SELECT a.person_id, a.anchor_date, count(r.condition) AS n_conditions, {cond}
            FROM a LEFT JOIN {registry} r ON r.person_id = a.person_id AND r.year = a.year
            GROUP BY ALL
        )
        SELECT a.person_id, a.anchor_date, a.year, CAST(a.age AS DOUBLE) AS age,
               CASE a.sex WHEN 'F' THEN 1.0 WHEN 'M' THEN 0.0 END AS female,
               CAST(coalesce(cd.n_conditions, 0) AS DOUBLE) AS n_conditions,
               CAST(cm.cci AS DOUBLE) AS cci, CAST(cm.elix_vw AS DOUBLE) AS elix_vw,
               {util_cols}
               {"," if cond_cols else ""} {cond_cols}
               {"," if rx_cols else ""} {rx_cols}
               {"," if lab_cols else ""} {lab_cols}
        FROM a
        LEFT JOIN cd ON cd.person_id = a.person_id AND cd.anchor_date = a.anchor_date
        LEFT JOIN {rx} rxc ON rxc.person_id = a.person_id AND rxc.anchor_date = a.anchor_date
        LEFT JOIN {labs} lb ON lb.person_id = a.person_id AND lb.anchor_date = a.anchor_date
        JOIN {comorbidity} cm ON cm.person_id = a.person_id AND cm.anchor_date = a.anchor_date
        JOIN {utilization} u ON u.person_id = a.person_id AND u.anchor_date = a.anchor_date
    """


@dataclass(frozen=True, slots=True)
class FeatureTable:
    """Features held in the engine: the table, its population base and the spec."""

    table: str
    population: str
    spec: FeatureSpec
    owned: tuple[str, ...] = ()  # tables built for these features alone

    def drop(self, engine: Engine) -> None:
        """Free the features and the tables built for them (not reused ones)."""
        for name in (self.table, *self.owned):
            engine.execute(f"DROP TABLE IF EXISTS {name}")


def build_features(
    engine: Engine,
    population: PopulationSpec,
    spec: FeatureSpec,
    *,
    rules: RuleSet | None = None,
    prefix: str = "bmb_features",
    reuse: Reuse | None = None,
) -> FeatureTable:
    """Materialize the features of every person-date of ``population`` as ``prefix``.

    Each piece is its own table (registry, comorbidity, care used, drugs, labs), joined
    at the end: a region's features never sit in one giant query, which keeps memory
    bounded. ``reuse`` skips the pieces another step already built.
    """
    rules = rules or default_rules()
    owned: tuple[str, ...] = ()
    if reuse is not None:
        pop, reg = reuse.population, reuse.registry
    else:
        pop = build_population(engine, population, table=f"{prefix}_population")
        built = build_registry(
            engine, population, rules, population=pop, prefix=f"{prefix}_registry"
        )
        reg = built.table
        owned = (pop, reg, built.criteria_table, f"{built.table}_criteria_def")
    load_reference_tables(engine)
    anchors = f"SELECT person_id, ref_date AS anchor_date, year, age, sex FROM {pop}"
    made: list[str] = []

    def piece(name: str, sql: str) -> str:
        materialize(engine, name, sql)
        made.append(name)
        return name

    cm = (reuse.comorbidity if reuse else None) or piece(
        f"{prefix}_cm",
        comorbidity_sql(
            f"SELECT person_id, ref_date AS anchor_date, age FROM {pop}",
            COMORBIDITY,
            engine=engine,
        ),
    )
    u = (reuse.utilization if reuse else None) or piece(
        f"{prefix}_use",
        utilization_sql(
            f"SELECT person_id, ref_date AS anchor_date FROM {pop}", default_pyramid().costs
        ),
    )
    rx = piece(f"{prefix}_rx", rx_sql(anchors, spec))
    labs = piece(f"{prefix}_labs", labs_sql(anchors, spec))
    materialize(engine, prefix, join_sql(anchors, reg, cm, u, rx, labs, spec))
    for name in made:
        engine.execute(f"DROP TABLE IF EXISTS {name}")
    return FeatureTable(prefix, pop, spec, owned)
