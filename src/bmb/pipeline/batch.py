"""One batch of ingestion: its DuckDB workspace, its outputs and its accounting.

A batch loads its landed files into temporary tables (one per layout, typed and
validated by ``sources.flows``), pseudonymizes them, lets a flow mapper add its own
checks and write CDM rows, then sends every record that collected an error to the
quarantine and hands the lake one commit. Records in = records mapped + control
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

from bmb.domain.flows.layout import Identifier, Layout
from bmb.lake.store import BatchRecord, Lake, TableWrite
from bmb.pipeline.landing import LandedFile
from bmb.pipeline.pseudonymize import person_ids, provider_ids
from bmb.pipeline.writer import write_arrow, write_query
from bmb.sources.flows.lines import read_lines
from bmb.sources.flows.parse import parse_sql

if TYPE_CHECKING:
    import duckdb


def q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


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

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "layout": self.layout,
            "period": self.period,
            "records_in": self.records_in,
            "mapped": self.mapped,
            "control": self.control,
            "quarantined": self.quarantined,
        }


@dataclass
class Batch:
    """The workspace of one batch."""

    lake: Lake
    key: bytes
    con: duckdb.DuckDBPyConnection
    record: BatchRecord
    files: dict[str, LandedFile] = field(default_factory=dict)  # layout name -> file
    accounts: dict[str, FileAccount] = field(default_factory=dict)  # layout name -> counts
    writes: list[TableWrite] = field(default_factory=list)
    parts: Counter[str] = field(default_factory=Counter)
    bad_encoding: list[dict[str, object]] = field(default_factory=list)

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

    def load(self, landed: LandedFile) -> str:
        """Parse a landed file into temp table ``p_<layout>``; return the table name."""
        layout = landed.source.layout
        table = f"p_{layout.name}"
        with self.step("parse"):
            lines = read_lines(landed.landed)
            self.con.register("_lines", lines.table)
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS {parse_sql(layout, '_lines')}"
            )
            self.con.unregister("_lines")
        self.files[layout.name] = landed
        account = FileAccount(
            landed.source.path.name, landed.sha256, layout.name, landed.source.period
        )
        account.records_in = lines.count
        self.accounts[layout.name] = account
        for line_no, text in lines.bad_encoding:
            self.bad_encoding.append(
                self._reject_row(landed, line_no, None, "encoding", "not valid UTF-8", text)
            )
        return table

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
            "layout": landed.source.layout.name,
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
        """Append an error to every record of ``table`` matching ``condition``."""
        fld = "NULL::VARCHAR" if field_name is None else q(field_name)
        with self.step("validate"):
            self.con.execute(
                f"UPDATE {table} SET _errors = list_append(_errors, "
                f"{{'field': {fld}, 'reason': {q(reason)}, 'detail': CAST({detail} AS VARCHAR)}}) "
                f"WHERE {condition}"
            )

    def flag_duplicates(self, table: str, key: tuple[str, ...]) -> None:
        """Exact repeats of a line are duplicates; same key, other content, duplicate keys."""
        with self.step("validate"):
            self.con.execute(
                f"UPDATE {table} SET _errors = list_append(_errors, "
                "{'field': NULL::VARCHAR, 'reason': 'duplicate', 'detail': "
                "'repeats line ' || d.first}) "
                f"FROM (SELECT line_number, min(line_number) OVER (PARTITION BY text) AS first "
                f"FROM {table}) d WHERE {table}.line_number = d.line_number AND "
                "d.first < d.line_number"
            )
            if key:
                cols = ", ".join(key)
                self.con.execute(
                    f"UPDATE {table} SET _errors = list_append(_errors, "
                    "{'field': NULL::VARCHAR, 'reason': 'duplicate_key', "
                    "'detail': 'same key as line ' || d.first}) "
                    "FROM (SELECT line_number, min(line_number) OVER (PARTITION "
                    f"BY {cols}) AS first "
                    f"FROM {table} WHERE len(_errors) = 0) d "
                    f"WHERE {table}.line_number = d.line_number AND d.first < d.line_number"
                )

    def pseudonymize(self, table: str, layout: Layout) -> None:
        """Add ``person_id`` (and provider ids) to ``table``; bad identifiers are errors."""
        pid = layout.patient_id_field
        with self.step("pseudonymize"):
            if pid is not None:
                raws = self.con.sql(f"SELECT DISTINCT {pid} FROM {table}").fetchall()
                ids = person_ids(self.key, (r[0] for r in raws))
                self.con.register("_ids", ids)
                self.con.execute(f"ALTER TABLE {table} ADD COLUMN person_id BIGINT")
                self.con.execute(
                    f"UPDATE {table} SET person_id = i.person_id FROM _ids i "
                    f"WHERE i.raw IS NOT DISTINCT FROM {table}.{pid}"
                )
                self.con.execute(
                    f"UPDATE {table} SET _errors = list_append(_errors, "
                    f"{{'field': {q(pid)}, 'reason': i.reason, 'detail': NULL::VARCHAR}}) "
                    f"FROM _ids i WHERE i.raw IS NOT DISTINCT FROM {table}.{pid} "
                    f"AND i.reason IS NOT NULL AND NOT list_contains("
                    f"list_transform(_errors, lambda e: e.field), {q(pid)})"
                )
                self.con.execute(
                    "INSERT INTO _person_keys SELECT person_id, id_kind, pseudonym FROM _ids "
                    "WHERE person_id IS NOT NULL"
                )
                self.con.unregister("_ids")
            for f in layout.fields:
                if f.identifier is not Identifier.PROVIDER_ID:
                    continue
                raws = self.con.sql(f"SELECT DISTINCT {f.name} FROM {table}").fetchall()
                prov = provider_ids(self.key, (r[0] for r in raws))
                self.con.register("_prov", prov)
                col = f"{f.name}_provider_id"
                self.con.execute(f"ALTER TABLE {table} ADD COLUMN {col} BIGINT")
                self.con.execute(
                    f"UPDATE {table} SET {col} = p.provider_id FROM _prov p "
                    f"WHERE p.raw = {table}.{f.name}"
                )
                self.con.execute(
                    "INSERT INTO _providers SELECT DISTINCT provider_id, "
                    f"{q(f.name)} FROM _prov WHERE provider_id IS NOT NULL"
                )
                self.con.unregister("_prov")

    # -- outputs ------------------------------------------------------------------------

    def write(self, qname: str, columns: dict[str, str], from_sql: str) -> int:
        """Write CDM rows for table ``qname``; returns the number of rows."""
        part = f"part-{self.parts[qname]}"
        self.parts[qname] += 1
        with self.step("map"):
            w = write_query(self.con, self.lake, qname, self.batch_id, columns, from_sql, part=part)
        if w.files:
            self.writes.append(w)
            self.record.rows_out[qname.split(".", 1)[1]] = (
                self.record.rows_out.get(qname.split(".", 1)[1], 0) + w.rows
            )
        return w.rows

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
        """Count a layout's records: quarantined, mapped, control (good but not mapped)."""
        table = f"p_{layout}"
        acc = self.accounts[layout]
        bad, mapped, control = self.con.execute(
            f"SELECT count(*) FILTER (len(_errors) > 0), "
            f"count(*) FILTER (len(_errors) = 0 AND ({mapped_condition})), "
            f"count(*) FILTER (len(_errors) = 0 AND NOT ({mapped_condition})) FROM {table}"
        ).fetchone() or (0, 0, 0)
        enc = sum(1 for r in self.bad_encoding if r["layout"] == layout)
        acc.quarantined = int(bad) + enc
        acc.mapped = int(mapped)
        acc.control = int(control)

    def quarantine(self) -> None:
        """Write every record with an error, and every undecodable line, to quarantine."""
        parts = []
        for layout, landed in self.files.items():
            parts.append(
                f"SELECT {q(self.batch_id)} AS batch_id, "
                f"{q(landed.source.path.name)} AS file_name, "
                f"{q(landed.sha256)} AS file_sha256, {q(layout)} AS layout, line_number, "
                "_errors[1].field AS field, _errors[1].reason AS reason, "
                "to_json(_errors)::VARCHAR AS detail, text AS raw_record "
                f"FROM p_{layout} WHERE len(_errors) > 0"
            )
        counts: Counter[str] = Counter()
        if parts:
            union = " UNION ALL ".join(parts)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _quarantine AS {union}")
            for reason, n in self.con.sql(
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
                "layout": lf.source.layout.name,
                "period": lf.source.period,
                "size_bytes": lf.size,
                "landed_path": str(lf.landed),
                "received_at": datetime.now(UTC).replace(tzinfo=None),
                "batch_id": self.batch_id,
            }
            for lf in self.files.values()
        ]
        return pa.Table.from_pylist(rows)

    def ledger_summary(self) -> str:
        return json.dumps(self.record.rows_out)
