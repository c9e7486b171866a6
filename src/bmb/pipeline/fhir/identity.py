"""Who a FHIR resource is about: Patients to person_id, Practitioners to provider_id.

A Patient is identified by one of its identifiers, chosen by a stated rule:

1. an Italian identifier (fiscal code, STP, ENI, TEAM; systems in
   :data:`bmb.domain.codes.fhir.ITALIAN_IDENTIFIER_SYSTEMS`) is normalized and hashed
   exactly as the flows hash it, so the Patient *is* the registry's person; if the
   Patient carries Italian identifiers and none is valid, it is quarantined with the
   flows' reason (``invalid_fiscal_code``);
2. otherwise a national person identifier (identifier.type SS, NI, NH, SB, ... or a
   social security system), then a medical record number (type MR), then any other
   identifier with a system, in that order and then in document order, skipping
   ``use = old``: hashed as kind ``FHIR`` over ``system|value``;
3. otherwise the resource's logical id (``urn:bmb:fhir-logical-id:Patient|<id>``):
   stable within one server's exports, which is all a bare export offers.

A Practitioner follows the same rule in the provider space (an Italian doctor's fiscal
code gives the flows' ``provider_id``), without quarantine: an invalid code only
makes the next identifier count. Only distinct values are hashed, in Python; the
values live in DuckDB temp tables of the batch and never reach a Parquet file.

Each identified Patient and Practitioner also leaves ``bmb.fhir_key``: the keyed hash
of its logical id and the id it became, so that ``Patient/123`` in a later batch
still finds its person.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import pyarrow as pa

from bmb.domain.codes import fhir as codes
from bmb.domain.identity import (
    InvalidIdentifierError,
    fhir_identifier,
    id_from_pseudonym,
    normalize,
    pseudonym,
)
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.stage import TABLE

LOGICAL_ID_SYSTEM = "urn:bmb:fhir-logical-id:"


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(q(v) for v in sorted(values)) + ")"


def hash_identifiers(key: bytes, pairs: Iterable[tuple[str, str]], domain: str) -> pa.Table:
    """(system, value) -> target_id, id_kind, pseudonym, reason, for distinct pairs."""
    cols: dict[str, list[object]] = {
        "system": [],
        "value": [],
        "target_id": [],
        "id_kind": [],
        "pseudonym": [],
        "reason": [],
    }
    for system, value in pairs:
        try:
            if system in codes.ITALIAN_IDENTIFIER_SYSTEMS:
                ident = normalize(value)
            else:
                ident = fhir_identifier(system, value)
        except InvalidIdentifierError as exc:
            row: tuple[object, ...] = (system, value, None, None, None, exc.reason)
        else:
            digest = pseudonym(key, ident, domain=domain)
            row = (system, value, id_from_pseudonym(digest), ident.kind.value, digest.hex(), None)
        for name, v in zip(cols, row, strict=True):
            cols[name].append(v)
    types = [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.string()]
    return pa.table({n: pa.array(v, t) for (n, v), t in zip(cols.items(), types, strict=True)})


def logical_hash(key: bytes, resource_type: str, logical_id: str) -> str:
    """The keyed hash under which ``bmb.fhir_key`` remembers a resource's logical id."""
    message = f"fhir:{resource_type}/{logical_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _tier() -> str:
    """SQL ranking an identifier row ``i`` by the rule of this module's docstring."""
    return (
        f"CASE WHEN i.system IN {_in(codes.ITALIAN_IDENTIFIER_SYSTEMS)} THEN 0 "
        "WHEN i.use = 'old' THEN NULL "
        f"WHEN i.type_code IN {_in(codes.NATIONAL_ID_TYPES)} "
        f"OR i.system IN {_in(codes.NATIONAL_ID_SYSTEMS)} THEN 1 "
        f"WHEN i.type_code = {q(codes.MEDICAL_RECORD_TYPE)} THEN 2 ELSE 3 END"
    )


