"""``bmb init``, ``bmb ingest``, ``bmb sql`` and ``bmb status``: the lake's commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from bmb.cli.options import JsonOption, KeyFileOption, LakeOption, lake_dir


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("ingest")(ingest)
    app.command("sql")(sql)
    app.command("status")(status)
    app.command("import-cdm")(import_cdm)
    export_app = typer.Typer(help="Export the lake's CDM to other systems.", no_args_is_help=True)
    export_app.command("postgres")(export_postgres)
    app.add_typer(export_app, name="export")


def import_cdm(
    source: Path = typer.Argument(..., help="An OMOP CDM as CSV files: a folder or a .zip."),
    lake: Path = LakeOption,
) -> None:
    """Import an existing OMOP CDM (CSV, v5.3 or v5.4) into the lake.

    Clinical tables are appended as they are (already pseudonymized by their source);
    vocabulary tables are merged with the lake's. One lake snapshot.

    Example: bmb import-cdm ../shared/fixtures/eunomia/GiBleed_5.3 --lake ./bmb-lake
    """
    from bmb.cli.console import console, print_table
    from bmb.domain.governance.roles import Action
    from bmb.pipeline.import_cdm import import_cdm as run_import
    from bmb.service.governed import audited_lake_command

    root = lake_dir(lake)
    with audited_lake_command(root, Action.LAKE_INGEST, "bmb import-cdm") as kept:
        report = run_import(root, source)
        kept.update(source=str(source), rows=dict(report.rows), snapshot=report.snapshot.label())
    print_table("Rows imported", ["table", "# rows"], sorted(report.rows.items()))
    for note in report.notes:
        console.print(f"[dim]{note}[/]")
    console.print(f"Committed as {report.snapshot.label()}")


def export_postgres(
    dsn: str = typer.Option(..., help="PostgreSQL connection, e.g. postgresql://user@host/db"),
    schema: str = typer.Option("cdm", help="The schema to create and fill."),
    lake: Path = LakeOption,
    snapshot: int = typer.Option(None, help="Export this lake snapshot instead of the latest."),
    replace: bool = typer.Option(False, help="Drop the schema first if it exists."),
    indexes: bool = typer.Option(True, help="Create OHDSI's recommended indexes."),
) -> None:
    """Export the lake's CDM to a PostgreSQL schema, with OHDSI's indexes.

    For OHDSI tools (ATLAS, Achilles, DataQualityDashboard) that expect an OMOP database.
    The schema's cdm_source row names the lake snapshot exported.

    Example: bmb export postgres --dsn postgresql://postgres@127.0.0.1/test --schema cdm
    """
    from bmb.cli.console import console
    from bmb.domain.governance.roles import Action
    from bmb.engines.lake import open_lake
    from bmb.engines.postgres_export import engine_tables, export_cdm
    from bmb.service.governed import audited_lake_command

    root = lake_dir(lake)
    with (
        audited_lake_command(root, Action.LAKE_EXPORT, "bmb export postgres") as kept,
        open_lake(root, snapshot=snapshot) as engine,
    ):
        kept.update(schema=schema, snapshot=engine.snapshot_label)
        report = export_cdm(dsn, schema, engine_tables(engine), replace=replace, indexes=indexes)
        kept["rows"] = dict(report.rows)
        total = sum(report.rows.values())
        console.print(
            f"Exported {engine.snapshot_label} to schema {report.schema}: "
            f"{total:,} rows in {len(report.rows)} tables, "
            f"{sum(report.seconds.values()):.1f} s"
        )


def init(
    directory: Path = typer.Argument(None, help="Where to create the lake (default ./bmb-lake)."),
    region: str = typer.Option("liguria", help="The region this lake serves."),
    key_file: Path = KeyFileOption,
    use_existing_key: bool = typer.Option(
        False, help="Build the lake with the key already at --key-file instead of a new one."
    ),
) -> None:
    """Create an empty lake: Iceberg tables of the OMOP CDM v5.4, vocabulary, comuni.

    A new pseudonymization key is made outside the lake (mode 0600) unless
    --use-existing-key is given. Keep it safe: without it nothing more can be ingested.

    Example: bmb init ./bmb-lake
    """
    from bmb.cli.console import console
    from bmb.lake.store import Lake
    from bmb.pipeline.bootstrap import bootstrap
    from bmb.service.governed import init_governance

    root = lake_dir(directory)
    t0 = time.perf_counter()
    lake, key_path = Lake.create(
        root, region=region, key_file=key_file, use_existing_key=use_existing_key
    )
    snap = bootstrap(lake)
    audit_key = init_governance(lake)  # the governance store and the audit signing key
    console.print(f"Created lake [bold]{root}[/] (id {lake.identity.lake_id}, region {region})")
    console.print(f"Pseudonymization key: {key_path} (mode 0600, outside the lake)")
    console.print(f"Audit signing key: {audit_key} (mode 0600, outside the lake)")
    console.print(
        f"Vocabulary and locations committed as {snap.label()} in {time.perf_counter() - t0:.1f} s"
    )


def ingest(
    paths: list[Path] = typer.Argument(
        ..., help="Flow files, FHIR Bundles or Bulk Data NDJSON, or folders holding them."
    ),
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    threads: int = typer.Option(0, help="DuckDB threads (0 = all cores)."),
    memory_limit: str = typer.Option(
        "3GB",
        help="DuckDB memory limit; beyond it DuckDB spills to the restricted landing zone. "
        "The whole process peaks about 2 GB above it on the largest batches "
        "(4.9 GB with the default, for a whole region's pharmacy month).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Ingest Italian flow files and FHIR R4: land, validate, pseudonymize, map, commit.

    One atomic batch per flow and month, then FHIR files (Bundles, Bulk Data NDJSON) in
    batches by size. Bad records go to quarantine with their file, line, field and
    reason; the run goes on. FHIR resource types BMB does not map are counted and
    listed. Files already ingested are skipped.

    Example: bmb ingest region/flows region/fhir --lake ./bmb-lake
    """
    from bmb.cli.console import console, print_table, progress_bar
    from bmb.domain.governance.roles import Action
    from bmb.pipeline.ingest import ingest as run_ingest
    from bmb.service import governed

    actor = governed.lake_gate(lake_dir(lake), Action.LAKE_INGEST, "lake")
    t0 = time.perf_counter()
    with progress_bar() as progress:
        report = run_ingest(
            lake_dir(lake),
            paths,
            key_file=key_file,
            progress=progress,
            threads=threads or None,
            memory_limit=memory_limit,
        )
    elapsed = time.perf_counter() - t0
    governed.record(lake_dir(lake), actor, "lake.ingest", "lake", governed.ingest_details(report))
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "batches": [b.__dict__ for b in report.batches],
                    "skipped": report.skipped,
                    "unsupported": report.unsupported,
                    "unsupported_resources": report.unsupported_resources,
                    "recovered": report.recovered,
                    "seconds": elapsed,
                },
                indent=2,
            )
        )
        return
    if report.recovered:
        console.print(f"Recovered from an interrupted batch: {', '.join(report.recovered)}")
    rows = [
        (
            b.flow,
            b.period,
            b.records_in,
            b.records_quarantined,
            sum(b.rows_out.values()),
            b.lake_snapshot_id,
            f"{b.seconds:.1f}",
        )
        for b in report.batches
    ]
    if rows:
        print_table(
            "Batches committed",
            ["flow", "period", "# records in", "# quarantined", "# CDM rows", "snapshot", "s"],
            rows,
        )
    for path in report.skipped:
        console.print(f"[dim]already ingested, skipped: {path}[/]")
    for path in report.unsupported:
        console.print(f"[yellow]not a flow or FHIR file BMB reads, ignored: {path}[/]")
    if report.unsupported_resources:
        listed = ", ".join(f"{t} {n:,}" for t, n in report.unsupported_resources.items())
        console.print(f"[yellow]FHIR resources of types BMB does not map (control): {listed}[/]")
    rate = report.records_in / elapsed if elapsed else 0.0
    console.print(
        f"{report.records_in:,} records in, {report.records_quarantined:,} quarantined, "
        f"{len(report.batches)} batches, {elapsed:.1f} s ({rate:,.0f} records/s)"
    )


