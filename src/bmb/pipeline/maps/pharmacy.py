"""Flusso D community-pharmacy dispensing: drug exposures from AIC codes.

D1 (who) and D2 (what) are joined on region, ASL, pharmacy, prescription and line.
Line 99 of a prescription is its trailer (totals): a control record, counted, not a
drug. The dispensed quantity is packs times units per pack, and the days supplied are
packs times the defined daily doses per pack from the AIC table BMB ships.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch, same_key
from bmb.pipeline.maps.common import row_id

KEY = ("regione", "asl", "farmacia", "numero_ricetta", "progressivo_riga")
_JOIN = same_key("d1", "d2", KEY)


def map_pharmacy(b: Batch) -> None:
    b.flag_duplicates("p_pharmacy_d1", KEY)
    b.flag_duplicates("p_pharmacy_d2", KEY)
    b.reject_orphans(
        "p_pharmacy_d2",
        "p_pharmacy_d1",
        KEY,
        "no valid D1 record for this line",
        where="progressivo_riga <> '99'",
    )
    b.add_error(
        "p_pharmacy_d2",
        "data_spedizione < data_prescrizione",
        "data_spedizione",
        "inconsistent_dates",
        "'dispensed before prescribed'",
    )
    b.add_error(
        "p_pharmacy_d2",
        "progressivo_riga <> '99' AND (codice_prodotto IS NULL OR "
        "codice_prodotto NOT IN (SELECT code FROM _code_map WHERE vocabulary_id = 'AIC'))",
        "codice_prodotto",
        "unknown_code",
        "codice_prodotto",
    )
    src = (
        f"FROM p_pharmacy_d2 d2 JOIN (SELECT * FROM p_pharmacy_d1 WHERE _ok) d1 ON {_JOIN} "
        "LEFT JOIN _code_map m ON m.vocabulary_id = 'AIC' AND m.code = d2.codice_prodotto "
        "LEFT JOIN _aic a ON a.aic = d2.codice_prodotto "
        "WHERE d2._ok AND d2.progressivo_riga <> '99'"
    )
    qty = "coalesce(d2.quantita, 1)"
    days = f"greatest(1, CAST(round({qty} * coalesce(a.ddd_per_pack, 30)) AS INTEGER))"
    b.write(
        "cdm.drug_exposure",
        {
            "drug_exposure_id": row_id(
                "'FD'",
                "d2.regione",
                "d2.asl",
                "d2.farmacia",
                "d2.numero_ricetta",
                "d2.progressivo_riga",
            ),
            "person_id": "d1.person_id",
            "drug_concept_id": "coalesce(m.concept_id, 0)",
            "drug_exposure_start_date": "d2.data_spedizione",
            "drug_exposure_start_datetime": "CAST(d2.data_spedizione AS TIMESTAMP)",
            "drug_exposure_end_date": f"d2.data_spedizione + ({days} - 1)",
            "drug_type_concept_id": str(std.TYPE_PHARMACY_CLAIM),
            "quantity": f"{qty} * coalesce(a.pack_units, 1)",
            "days_supply": days,
            "provider_id": "d1.cf_medico_provider_id",
            "drug_source_value": "d2.codice_prodotto",
            "drug_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        src,
    )
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, sesso, data_nascita, NULL, NULL, "
            "7, NULL FROM p_pharmacy_d1 WHERE _ok"
        )
        b.con.execute(
            "INSERT INTO _provider_roles SELECT DISTINCT cf_medico_provider_id, 0, 'prescriber' "
            "FROM p_pharmacy_d1 WHERE _ok AND cf_medico_provider_id IS NOT NULL"
        )
    b.account("pharmacy_d1")
    b.account("pharmacy_d2", "progressivo_riga <> '99'")
