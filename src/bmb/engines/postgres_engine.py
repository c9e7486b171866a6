"""PostgreSQL: an engine over an OMOP CDM schema (an OHDSI database, or BMB's export).

The connection's ``search_path`` puts the CDM schema first (then the vocabulary and
results schemas), so analytics name CDM tables without a schema, exactly as on the
other engines. Rows come back through ``COPY ... TO STDOUT`` parsed by Arrow, which is
an order of magnitude faster than fetching Python tuples for large results.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from bmb.domain.errors import BmbError

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

# PostgreSQL type OIDs and the Arrow types BMB reads them as.
_OID_ARROW = {
    16: "bool",
    20: "int64",
    21: "int64",
    23: "int64",
    26: "int64",
    700: "float64",
    701: "float64",
    1700: "float64",
    1082: "date32",
    1114: "timestamp",
    1184: "timestamp",
}


def _arrow_type(oid: int) -> pa.DataType:
    import pyarrow as pa

    name = _OID_ARROW.get(oid, "string")
    if name == "timestamp":
        return pa.timestamp("us")
    dtype: pa.DataType = getattr(pa, name)()
    return dtype


def postgres_type(dtype: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type."""
    import pyarrow as pa

    if pa.types.is_boolean(dtype):
        return "BOOLEAN"
    if pa.types.is_integer(dtype):
        return "BIGINT"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "DOUBLE PRECISION"
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP"
    return "TEXT"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresEngine:
    """An engine over one PostgreSQL database and its OMOP CDM schema."""

    dialect = "postgres"

    def __init__(
        self,
        dsn: str,
        cdm_schema: str = "public",
        results_schema: str | None = None,
        *,
        vocabulary_schema: str | None = None,
        snapshot_id: str | None = None,
        work_mem: str | None = "256MB",
    ) -> None:
        import psycopg

        try:
            self.conn: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BmbError(
                f"cannot connect to PostgreSQL ({first})", hint="check --postgres DSN"
            ) from None
        self.cdm_schema = cdm_schema
        self.results_schema = results_schema
        self.vocabulary_schema = vocabulary_schema
        self.snapshot_id = snapshot_id
        path = [cdm_schema, vocabulary_schema, results_schema, "public"]
        unique = list(dict.fromkeys(p for p in path if p))
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT set_config('search_path', %s, false)", (", ".join(map(_quote, unique)),)
            )
            if work_mem:
                cur.execute("SELECT set_config('work_mem', %s, false)", (work_mem,))

    def query(self, sql: str) -> pa.Table:
        import pyarrow as pa
        from pyarrow import csv

        sql = sql.strip().rstrip(";")
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT * FROM ({sql}) AS bmb_q LIMIT 0")
            desc = cur.description or []
            names = [d.name for d in desc]
            types = [_arrow_type(d.type_code) for d in desc]
            buf = io.BytesIO()
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for data in copy:
                    buf.write(data)
        schema = pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(types)])
        if buf.tell() == 0:
            return pa.Table.from_batches([], schema).rename_columns(names)
        buf.seek(0)
        table = csv.read_csv(
            buf,
            read_options=csv.ReadOptions(column_names=[f"c{i}" for i in range(len(names))]),
            convert_options=csv.ConvertOptions(
                column_types=schema,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        return table.rename_columns(names)

    def execute(self, sql: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def table_names(self) -> list[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT table_name FROM information_schema.tables "
                "WHERE table_schema = ANY (current_schemas(true)) ORDER BY table_name"
            )
            return [str(r[0]) for r in cur.fetchall()]

    def close(self) -> None:
        self.conn.close()

    def materialize(self, name: str, select_sql: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}")
            cur.execute(f"ANALYZE {name}")

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")

    def load_arrow(self, name: str, table: pa.Table, *, temporary: bool = True) -> None:
        cols = ", ".join(f"{_quote(f.name)} {postgres_type(f.type)}" for f in table.schema)
        kind = "TEMPORARY TABLE" if temporary else "TABLE"
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE {kind} {name} ({cols})")
        copy_arrow(self.conn, name, table)
        self.execute(f"ANALYZE {name}")

    def __enter__(self) -> PostgresEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copy_arrow(conn: psycopg.Connection[Any], name: str, table: pa.Table) -> None:
    """Append an Arrow table's rows to an existing table with ``COPY FROM STDIN``."""
    from pyarrow import csv

    columns = ", ".join(_quote(f.name) for f in table.schema)
    with conn.cursor() as cur:
        stmt = f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT csv)"
        with cur.copy(stmt) as copy:
            for batch in table.to_batches(max_chunksize=100_000):
                buf = io.BytesIO()
                csv.write_csv(
                    batch,
                    buf,
                    write_options=csv.WriteOptions(include_header=False, quoting_style="all_valid"),
                )
                copy.write(buf.getvalue())
