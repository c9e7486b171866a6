"""One FHIR batch, from landed files to CDM rows, and how FHIR files form batches.

The order inside a batch follows the dependencies between resources: who the
Patients and Practitioners are (pseudonymized), then what the references point to,
then each resource type's checks, then the local concepts the batch needs, then the
rows. What is left to the shared end of a batch (quarantine, persons, periods,
deaths, providers, the ledger) is the same as for the flows.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.fhir.checks import control, setup_macros
from bmb.pipeline.fhir.clinical import (
    check_allergies,
    check_conditions,
    check_encounters,
    check_procedures,
    map_allergies,
    map_conditions,
    map_encounters,
    map_organizations,
    map_procedures,
)
from bmb.pipeline.fhir.codes import mint_missing
from bmb.pipeline.fhir.drugs import SOURCES, check_drugs, map_drugs
from bmb.pipeline.fhir.identity import remember_keys
from bmb.pipeline.fhir.lakeio import current, ensure_fhir_key
from bmb.pipeline.fhir.observations import check_observations, map_observations
from bmb.pipeline.fhir.persons import ehr_spells, map_patients, map_practitioners
from bmb.pipeline.fhir.references import (
    resolve_encounters,
    resolve_organizations,
    resolve_patients,
    resolve_providers,
)
from bmb.pipeline.fhir.stage import LAYOUT, TABLE, stage_fhir, unsupported_by_file
from bmb.pipeline.fhir.views import drop_views, evaluate_all
from bmb.pipeline.landing import FhirFile, LandedFile

if TYPE_CHECKING:
    import duckdb

#: Bulk Data files named after a type go in this order, so that the resources others
#: point at (Patients first) are committed in the same or an earlier batch.
TYPE_ORDER = ("Patient", "Practitioner", "Organization", "Medication", "Encounter")
_TYPE_IN_NAME = re.compile(r"[A-Z][A-Za-z]+")


def setup_run(con: duckdb.DuckDBPyConnection) -> None:
    """Run-level state of FHIR ingestion, kept up to date by each batch of the run."""
    setup_macros(con)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _known_fhir_visits AS SELECT visit_occurrence_id "
        f"AS visit_id FROM visit_occurrence WHERE visit_type_concept_id = {std.TYPE_EHR}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _code_map_minted "
        "(concept_id BIGINT, vocabulary_id VARCHAR, code VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fhir_persons AS SELECT DISTINCT person_id "
        "FROM bmb.person_key WHERE id_kind = 'FHIR'"
    )


def _order(f: FhirFile) -> tuple[str, int, str]:
    m = _TYPE_IN_NAME.match(f.path.name)
    kind = m.group(0) if m else ""
    rank = TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER)
    return (str(f.path.parent), rank if f.ndjson else len(TYPE_ORDER) + 1, f.path.name)


def group_fhir(files: list[FhirFile], batch_bytes: int) -> list[list[FhirFile]]:
    """FHIR batches: files in dependency order, up to ``batch_bytes`` each, never split.

    An export (a folder) stays together as far as size allows. Two files of one name
    (``Patient.ndjson`` of two exports) never share a batch: a batch tells its files
    apart by name, as the ledger and the quarantine do.
    """
    out: list[list[FhirFile]] = []
    current_batch: list[FhirFile] = []
    size = 0
    for f in sorted(files, key=_order):
        n = f.path.stat().st_size
        clash = any(g.path.name == f.path.name for g in current_batch)
        if current_batch and (size + n > batch_bytes or clash):
            out.append(current_batch)
            current_batch, size = [], 0
        current_batch.append(f)
        size += n
    if current_batch:
        out.append(current_batch)
    return out


def map_fhir(b: Batch, landed: list[LandedFile]) -> dict[str, int]:
    """Stage, check, pseudonymize and map a FHIR batch; returns unsupported types' counts."""
    stage_fhir(b, landed)
    views = evaluate_all(b)
    ensure_fhir_key(b)
    known_keys = current(b, "bmb.fhir_key")
    map_patients(b, views)
    map_practitioners(b, views)
    resolve_patients(b, views, known_keys)
    resolve_providers(b, views, known_keys)
    resolve_organizations(b, views)
    check_encounters(b, views["encounter"])
    resolve_encounters(b, views)
    check_conditions(b, views["condition"])
    check_procedures(b, views["procedure"])
    check_observations(b, views["observation"], views["observation_component"])
    check_allergies(b, views["allergy_intolerance"])
    check_drugs(b, views)
    control(b, views["medication"], "true", "medication")
    mint_missing(
        b,
        [
            ("_code_condition", "'Condition'"),
            ("_code_procedure", "'Procedure'"),
            ("_code_observation", "domain_id"),  # Measurement or Observation, as routed
            ("_code_component", "domain_id"),
            ("_code_allergy", "'Observation'"),
            *((f"_code_{s.view}", "'Drug'") for s in SOURCES),
        ],
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _ehr_events (person_id BIGINT, start_date DATE, "
        "end_date DATE)"
    )
    map_organizations(b, views["organization"])
    map_encounters(b, views["encounter"])
    map_conditions(b, views["condition"])
    map_procedures(b, views["procedure"])
    map_observations(b, views["observation"], views["observation_component"])
    map_allergies(b, views["allergy_intolerance"])
    map_drugs(b, views)
    for rtype in ("Patient", "Practitioner"):
        remember_keys(b, rtype, f"_who_{rtype.lower()}", known_keys)
    ehr_spells(b, current(b, "cdm.observation_period"))
    b.account(LAYOUT)
    totals: Counter[str] = Counter()
    for name, counts in unsupported_by_file(b).items():
        b.accounts[name].unsupported = counts
        totals.update(counts)
    drop_views(b, views)
    return dict(totals)


def drop_batch_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The batch's staged records (after quarantine and commit)."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