def sql(
    query: str = typer.Argument(..., help="A SQL query (DuckDB dialect) over the CDM tables."),
    lake: Path = LakeOption,
    snapshot: int = typer.Option(None, help="Query this lake snapshot instead of the latest."),
    out: Path = typer.Option(None, help="Write the result to .csv, .parquet or .json."),
    limit: int = typer.Option(50, help="Rows shown on the terminal."),
    restricted: bool = typer.Option(
        False,
        "--restricted",
        help="Also show the landing zone (landing.quarantine, landing.source_file): "
        "stewards only, it holds records as received, identifiers included.",
    ),
) -> None:
    """Run a SQL query (DuckDB dialect) on a lake snapshot, for stewards.

    CDM tables by name (person, visit_occurrence, ...), the ledger as
    bmb.ingestion_ledger, derived results as derived.<name>.

    Example: bmb sql "SELECT gender_concept_id, count(*) FROM person GROUP BY 1"
    """
    import duckdb

    from bmb.cli.console import console, print_table
    from bmb.domain.errors import UsageError
    from bmb.domain.governance.roles import Action
    from bmb.engines.lake import open_lake
    from bmb.service import governed

    actor = governed.lake_gate(lake_dir(lake), Action.LAKE_SQL, "lake")
    with open_lake(lake_dir(lake), snapshot=snapshot, restricted=restricted) as engine:
        try:
            table = engine.query(query)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise UsageError(f"the query failed: {first}") from exc
        details = {"sql": query, "rows": table.num_rows, "restricted": restricted}
        governed.record(lake_dir(lake), actor, "lake.sql", engine.snapshot_label, details)
        if out is not None:
            governed.write_table(table, out)
            console.print(f"{table.num_rows:,} rows written to {out} ({engine.snapshot_label})")
            return
        rows = table.slice(0, limit).to_pylist()
        print_table(
            f"{table.num_rows:,} rows - {engine.snapshot_label}",
            table.column_names,
            [list(r.values()) for r in rows],
        )