def identify(b: Batch, resource_type: str, ident_view: str, *, strict: bool) -> str:
    """Create ``_who_<type>``: record, fhir_id, target_id, id_kind, pseudonym, reason.

    ``strict``: Italian identifiers that are all invalid give a ``reason`` (Patients);
    otherwise they are passed over (Practitioners).
    """
    domain = "person" if resource_type == "Patient" else "provider"
    out = f"_who_{resource_type.lower()}"
    with b.step("pseudonymize"):
        pairs = b.con.execute(
            f"SELECT DISTINCT system, value FROM {ident_view} "
            "WHERE system IS NOT NULL AND value IS NOT NULL"
        ).fetchall()
        b.con.register("_hash_arrow", hash_identifiers(b.key, pairs, domain))
        b.con.execute("CREATE OR REPLACE TEMP TABLE _id_hash AS SELECT * FROM _hash_arrow")
        b.con.unregister("_hash_arrow")
        b.con.execute(
            "CREATE OR REPLACE TEMP TABLE _ids AS SELECT i.record, i.position, h.target_id, "
            f"h.id_kind, h.pseudonym, h.reason, {_tier()} AS tier FROM {ident_view} i "
            "JOIN _id_hash h ON h.system = i.system AND h.value = i.value"
        )
        only_italian = "(NOT a.italian OR i.tier = 0)" if strict else "true"
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {out} AS "
            "WITH agg AS (SELECT record, bool_or(tier = 0) AS italian, "
            "arg_min(reason, position) FILTER (tier = 0) AS italian_reason FROM _ids "
            "GROUP BY record), best AS (SELECT i.record, arg_min({'t': i.target_id, "
            "'k': i.id_kind, 'p': i.pseudonym}, i.tier * 1000000 + i.position) AS pick "
            f"FROM _ids i JOIN agg a USING (record) WHERE i.target_id IS NOT NULL "
            f"AND i.tier IS NOT NULL AND {only_italian} GROUP BY i.record) "
            "SELECT r._record AS record, r.fhir_id, r._key, best.pick.t AS target_id, "
            "best.pick.k AS id_kind, best.pick.p AS pseudonym, "
            f"CASE WHEN {'a.italian' if strict else 'false'} AND best.record IS NULL "
            "THEN coalesce(a.italian_reason, 'invalid_fiscal_code') END AS reason "
            f"FROM {TABLE} r LEFT JOIN agg a ON a.record = r._record "
            "LEFT JOIN best ON best.record = r._record "
            f"WHERE r.rtype = {q(resource_type)} AND r._ok AND NOT r._skip"
        )
        # no usable identifier: the logical id, qualified by the resource type
        rest = b.con.execute(
            f"SELECT DISTINCT _key FROM {out} WHERE target_id IS NULL AND reason IS NULL"
        ).fetchall()
        system = LOGICAL_ID_SYSTEM + resource_type
        fallback = hash_identifiers(b.key, [(system, str(r[0])) for r in rest], domain)
        b.con.register("_fallback", fallback)
        b.con.execute(
            f"UPDATE {out} SET target_id = f.target_id, id_kind = f.id_kind, "
            f"pseudonym = f.pseudonym FROM _fallback f WHERE f.value = {out}._key "
            f"AND {out}.target_id IS NULL AND {out}.reason IS NULL"
        )
        b.con.unregister("_fallback")
    return out


def remember_keys(b: Batch, resource_type: str, who: str, known: str) -> None:
    """Write the keyed hashes of the logical ids identified in this batch to fhir_key.

    ``known`` is a subquery of the table's current rows; only new pairs are written.
    """
    rows = b.con.execute(
        f"SELECT DISTINCT fhir_id, target_id FROM {who} "
        "WHERE fhir_id IS NOT NULL AND target_id IS NOT NULL"
    ).fetchall()
    hashes = [logical_hash(b.key, resource_type, str(fid)) for fid, _ in rows]
    b.con.register(
        "_new_keys",
        pa.table(
            {
                "key_hash": pa.array(hashes, pa.string()),
                "target_id": pa.array([int(t) for _, t in rows], pa.int64()),
            }
        ),
    )
    b.write(
        "bmb.fhir_key",
        {
            "resource_type": q(resource_type),
            "key_hash": "n.key_hash",
            "target_id": "n.target_id",
            "first_batch_id": q(b.batch_id),
        },
        f"FROM _new_keys n WHERE NOT EXISTS (SELECT 1 FROM {known} k WHERE "
        f"k.resource_type = {q(resource_type)} AND k.key_hash = n.key_hash "
        "AND k.target_id = n.target_id)",
    )
    b.con.unregister("_new_keys")


def lookup_keys(
    b: Batch, resource_type: str, logical_ids: Iterable[str], known: str, table: str
) -> None:
    """Create ``table`` (fhir_id, target_id, targets) from the persisted fhir_key rows.

    ``targets`` counts the distinct ids the logical id was seen with: more than one
    means two sources used one logical id for two people, and the reference is
    ambiguous.
    """
    ids = sorted(set(logical_ids))
    b.con.register(
        "_lookup",
        pa.table(
            {
                "fhir_id": pa.array(ids, pa.string()),
                "key_hash": pa.array(
                    [logical_hash(b.key, resource_type, i) for i in ids], pa.string()
                ),
            }
        ),
    )
    b.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT l.fhir_id, min(k.target_id) "
        "AS target_id, count(DISTINCT k.target_id) AS targets FROM _lookup l "
        f"JOIN {known} k ON k.key_hash = l.key_hash AND k.resource_type = {q(resource_type)} "
        "GROUP BY 1"
    )
    b.con.unregister("_lookup")
