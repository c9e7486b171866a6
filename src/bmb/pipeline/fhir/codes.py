"""A resource's codes: which coding becomes the row's concept, and local concepts.

A CodeableConcept may carry several codings (an ICD-9-CM and an ICD-10 code, an AIC
pack and its ATC class). The row takes one, by a stated rule: a coding the lake's
vocabulary maps to a concept first, then a coding of a vocabulary BMB mints local
concepts for, then any coding, and within each the vocabulary order of
:data:`bmb.domain.codes.fhir.VOCABULARY_PREFERENCE`, then document order. With no
coding the text becomes the source value and the concept is 0.

A code of a known vocabulary that the lake does not have yet (any SNOMED or RxNorm
code before an Athena download, a LOINC test beyond BMB's list) is minted as a local
concept in its vocabulary, committed with the batch: ``*_source_value`` keeps the
code, and ``bmb vocab load`` re-maps the rows to OHDSI concepts later (ADR 0005).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa

from bmb.domain.cdm import LOCAL_CONCEPT_BASE
from bmb.domain.codes import fhir as codes
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.vocabulary import BLOCK_SIZE, BLOCKS, VOCABULARIES, mint_local

if TYPE_CHECKING:
    from collections.abc import Iterable


def _systems_table(b: Batch) -> None:
    pref = {v: i for i, v in enumerate(codes.VOCABULARY_PREFERENCE)}
    systems = list(codes.SYSTEM_VOCABULARY)
    b.con.register(
        "_fhir_systems_arrow",
        pa.table(
            {
                "system": systems,
                "vocabulary_id": [codes.SYSTEM_VOCABULARY[s] for s in systems],
                "pref": [pref.get(codes.SYSTEM_VOCABULARY[s], 99) for s in systems],
            }
        ),
    )
    b.con.execute("CREATE OR REPLACE TEMP TABLE _fhir_systems AS SELECT * FROM _fhir_systems_arrow")
    b.con.unregister("_fhir_systems_arrow")


def choose_codes(b: Batch, coded: str, resource_type: str, out: str, *, by: str = "record") -> None:
    """Create ``out`` (``by`` columns, vocabulary_id, code, display, source_value).

    ``coded`` has one row per coding (``coding_index``, ``system``, ``code``,
    ``display``, ``code_text``) and the key columns ``by``.
    """
    _systems_table(b)
    mintable = "(" + ", ".join(q(v) for v in sorted(codes.MINTABLE)) + ")"
    voc = (
        "CASE WHEN s.vocabulary_id = 'ICD9CM' AND c.resource_type = 'Procedure' THEN 'ICD9Proc' "
        "ELSE s.vocabulary_id END"
    )
    rank = (
        "CASE WHEN m.concept_id IS NOT NULL AND m.concept_id <> 0 THEN 0 "
        f"WHEN m.code IS NOT NULL OR v.voc IN {mintable} THEN 1 "
        "WHEN v.code IS NOT NULL THEN 2 ELSE 3 END * 10000 + coalesce(v.pref, 99) * 100 "
        "+ coalesce(v.coding_index, 0)"
    )
    keys = ", ".join(f"v.{k}" for k in by.split(", "))
    with b.step("codes"):
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {out} AS WITH v AS (SELECT c.*, {voc} AS voc, "
            f"coalesce(s.pref, 99) AS pref FROM (SELECT *, {q(resource_type)} AS resource_type "
            f"FROM {coded}) c LEFT JOIN _fhir_systems s ON s.system = c.system) "
            f"SELECT {keys}, arg_min({{'voc': CASE WHEN v.code IS NOT NULL THEN v.voc END, "
            "'code': v.code, 'display': v.display, 'text': v.code_text}, "
            f"{rank}) AS pick FROM v LEFT JOIN _code_map m ON m.vocabulary_id = v.voc "
            f"AND m.code = v.code GROUP BY {keys}"
        )
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * EXCLUDE (pick), "
            "pick.voc AS vocabulary_id, pick.code AS code, pick.display AS display, "
            "left(coalesce(pick.code, trim(pick.text)), 50) AS source_value "
            f"FROM {out}"
        )


def mint_missing(b: Batch, chosen: Iterable[tuple[str, str]]) -> int:
    """Mint local concepts for chosen codes the lake lacks; commit them with the batch.

    ``chosen``: (table of chosen codes, SQL of the domain_id: a literal or a column).
    Returns the number of concepts
    minted. They join ``_code_map`` at once, so the batch's rows and later batches
    of the run use them.
    """
    mintable = "(" + ", ".join(q(v) for v in sorted(codes.MINTABLE)) + ")"
    union = " UNION ALL ".join(
        f"SELECT vocabulary_id, code, display, {domain} AS domain_id FROM {table} "
        f"WHERE vocabulary_id IN {mintable} AND code IS NOT NULL"
        for table, domain in chosen
    )
    with b.step("codes"):
        rows = b.con.execute(
            f"SELECT vocabulary_id, code, arg_min(display, display IS NULL), "
            f"arg_min(domain_id, domain_id) FROM ({union}) u WHERE length(code) <= 50 "
            "AND NOT EXISTS (SELECT 1 FROM _code_map m WHERE m.vocabulary_id = u.vocabulary_id "
            "AND m.code = u.code) GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        if not rows:
            return 0
        vocs = sorted({str(r[0]) for r in rows})
        bounds = " OR ".join(
            f"concept_id BETWEEN {LOCAL_CONCEPT_BASE + BLOCKS[v] * BLOCK_SIZE} AND "
            f"{LOCAL_CONCEPT_BASE + (BLOCKS[v] + 1) * BLOCK_SIZE - 1}"
            for v in vocs
        )
        taken = {
            int(cid): (str(voc), str(code))
            for cid, voc, code in b.con.execute(
                f"SELECT concept_id, vocabulary_id, concept_code FROM concept WHERE {bounds} "
                "UNION ALL SELECT concept_id, vocabulary_id, code FROM _code_map_minted"
            ).fetchall()
        }
        ids = mint_local([(str(v), str(c)) for v, c, _, _ in rows], taken)
        concept = pa.table(
            {
                "concept_id": pa.array([ids[(str(v), str(c))] for v, c, _, _ in rows], pa.int64()),
                "concept_name": [str(d or c)[:255] for _, c, d, _ in rows],
                "domain_id": [str(dom) for _, _, _, dom in rows],
                "vocabulary_id": [str(v) for v, _, _, _ in rows],
                "concept_class_id": ["Undefined"] * len(rows),
                "standard_concept": ["S"] * len(rows),
                "concept_code": [str(c) for _, c, _, _ in rows],
            }
        )
    start, end = dt.date(1970, 1, 1), dt.date(2099, 12, 31)
    b.write_table(
        "cdm.concept",
        concept.append_column("valid_start_date", pa.array([start] * len(rows))).append_column(
            "valid_end_date", pa.array([end] * len(rows))
        ),
    )
    b.write_table(
        "bmb.local_concept",
        concept.select(
            [
                "concept_id",
                "vocabulary_id",
                "concept_code",
                "concept_name",
                "domain_id",
                "concept_class_id",
            ]
        ),
    )
    _vocabulary_rows(b, vocs)
    b.con.register("_minted", concept)
    b.con.execute(
        "INSERT INTO _code_map SELECT vocabulary_id, concept_code, concept_id, concept_id, "
        "domain_id FROM _minted"
    )
    b.con.execute(
        "INSERT INTO _code_map_minted SELECT concept_id, vocabulary_id, concept_code FROM _minted"
    )
    b.con.unregister("_minted")
    b.record.rows_out["concept"] = b.record.rows_out.get("concept", 0) + len(rows)
    return len(rows)


def _vocabulary_rows(b: Batch, vocs: list[str]) -> None:
    """Vocabulary rows for vocabularies a lake created before FHIR lacks."""
    have = {
        str(r[0])
        for r in b.con.execute(
            "SELECT vocabulary_id FROM vocabulary UNION SELECT vocabulary_id FROM _code_map_minted"
        ).fetchall()
    }
    missing = [v for v in vocs if v not in have]
    if not missing:
        return
    b.write_table(
        "cdm.vocabulary",
        pa.Table.from_pylist(
            [
                {
                    "vocabulary_id": v,
                    "vocabulary_name": VOCABULARIES[v],
                    "vocabulary_reference": "BMB",
                    "vocabulary_version": "BMB local",
                    "vocabulary_concept_id": LOCAL_CONCEPT_BASE + BLOCKS[v] * BLOCK_SIZE,
                }
                for v in missing
            ]
        ),
    )