def status(
    lake: Path = LakeOption,
    json_out: bool = JsonOption,
    batches: int = typer.Option(10, help="How many recent batches to show."),
) -> None:
    """Show the lake: tables and row counts, snapshots, the last batches, quarantine.

    Example: bmb status --lake ./bmb-lake
    """
    from bmb.cli.console import console, print_table
    from bmb.lake.status import lake_status

    st = lake_status(lake_dir(lake), last=batches)
    if json_out:
        typer.echo(json.dumps(st, indent=2, default=str))
        return
    console.print(
        f"Lake [bold]{st['root']}[/] id {st['lake_id']} region {st['region']}, "
        f"{st['snapshot']['label']}"
    )
    print_table(
        "CDM tables with rows",
        ["table", "# rows", "files"],
        [(t["table"], t["rows"], t["files"]) for t in st["tables"] if t["rows"]],
    )
    print_table(
        "Last batches",
        ["snapshot", "kind", "note", "# in", "# quarantined", "finished"],
        [
            (
                b["lake_snapshot_id"],
                b["kind"],
                b["note"],
                b["records_in"],
                b["records_quarantined"],
                b["finished_at"],
            )
            for b in st["batches"]
        ],
    )
    if st["quarantine"]:
        print_table(
            "Quarantined records by reason",
            ["reason", "# records"],
            sorted(st["quarantine"].items(), key=lambda kv: -kv[1]),
        )
    sys.stdout.flush()
