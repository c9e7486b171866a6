"""Person-level extracts: generalized until k-anonymous and l-diverse, risk measured.

The researcher's query chooses the rows and columns; the engine then finds the
quasi-identifiers (by column: ages and years of birth, sex, comune, every date; or as
declared), generalizes them through their hierarchies (age bands, district, province,
month, quarter, year) until every class of persons reaches the permit's k (and l on the
declared sensitive columns), suppresses the few persons left over, and measures the
prosecutor, journalist and marketer risks. The journalist risk is measured against the
region's whole resident population in the lake, on the quasi-identifiers the person
table has.

Under an anonymized permit the extract keeps no id at all; under a pseudonymized one it
keeps the project pseudonyms (which link only within the project).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bmb.domain.disclosure.anonymity import ExtractRows, anonymize, generalize_row
from bmb.domain.disclosure.differencing import PopulationSketch
from bmb.domain.disclosure.hierarchies import Hierarchy, QiKind
from bmb.domain.disclosure.report import Finding, OutputKind, OutputReport, Severity
from bmb.domain.errors import UsageError
from bmb.domain.governance.permits import DataForm
from bmb.engines.session import PermitSession
from bmb.engines.session_outputs import SessionOutput, _columns, _id_columns, _stage

if TYPE_CHECKING:
    pass

#: Column names that are quasi-identifiers whatever their type, and their kind.
KNOWN_QI: Mapping[str, QiKind] = {
    "year_of_birth": QiKind.NUMBER,
    "age": QiKind.NUMBER,
    "age_at_index": QiKind.NUMBER,
    "gender_concept_id": QiKind.SEX,
    "gender_source_value": QiKind.SEX,
    "sex": QiKind.SEX,
    "location_id": QiKind.PLACE,
    "comune": QiKind.PLACE,
    "month_of_birth": QiKind.CATEGORY,
    "day_of_birth": QiKind.CATEGORY,
    "birth_datetime": QiKind.DATE,
}
#: Quasi-identifier columns the person table has, for the journalist risk.
PERSON_COLUMNS = frozenset(
    {"year_of_birth", "gender_concept_id", "gender_source_value", "location_id"}
)
#: Optional derived table of the lake with the place levels between comune and province.
PLACE_TABLE = "place_hierarchy"


def detect_quasi_identifiers(types: Mapping[str, str]) -> dict[str, QiKind]:
    """Quasi-identifiers of a result, from column names and date types."""
    out: dict[str, QiKind] = {}
    for name, dtype in types.items():
        if name in KNOWN_QI:
            out[name] = KNOWN_QI[name]
        elif dtype.upper().startswith(("DATE", "TIMESTAMP")):
            out[name] = QiKind.DATE
    return out


def extract(
    session: PermitSession,
    sql: str,
    *,
    quasi_identifiers: Mapping[str, QiKind] | None = None,
    sensitive: Sequence[str] = (),
) -> SessionOutput:
    """A person-level extract that meets the permit's k and l, with its risk report."""
    import pyarrow as pa

    policy = session.permit.policy
    src, checked = _stage(session, sql, "extract")
    types = _columns(session, src)
    if "person_id" not in types:
        raise UsageError("an extract needs a person_id column: it says whose row each row is")
    qis = dict(quasi_identifiers) if quasi_identifiers is not None else {}
    if quasi_identifiers is None:
        qis = detect_quasi_identifiers(types)
    qis.pop("person_id", None)
    for name in [*qis, *sensitive]:
        if name not in types:
            raise UsageError(f"column {name} is not in the extract")
    overlap = set(qis) & set(sensitive)
    if overlap:
        raise UsageError(
            f"{', '.join(sorted(overlap))} cannot be both quasi-identifier and sensitive"
        )
    hierarchies = [_hierarchy(session, name, kind) for name, kind in qis.items()]
    table = session.internal(f"SELECT * FROM {src}").to_arrow_table()
    persons = table.column("person_id").to_pylist()
    qi_rows = (
        list(zip(*(table.column(n).to_pylist() for n in qis), strict=True))
        if qis
        else [() for _ in persons]
    )
    sens_rows = (
        list(zip(*(table.column(n).to_pylist() for n in sensitive), strict=True))
        if sensitive
        else [() for _ in persons]
    )
    population = _population(session, hierarchies)
    result = anonymize(
        ExtractRows(persons, qi_rows, sens_rows), hierarchies, policy, population=population
    )
    keep = [p not in result.suppressed for p in persons]
    out_cols: dict[str, list[Any]] = {}
    drop_ids = session.permit.form is DataForm.ANONYMIZED
    ids = _id_columns(session)
    generalized = [generalize_row(q, result.node, hierarchies) for q in qi_rows]
    for name in table.column_names:
        if drop_ids and name in ids:
            continue
        if name in qis:
            i = list(qis).index(name)
            out_cols[name] = [_text(g[i]) for g, k in zip(generalized, keep, strict=True) if k]
        else:
            values = table.column(name).to_pylist()
            out_cols[name] = [v for v, k in zip(values, keep, strict=True) if k]
    fields = [pa.field(n, pa.string()) if n in qis else table.schema.field(n) for n in out_cols]
    safe = pa.table(out_cols, schema=pa.schema(fields))
    findings = [
        Finding(
            "k_anonymity",
            Severity.INFO,
            f"generalized to {', '.join(f'{c}: {lv}' for c, lv in result.levels.items())}; "
            f"smallest class {result.k}, {len(result.suppressed)} person(s) suppressed",
        )
    ]
    if not result.satisfied:
        findings.append(
            Finding(
                "k_anonymity",
                Severity.BLOCKING,
                f"no generalization reaches k={policy.k}"
                + (f", l={policy.l_diversity}" if sensitive else "")
                + f" within {policy.max_suppressed_fraction:.0%} suppression",
            )
        )
    if drop_ids:
        findings.append(Finding("form", Severity.INFO, "anonymized permit: ids removed"))
    if population is None and any(h.demographic for h in hierarchies):
        findings.append(
            Finding(
                "journalist_risk",
                Severity.REVIEW,
                "journalist risk not measured: quasi-identifiers not in the person table",
            )
        )
    report = OutputReport(
        OutputKind.EXTRACT,
        policy,
        safe.num_rows,
        tuple(safe.column_names),
        tuple(findings),
        {
            "quasi_identifiers": {n: k.value for n, k in qis.items()},
            "sensitive": list(sensitive),
            "levels": dict(result.levels),
            "k": result.k,
            "l": result.l_div if sensitive else None,
            "suppressed_persons": len(result.suppressed),
            "nodes_evaluated": result.nodes_evaluated,
            "risk": result.risk.to_dict(),
            "snapshot": session.snapshot_label,
        },
    )
    kept = (p for p, k in zip(persons, keep, strict=True) if k and p is not None)
    return SessionOutput(
        OutputKind.EXTRACT, safe, report, checked, sketch=PopulationSketch.of(int(p) for p in kept)
    )


