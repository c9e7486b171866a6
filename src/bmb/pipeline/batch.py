"""One batch of ingestion: its DuckDB workspace, its outputs and its accounting.

A batch loads its landed files into temporary tables (one per layout, typed and
validated by ``sources.flows``), pseudonymizes them, lets a flow mapper add its own
checks and write CDM rows, then sends every record that collected an error to the
quarantine and hands the lake one commit. A staged record carries ``_ok`` (no error so
far), ``_errors`` (what parsing found) and ``_check`` (the first problem a later check
found); see :data:`ALL_ERRORS`. Records in = records mapped + control
records + records quarantined, per file; the ledger keeps the counts.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from bmb.domain.flows.layout import Framing, Identifier, Layout
from bmb.lake.store import BatchRecord, Lake, TableWrite, all_tables
from bmb.lake.views import files_select
from bmb.pipeline.landing import LandedFile
from bmb.pipeline.pseudonymize import person_ids, provider_ids
from bmb.pipeline.writer import write_arrow, write_query
from bmb.sources.flows import native
from bmb.sources.flows.cut import cut_fixed
from bmb.sources.flows.lines import Lines, read_bytes, read_lines, split_lines
from bmb.sources.flows.native import FixedRecords
from bmb.sources.flows.parse import parse_sql

if TYPE_CHECKING:
    import duckdb


#: The type of one error: which field (NULL for the whole record), why, and the value.
ERROR_TYPE = "STRUCT(field VARCHAR, reason VARCHAR, detail VARCHAR)"

#: SQL for a staged record's errors: those of parsing (``_errors``, a list fixed when
#: the record is staged) or else the one a later check found (``_check``). Checks set
#: ``_check`` and clear ``_ok`` in place; appending to a list column instead made
#: DuckDB rewrite the whole column at every check, even when nothing matched.
ALL_ERRORS = "CASE WHEN _check IS NULL THEN _errors ELSE [_check] END"

#: The columns every staged table derives from its parsing ``_errors``: ``_ok`` and an
#: empty ``_check`` (select them from a relation that has ``_errors``).
CHECK_COLUMNS = f"len(_errors) = 0 AS _ok, NULL::{ERROR_TYPE} AS _check"


def q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def same_key(left: str, right: str, key: tuple[str, ...]) -> str:
    """SQL: the records aliased ``left`` and ``right`` share ``key`` and ``_period``.

    Header and detail records of a flow (D1 and D2, C1 and C2, SDO A and B) belong
    together when their key is the same in the same month's files.
    """
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in (*key, "_period"))


@dataclass
class FileAccount:
    """Per-file accounting: what came in and where it went."""

    name: str
    sha256: str
    layout: str
    period: str
    records_in: int = 0
    mapped: int = 0
    control: int = 0
    quarantined: int = 0
    #: FHIR: records of resource types BMB does not map, by type (counted as control).
    unsupported: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "sha256": self.sha256,
            "layout": self.layout,
            "period": self.period,
            "records_in": self.records_in,
            "mapped": self.mapped,
            "control": self.control,
            "quarantined": self.quarantined,
        }
        if self.unsupported:
            out["unsupported"] = dict(self.unsupported)
        return out


@dataclass
class Batch:
    """The workspace of one batch."""

    lake: Lake
    key: bytes
    con: duckdb.DuckDBPyConnection
    record: BatchRecord
    files: dict[str, list[LandedFile]] = field(default_factory=dict)  # layout -> files
    accounts: dict[str, FileAccount] = field(default_factory=dict)  # file name -> counts
    writes: list[TableWrite] = field(default_factory=list)
    parts: Counter[str] = field(default_factory=Counter)
    bad_encoding: list[dict[str, object]] = field(default_factory=list)
    #: Cut fixed-width files with the compiled cutter when it is built; false forces the
    #: pure Python reference path (same results, slower).
    compiled_cutter: bool = True
    #: Each staged layout's record texts (``_file``, ``line_number``, ``text``), kept in
    #: Arrow and registered as ``_text_<layout>`` rather than copied into the ``p_``
    #: tables: only quarantined and repeated records need them.
    texts: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def batch_id(self) -> str:
        return self.record.batch_id

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step of the batch (parse, validate, pseudonymize, map, commit)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            timings = self.record.timings
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0

    # -- loading ------------------------------------------------------------------------

    def stage(self, layout: Layout, landed: list[LandedFile]) -> str:
        """Read, type, validate and pseudonymize a layout's files into ``p_<layout>``.

        All of a layout's files in the batch (consecutive months) land in one temp table,
        told apart by ``_file`` and ``_period``, in one pass: lines are read and (for
        fixed-width layouts) cut by the compiled cutter (:mod:`bmb.sources.flows.native`,
        which also marks the records that need checking) or with Arrow, the distinct
        patient and doctor codes are hashed once in Python, and DuckDB types every
        field, checks it and joins the ids - one materialization of the table, which
        keeps the ids and not the identifier fields. A layout the batch lacks gets an
        empty table with the same columns, so mappers need no special case. Repeated
        records are found afterwards by key (:meth:`flag_duplicates`).
        """
        table = f"p_{layout.name}"
        fixed = layout.framing is Framing.FIXED
        compiled = fixed and self.compiled_cutter and native.available()
        parts: list[pa.Table] = []
        for lf in landed:
            name = lf.source.path.name
            records: Lines | FixedRecords
            if compiled:
                with self.step("read"):
                    data = read_bytes(lf.landed)
                with self.step("parse"):
                    records = native.read_fixed(data, layout)
                del data
            else:
                with self.step("read"):
                    records = read_lines(lf.landed)
            parts.append(_tagged(records.table, name, lf.source.period))
            self.files.setdefault(layout.name, []).append(lf)
            account = FileAccount(name, lf.sha256, layout.name, lf.source.period)
            account.records_in = records.count
            self.accounts[name] = account
            for line_no, text in records.bad_encoding:
                self.bad_encoding.append(
                    self._reject_row(lf, line_no, None, "encoding", "not valid UTF-8", text)
                )
        with self.step("parse"):
            if not parts:  # the same columns, no rows
                empty = native.read_fixed(b"", layout) if compiled else split_lines(b"")
                parts.append(_tagged(empty.table, "", ""))
            staged = pa.concat_tables(parts)
            if fixed and not compiled:
                staged = cut_fixed(layout, staged)
            self.con.register("_stage", staged)
        joins, extra_cols, id_error = self._identity_joins(layout, fixed)
        parsed = parse_sql(
            layout,
            "_stage",
            precut=fixed,
            prechecked=compiled,
            pretyped=native.typed_fields(layout) if compiled else frozenset(),
            carry=("_file", "_period"),
        )
        with self.step("parse"):
            # Identifiers stop here: the staged table holds their keyed ids (and the
            # record texts wait in Arrow for the quarantine), never the codes and names.
            # Short of them, the table is also quicker to build (long strings are copied).
            dropped = "".join(
                f", {f.name}" for f in layout.fields if f.identifier is not Identifier.NONE
            )
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, {CHECK_COLUMNS} "
                f"FROM (SELECT s.* EXCLUDE (_errors, text{dropped}), "
                f"false AS _skip{extra_cols}, list_concat(s._errors, {id_error}) AS _errors "
                f"FROM ({parsed}) s {joins})"
            )
            self.con.unregister("_stage")
            self.texts[layout.name] = staged.select(["_file", "line_number", "text"])
            self.con.register(f"_text_{layout.name}", self.texts[layout.name])
        return table

    def release(self) -> None:
        """Drop the batch's staged tables and record texts."""
        for name in self.texts:
            self.con.unregister(f"_text_{name}")
            self.con.execute(f"DROP TABLE IF EXISTS p_{name}")
        self.texts.clear()

    def _identity_joins(self, layout: Layout, precut: bool) -> tuple[str, str, str]:
        """Hash the distinct identifiers of ``_stage``: (joins, columns, id-error SQL)."""
        joins: list[str] = []
        cols = ""
        id_error = "[]"

        def distinct(field_name: str) -> list[str]:
            if precut:
                expr = f"_v_{field_name}"
            else:
                i = layout.names.index(field_name) + 1
                part = f"string_split(text, {q(layout.separator)})[{i}]"
                expr = f"NULLIF(trim(coalesce({part}, '')), '')"
            rows = self.con.execute(f"SELECT DISTINCT {expr} FROM _stage").fetchall()
            return [r[0] or "" for r in rows]

        with self.step("pseudonymize"):
            pid = layout.patient_id_field
            if pid is not None:
                self.con.register("_ids_arrow", person_ids(self.key, distinct(pid)))
                self.con.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT * FROM _ids_arrow")
                self.con.unregister("_ids_arrow")
                self.con.execute(
                    "INSERT INTO _person_keys SELECT person_id, id_kind, pseudonym FROM _ids "
                    "WHERE person_id IS NOT NULL"
                )
                joins.append(f"LEFT JOIN _ids i ON i.raw = coalesce(s.{pid}, '')")
                cols += ", i.person_id"
                id_error = (
                    f"CASE WHEN i.reason IS NOT NULL AND NOT list_contains(list_transform("
                    f"s._errors, lambda e: e.field), {q(pid)}) THEN [{{'field': {q(pid)}, "
                    "'reason': i.reason, 'detail': NULL::VARCHAR}] ELSE [] END"
                )
            for f in layout.fields:
                if f.identifier is not Identifier.PROVIDER_ID:
                    continue
                alias = f"_prov_{f.name}"
                self.con.register("_prov_arrow", provider_ids(self.key, distinct(f.name)))
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {alias} AS SELECT * FROM _prov_arrow"
                )
                self.con.unregister("_prov_arrow")
                self.con.execute(
                    "INSERT INTO _providers SELECT DISTINCT provider_id, "
                    f"{q(f.name)} FROM {alias} WHERE provider_id IS NOT NULL"
                )
                joins.append(f"LEFT JOIN {alias} ON {alias}.raw = s.{f.name}")
                cols += f", {alias}.provider_id AS {f.name}_provider_id"
        return " ".join(joins), cols, id_error

    def _reject_row(
        self,
        landed: LandedFile,
        line_number: int,
        field_name: str | None,
        reason: str,
        detail: str,
        raw: str,
    ) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "file_name": landed.source.path.name,
            "file_sha256": landed.sha256,
            "layout": landed.source.layout_name,
            "line_number": line_number,
            "field": field_name,
            "reason": reason,
            "detail": detail,
            "raw_record": raw,
        }

    # -- checks -------------------------------------------------------------------------

    def add_error(
        self, table: str, condition: str, field_name: str | None, reason: str, detail: str = "NULL"
    ) -> None:
        """Reject every good record of ``table`` matching ``condition`` for ``reason``.

        A record keeps the first problem a check finds (``_check``); records already
        rejected are not checked again, so no record is counted twice.
        """
        fld = "NULL::VARCHAR" if field_name is None else q(field_name)
        with self.step("validate"):
            self.con.execute(
                f"UPDATE {table} SET _ok = false, _check = "
                f"{{'field': {fld}, 'reason': {q(reason)}, 'detail': CAST({detail} AS VARCHAR)}} "
                f"WHERE _ok AND ({condition})"
            )

    def require_known_person(self, table: str) -> None:
        """Records of flows without demographics need a person the lake already knows."""
        self.add_error(
            table,
            "person_id NOT IN (SELECT person_id FROM _known_persons) "
            "AND person_id NOT IN (SELECT person_id FROM _person_candidates "
            "WHERE birth_date IS NOT NULL)",
            None,
            "unknown_person",
            "'not in the registry nor in this batch'",
        )

    def reject_orphans(
        self, table: str, header: str, key: tuple[str, ...], detail: str, where: str = "true"
    ) -> None:
        """Detail records (``where``) whose good header record, same key and period, is missing.

        An explicit anti-join of the key columns alone: DuckDB ran the equivalent
        ``NOT EXISTS`` twice as slowly (0.94 s against 0.44 s on a pharmacy month).
        """
        cols = ", ".join((*key, "_period"))
        self.add_error(
            table,
            f"rowid IN (SELECT d.row_id FROM (SELECT rowid AS row_id, {cols} FROM {table} "
            f"WHERE _ok AND ({where})) d ANTI JOIN (SELECT {cols} FROM {header} WHERE _ok) h "
            f"ON {same_key('h', 'd', key)})",
            None,
            "orphan",
            q(detail),
        )

    def keep_latest(self, table: str, key: tuple[str, ...]) -> None:
        """Snapshot flows: of the good records sharing a key, only the latest period's counts.

        The registry and the exemptions arrive as yearly snapshots that repeat every
        record still current; older versions are control records (``_skip``), not
        errors.
        """
        cols = ", ".join(key)
        with self.step("validate"):
            self.con.execute(
                f"UPDATE {table} SET _skip = true FROM (SELECT _file, line_number FROM "
                f"(SELECT _file, line_number, row_number() OVER (PARTITION BY {cols} "
                f"ORDER BY _period DESC, line_number DESC) AS rn FROM {table} "
                f"WHERE _ok) WHERE rn > 1) d "
                f"WHERE {table}._file = d._file AND {table}.line_number = d.line_number"
            )

    def flag_duplicates(
        self, table: str, key: tuple[str, ...], *, per_period: bool = False
    ) -> None:
        """Repeated records: a later good record with the same key as an earlier one.

        If its text is exactly the earlier record's, it is a ``duplicate`` (a record
        sent twice); otherwise a ``duplicate_key`` (two different records claiming one
        identity). ``per_period`` limits the comparison to one period, for snapshot
        flows that legitimately repeat records from one period to the next. Windows run
        over the short key columns only; texts are compared for the few repeats.
        """
        texts = f"_text_{table.removeprefix('p_')}"
        part_cols = ("_period", *key) if per_period else key
        part = ", ".join(part_cols)
        with self.step("validate"):
            # Keys that repeat are found by grouping one 64-bit hash of the key columns;
            # only their records (a few in a thousand, plus any hash collision, which
            # the window below tells apart by the columns themselves) are then sorted.
            hashed = f"hash({part})"
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _repeats AS WITH k AS (SELECT "
                f"{hashed} AS h FROM {table} WHERE _ok GROUP BY ALL "
                "HAVING count(*) > 1), "
                f"c AS (SELECT rowid AS row_id, _file, line_number, {part} FROM {table} "
                f"WHERE _ok AND {hashed} IN (SELECT h FROM k)) "
                "SELECT r.row_id, "
                "r.first_file, r.first_line, t.text = f.text AS same FROM (SELECT row_id, _file, "
                "line_number, first_value(_file) OVER w AS first_file, "
                "first_value(line_number) OVER w AS first_line, row_number() OVER w AS rn "
                f"FROM c WINDOW w AS (PARTITION BY {part} "
                "ORDER BY _file, line_number)) r "
                f"JOIN {texts} t ON t._file = r._file AND t.line_number = r.line_number "
                f"JOIN {texts} f ON f._file = r.first_file AND f.line_number = r.first_line "
                "WHERE r.rn > 1"
            )
            # Records are found again by rowid: an UPDATE that joins on file and line
            # scans and hashes the whole table.
            self.con.execute(
                f"UPDATE {table} SET _ok = false, _check = CASE WHEN d.same THEN "
                "{'field': NULL::VARCHAR, 'reason': 'duplicate', "
                "'detail': 'repeats ' || d.first_file || ' line ' || d.first_line} ELSE "
                "{'field': NULL::VARCHAR, 'reason': 'duplicate_key', "
                "'detail': 'same key as ' || d.first_file || ' line ' || d.first_line} END "
                f"FROM _repeats d WHERE {table}.rowid = d.row_id"
            )

    # -- outputs ------------------------------------------------------------------------

    def write(
        self,
        qname: str,
        columns: dict[str, str],
        from_sql: str,
        *,
        replace_by: str | None = None,
    ) -> int:
        """Write CDM rows for table ``qname``; returns the number of rows.

        ``replace_by`` names an id column: rows already in the table with one of the
        written ids are replaced (snapshot flows re-send records with updates).
        """
        part = f"part-{self.parts[qname]}"
        self.parts[qname] += 1
        with self.step("map"):
            w = write_query(self.con, self.lake, qname, self.batch_id, columns, from_sql, part=part)
            if replace_by is not None and w.files:
                replaced = self._existing_ids(qname, replace_by, [str(f) for f in w.files])
                if replaced:
                    w.replace_column = replace_by
                    w.replace_values = replaced
        if w.files:
            self.writes.append(w)
            self.record.rows_out[qname.split(".", 1)[1]] = (
                self.record.rows_out.get(qname.split(".", 1)[1], 0) + w.rows
            )
        return w.rows

    def _existing_ids(self, qname: str, column: str, new_files: list[str]) -> list[int]:
        """Ids of the new files that the table already holds (as committed so far).

        Only those rows need replacing. Deleting every written id instead made the
        commit bind and test one Iceberg literal per id: 15 s for the region's
        exemptions, whose ids are almost all new.
        """
        current = self.lake.data_files(qname)
        if not current:
            return []
        decl = all_tables()[qname]
        rows = self.con.execute(
            f"SELECT DISTINCT n.{column} FROM ({files_select(decl, new_files)}) n "
            f"SEMI JOIN ({files_select(decl, current)}) o ON o.{column} = n.{column}"
        ).fetchall()
        return [int(r[0]) for r in rows if r[0] is not None]

    def write_replace(self, qname: str, columns: dict[str, str], from_sql: str) -> int:
        """Write the complete new content of table ``qname`` (replaces all its files)."""
        part = f"part-{self.parts[qname]}"
        self.parts[qname] += 1
        with self.step("map"):
            w = write_query(
                self.con,
                self.lake,
                qname,
                self.batch_id,
                columns,
                from_sql,
                part=part,
                replace_all=True,
            )
        self.writes.append(w)
        self.record.rows_out[qname.split(".", 1)[1]] = w.rows
        return w.rows

    def write_table(self, qname: str, table: pa.Table, *, replace_all: bool = False) -> None:
        part = f"part-{self.parts[qname]}"
        self.parts[qname] += 1
        w = write_arrow(self.lake, qname, self.batch_id, table, part=part, replace_all=replace_all)
        if w.files or replace_all:
            self.writes.append(w)

    def account(self, layout: str, mapped_condition: str = "true") -> None:
        """Count each file's records: quarantined, mapped, control (good, not mapped)."""
        rows = self.con.execute(
            f"SELECT _file, count(*) FILTER (NOT _ok), "
            f"count(*) FILTER (_ok AND NOT _skip AND ({mapped_condition})), "
            f"count(*) FILTER (_ok AND (_skip OR NOT ({mapped_condition}))) "
            f"FROM p_{layout} GROUP BY 1"
        ).fetchall()
        for name, bad, mapped, control in rows:
            acc = self.accounts[str(name)]
            enc = sum(1 for r in self.bad_encoding if r["file_name"] == name)
            acc.quarantined = int(bad) + enc
            acc.mapped = int(mapped)
            acc.control = int(control)
        for landed in self.files.get(layout, []):
            acc = self.accounts[landed.source.path.name]
            if acc.quarantined == 0 and acc.mapped == 0 and acc.control == 0:
                acc.quarantined = sum(1 for r in self.bad_encoding if r["file_name"] == acc.name)

    def quarantine(self) -> None:
        """Write every record with an error, and every undecodable line, to quarantine."""
        shas = {lf.source.path.name: lf.sha256 for files in self.files.values() for lf in files}
        self.con.register("_shas", pa.table({"file": list(shas), "sha": list(shas.values())}))
        parts = []
        for layout in self.files:
            # Flow texts wait in Arrow (``_text_<layout>``); FHIR's stay in ``p_fhir``,
            # whose records a file name and line number do not always tell apart.
            texts, raw = "", "t.text"
            if layout in self.texts:
                texts = (
                    f"JOIN _text_{layout} x ON x._file = t._file AND x.line_number = t.line_number "
                )
                raw = "x.text"
            parts.append(
                f"SELECT {q(self.batch_id)} AS batch_id, t._file AS file_name, "
                f"s.sha AS file_sha256, {q(layout)} AS layout, t.line_number, "
                f"e[1].field AS field, e[1].reason AS reason, to_json(e)::VARCHAR AS detail, "
                f"{raw} AS raw_record FROM (SELECT *, {ALL_ERRORS} AS e FROM p_{layout} "
                f"WHERE NOT _ok) t JOIN _shas s ON s.file = t._file {texts}"
            )
        counts: Counter[str] = Counter()
        if parts:
            union = " UNION ALL ".join(parts)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _quarantine AS {union}")
            for reason, n in self.con.execute(
                "SELECT reason, count(*) FROM _quarantine GROUP BY 1"
            ).fetchall():
                counts[str(reason)] += int(n)
            cols = {
                c: c
                for c in (
                    "batch_id",
                    "file_name",
                    "file_sha256",
                    "layout",
                    "line_number",
                    "field",
                    "reason",
                    "detail",
                    "raw_record",
                )
            }
            self.write("landing.quarantine", cols, "FROM _quarantine")
        self.con.unregister("_shas")
        if self.bad_encoding:
            self.write_table("landing.quarantine", pa.Table.from_pylist(self.bad_encoding))
            counts["encoding"] += len(self.bad_encoding)
        self.record.quarantined_by_reason = dict(counts)
        self.record.rows_out.pop("quarantine", None)

    def finish_accounts(self) -> None:
        self.record.files = [a.as_dict() for a in self.accounts.values()]
        self.record.records_in = sum(a.records_in for a in self.accounts.values())
        self.record.records_quarantined = sum(a.quarantined for a in self.accounts.values())
        self.record.records_control = sum(a.control for a in self.accounts.values())

    def landed_rows(self) -> pa.Table:
        rows = [
            {
                "file_sha256": lf.sha256,
                "file_name": lf.source.path.name,
                "layout": lf.source.layout_name,
                "period": lf.source.period or None,
                "size_bytes": lf.size,
                "landed_path": str(lf.landed),
                "received_at": datetime.now(UTC).replace(tzinfo=None),
                "batch_id": self.batch_id,
            }
            for files in self.files.values()
            for lf in files
        ]
        return pa.Table.from_pylist(rows)

    def ledger_summary(self) -> str:
        return json.dumps(self.record.rows_out)


def _tagged(table: pa.Table, file_name: str, period: str) -> pa.Table:
    """A file's records with the ``_file`` and ``_period`` they are told apart by."""
    n = table.num_rows
    return table.append_column("_file", pa.repeat(pa.scalar(file_name), n)).append_column(
        "_period", pa.repeat(pa.scalar(period), n)
    )
