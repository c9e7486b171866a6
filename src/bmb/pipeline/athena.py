"""``bmb vocab load``: bring an OHDSI vocabulary download (Athena) into the lake.

The lake was born with local concepts (ADR 0005). An Athena download adds the OHDSI
concepts, relationships and hierarchy. Where a code BMB had as a local concept exists in
the download (an ICD-9-CM, ICD-10, LOINC or ATC code), the OHDSI concept replaces it:
every CDM row is re-mapped so that ``*_source_concept_id`` is the OHDSI source concept
and ``*_concept_id`` its standard concept ('Maps to'). Codes OHDSI does not have (AIC
packs, exemptions, the outpatient catalogue, Italian-only ICD-9-CM codes) keep their
local concepts; an AIC pack's standard concept becomes the RxNorm ingredient of its ATC
substance when the download links them. Everything is one lake snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bmb.domain import concepts as std
from bmb.domain.cdm import CDM_TABLES, LOCAL_CONCEPT_BASE
from bmb.domain.errors import UsageError
from bmb.lake.schema import duckdb_type
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import BatchRecord, Lake, TableWrite, new_batch_id
from bmb.lake.views import attach_snapshot
from bmb.pipeline.writer import write_query

if TYPE_CHECKING:
    import duckdb

VOCAB_TABLES = (
    "concept",
    "concept_relationship",
    "concept_ancestor",
    "vocabulary",
    "domain",
    "concept_class",
    "relationship",
    "concept_synonym",
    "drug_strength",
)

#: (table, concept column, source concept column) of every CDM row that carries a code.
REMAPPED = (
    ("condition_occurrence", "condition_concept_id", "condition_source_concept_id"),
    ("procedure_occurrence", "procedure_concept_id", "procedure_source_concept_id"),
    ("drug_exposure", "drug_concept_id", "drug_source_concept_id"),
    ("measurement", "measurement_concept_id", "measurement_source_concept_id"),
    ("observation", "observation_concept_id", "observation_source_concept_id"),
    ("death", "cause_concept_id", "cause_source_concept_id"),
)


@dataclass
class VocabularyReport:
    snapshot: LakeSnapshot
    loaded: dict[str, int] = field(default_factory=dict)  # table -> rows from the download
    replaced_local: int = 0  # local concepts now OHDSI concepts
    remapped: dict[str, int] = field(default_factory=dict)  # CDM table -> rows re-mapped
    missing_standard: list[str] = field(default_factory=list)  # ids BMB uses, not found


def _find(directory: Path, table: str) -> Path | None:
    for p in directory.iterdir():
        name = p.name.lower()
        if name in (f"{table}.csv", f"{table}.csv.gz"):
            return p
    return None


def _read(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    """Read one vocabulary CSV (Athena: tab, unquoted, dates YYYYMMDD; or comma CSV)."""
    decl = CDM_TABLES[table]
    with path.open("rb") if not path.name.endswith(".gz") else _gz(path) as fh:
        header = fh.readline().decode("utf-8", errors="replace")
    tab = "\t" in header
    opts = "delim = '\\t', quote = ''" if tab else "delim = ',', quote = '\"'"
    cols = []
    for f in decl.fields:
        raw = f'"{f.name}"'
        kind = duckdb_type(f)
        if kind == "DATE":
            expr = (
                f"CASE WHEN length({raw}) = 8 THEN strptime({raw}, '%Y%m%d')::DATE "
                f"ELSE TRY_CAST({raw} AS DATE) END"
            )
        else:
            expr = f"TRY_CAST(NULLIF({raw}, '') AS {kind})"
        cols.append(f"{expr} AS {f.name}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE athena_{table} AS SELECT {', '.join(cols)} "
        f"FROM read_csv('{path}', header = true, all_varchar = true, {opts}, "
        "normalize_names = true, ignore_errors = false)"
    )


def _gz(path: Path):  # type: ignore[no-untyped-def]
    import gzip

    return gzip.open(path, "rb")


def load_vocabulary(root: Path, source: Path) -> VocabularyReport:
    """Load an Athena download from ``source`` into the lake at ``root``."""
    import duckdb

    if not source.is_dir():
        raise UsageError(f"{source} is not a folder of vocabulary CSV files")
    found = {t: _find(source, t) for t in VOCAB_TABLES}
    if found["concept"] is None:
        raise UsageError(
            f"no CONCEPT.csv in {source}",
            hint="unzip the Athena download and pass its folder",
        )
    lake = Lake.open(root)
    with lake.writer_lock():
        lake.recover()
        con = duckdb.connect()
        attach_snapshot(con, lake, lake.current())
        record = BatchRecord(new_batch_id(), "vocabulary", datetime.now(UTC))
        report = VocabularyReport(snapshot=lake.current())
        for table, path in found.items():
            if path is not None:
                _read(con, table, path)
                n = con.execute(f"SELECT count(*) FROM athena_{table}").fetchone()
                report.loaded[table] = int(n[0]) if n else 0
        _build(con, report, found)
        writes = _write(con, lake, record, report)
        record.note = f"OHDSI vocabulary from {source.name}"
        record.rows_out = dict(report.loaded)
        report.snapshot = lake.commit(record, writes)
        con.close()
    return report


def _build(
    con: duckdb.DuckDBPyConnection, report: VocabularyReport, found: dict[str, Path | None]
) -> None:
    base = LOCAL_CONCEPT_BASE
    # local concepts OHDSI now has: old local id -> OHDSI source id
    con.execute(
        "CREATE TEMP TABLE _replaced AS SELECT l.concept_id AS old_id, a.concept_id AS new_id "
        "FROM concept l JOIN athena_concept a ON a.vocabulary_id = l.vocabulary_id "
        f"AND a.concept_code = l.concept_code WHERE l.concept_id >= {base}"
    )
    n = con.execute("SELECT count(*) FROM _replaced").fetchone()
    report.replaced_local = int(n[0]) if n else 0
    con.execute(
        "CREATE TEMP TABLE _new_concept AS SELECT * FROM athena_concept UNION ALL BY NAME "
        "SELECT * FROM concept WHERE concept_id NOT IN (SELECT old_id FROM _replaced) "
        "AND concept_id NOT IN (SELECT concept_id FROM athena_concept)"
    )
    for t in ("concept_relationship", "concept_ancestor"):
        a, b = (
            ("concept_id_1", "concept_id_2")
            if t == "concept_relationship"
            else (
                "ancestor_concept_id",
                "descendant_concept_id",
            )
        )
        athena = f"SELECT * FROM athena_{t}" if found[t] else f"SELECT * FROM {t} WHERE false"
        con.execute(
            f"CREATE TEMP TABLE _new_{t} AS {athena} UNION ALL BY NAME SELECT * FROM {t} "
            f"WHERE {a} NOT IN (SELECT old_id FROM _replaced) "
            f"AND {b} NOT IN (SELECT old_id FROM _replaced) "
            f"AND ({a} >= {base} OR {b} >= {base})"
        )
    # standard target of each source concept: 'Maps to', else itself if standard
    con.execute(
        "CREATE TEMP TABLE _maps AS SELECT c.concept_id AS source_id, coalesce(m.target, "
        "CASE WHEN c.standard_concept = 'S' THEN c.concept_id END, 0) AS target FROM "
        "_new_concept c LEFT JOIN (SELECT concept_id_1, min(concept_id_2) AS target FROM "
        "_new_concept_relationship WHERE relationship_id = 'Maps to' AND invalid_reason IS NULL "
        "GROUP BY 1) m ON m.concept_id_1 = c.concept_id"
    )
    # an AIC pack -> its ATC substance -> the RxNorm ingredient the download links to it
    con.execute(
        "CREATE TEMP TABLE _aic_rxnorm AS SELECT aic.concept_id AS aic_id, "
        "min(r.concept_id_2) AS ingredient FROM concept aic "
        "JOIN concept_relationship isa ON isa.concept_id_1 = aic.concept_id "
        "AND isa.relationship_id = 'Is a' "
        "JOIN concept atc ON atc.concept_id = isa.concept_id_2 "
        "JOIN athena_concept a ON a.vocabulary_id = 'ATC' AND a.concept_code = atc.concept_code "
        "JOIN _new_concept_relationship r ON r.concept_id_1 = a.concept_id "
        "AND r.relationship_id IN ('ATC - RxNorm pr lat', 'Maps to') "
        "WHERE aic.vocabulary_id = 'AIC' GROUP BY 1"
    )
    con.execute(
        "CREATE TEMP TABLE _remap AS SELECT r.old_id, r.new_id AS source_id, m.target "
        "FROM _replaced r JOIN _maps m ON m.source_id = r.new_id UNION ALL "
        "SELECT aic_id, aic_id, ingredient FROM _aic_rxnorm"
    )
    for cid, name in std.NAMES.items():
        row = con.execute(
            "SELECT concept_name FROM athena_concept WHERE concept_id = ?", [cid]
        ).fetchone()
        if row is None or str(row[0]).lower() != name.lower():
            report.missing_standard.append(f"{cid} {name}")


def _write(
    con: duckdb.DuckDBPyConnection, lake: Lake, record: BatchRecord, report: VocabularyReport
) -> list[TableWrite]:
    writes: list[TableWrite] = []
    batch = record.batch_id
    for t in VOCAB_TABLES:
        src = {
            "concept": "_new_concept",
            "concept_relationship": "_new_concept_relationship",
            "concept_ancestor": "_new_concept_ancestor",
        }.get(t)
        if src is None:
            exists = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [f"athena_{t}"]
            ).fetchone()
            if not exists or not exists[0]:
                continue
            src = f"athena_{t}"
            if t == "vocabulary":
                src = (
                    "(SELECT * FROM athena_vocabulary UNION ALL BY NAME SELECT * FROM vocabulary "
                    "WHERE vocabulary_id NOT IN (SELECT vocabulary_id FROM athena_vocabulary))"
                )
        cols = {f: f"v.{f}" for f in CDM_TABLES[t].field_names}
        writes.append(
            write_query(con, lake, f"cdm.{t}", batch, cols, f"FROM {src} v", replace_all=True)
        )
    for table, concept_col, source_col in REMAPPED:
        decl = CDM_TABLES[table]
        cols = {f: f"t.{f}" for f in decl.field_names}
        cols[concept_col] = f"coalesce(m.target, t.{concept_col})"
        cols[source_col] = f"coalesce(m.source_id, t.{source_col})"
        if table == "measurement":
            cols["unit_concept_id"] = "coalesce(u.concept_id, t.unit_concept_id)"
        unit_join = (
            " LEFT JOIN (SELECT concept_code, min(concept_id) AS concept_id FROM athena_concept "
            "WHERE vocabulary_id = 'UCUM' AND standard_concept = 'S' GROUP BY 1) u "
            "ON u.concept_code = t.unit_source_value"
            if table == "measurement"
            else ""
        )
        changed = con.execute(
            f"SELECT count(*) FROM {table} t JOIN _remap m ON m.old_id = t.{source_col}"
        ).fetchone()
        report.remapped[table] = int(changed[0]) if changed else 0
        if not report.remapped[table] and table != "measurement":
            continue
        writes.append(
            write_query(
                con,
                lake,
                f"cdm.{table}",
                batch,
                cols,
                f"FROM {table} t LEFT JOIN _remap m ON m.old_id = t.{source_col}{unit_join}",
                replace_all=True,
            )
        )
    return writes