def _text(value: Hashable) -> str | None:
    if value is None:
        return None
    return str(value)


def _hierarchy(session: PermitSession, name: str, kind: QiKind) -> Hierarchy:
    demographic = name in PERSON_COLUMNS
    if kind is QiKind.PLACE:
        return Hierarchy(name, kind, _place_levels(session), demographic=demographic)
    if kind is QiKind.DATE:
        return Hierarchy(name, kind, group="dates")
    return Hierarchy(name, kind, demographic=demographic)


def _place_levels(
    session: PermitSession,
) -> tuple[tuple[str, Mapping[Hashable, Hashable]], ...]:
    """comune -> [levels of derived.place_hierarchy] -> province, from the lake."""
    h = session.hidden_schema
    levels: list[tuple[str, Mapping[Hashable, Hashable]]] = []
    files = session.lake.data_files(f"derived.{PLACE_TABLE}", session.snapshot)
    previous_key: dict[Hashable, Hashable] | None = None
    province: dict[Hashable, Hashable]
    if files:
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        extra = session.internal(
            f"SELECT * FROM read_parquet([{listing}], hive_partitioning = false)"
        ).to_arrow_table()
        level_names = [c for c in extra.column_names if c != "location_id"]
        loc = extra.column("location_id").to_pylist()
        for level in level_names:
            values = extra.column(level).to_pylist()
            mapping: dict[Hashable, Hashable] = {
                lid: (str(v) if v is not None else None) for lid, v in zip(loc, values, strict=True)
            }
            if previous_key is None:
                levels.append((level, mapping))
            else:  # later levels map from the previous level's values
                levels.append(
                    (level, {previous_key[lid]: mapping[lid] for lid in loc if lid in previous_key})
                )
            previous_key = mapping
    rows = session.internal(f"SELECT location_id, state FROM {h}.raw_location").fetchall()
    province = {int(r[0]): r[1] for r in rows if r[0] is not None}
    if previous_key is None:
        levels.append(("province", province))
    else:
        levels.append(
            ("province", {previous_key[lid]: province.get(int(str(lid))) for lid in previous_key})
        )
    return tuple(levels)


def _population(
    session: PermitSession, hierarchies: Sequence[Hierarchy]
) -> dict[tuple[Hashable, ...], int] | None:
    demo = [h for h in hierarchies if h.demographic]
    if not demo or any(h.column not in PERSON_COLUMNS for h in demo):
        return None
    h = session.hidden_schema
    cols = ", ".join(d.column for d in demo)
    rows = session.internal(f"SELECT {cols}, count(*) FROM {h}.raw_person GROUP BY ALL").fetchall()
    return {tuple(r[:-1]): int(r[-1]) for r in rows}
