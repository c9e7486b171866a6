"""The chunk's care as records of every flow layout, one piece per layout and month.

Each function maps the event tables of :mod:`hospital` and :mod:`ambulatory` onto
the fields of one layout of ``bmb.domain.flows``; :func:`bmb.synth.lines.format_lines`
does the writing. Identifiers are those the flows really carry: the patient's fiscal
code (or STP/ENI code) in every PATIENT_ID field, doctors' fiscal codes in PROVIDER_ID
fields, hospital codes HSP11 + sub-site.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmb.domain import vocab
from bmb.domain.flows import LAYOUTS
from bmb.synth import lines
from bmb.synth.fixed import digits_text
from bmb.synth.names import STREETS, name_pools
from bmb.synth.population import Providers, education_at
from bmb.synth.region import Region

Table = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class Piece:
    """Records of one layout for one month from one chunk, as the file's bytes."""

    layout: str
    year: int
    month: int
    data: bytes
    records: int


def _month_key(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[M]").astype(np.int64)


def _yyyymm(days: np.ndarray) -> np.ndarray:
    months = _month_key(days)
    return np.asarray((1970 + months // 12) * 100 + months % 12 + 1)


def split_by_month(layout: str, days: np.ndarray, cols: dict[str, Any], n: int) -> list[Piece]:
    """Format records and cut them into monthly pieces (records keep their order)."""
    if n == 0:
        return []
    key = _month_key(days)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.concatenate([[0], np.nonzero(np.diff(ks))[0] + 1, [n]])
    data, offsets = lines.record_bytes(LAYOUTS[layout], cols, n, order)
    pieces = []
    for a, b in itertools.pairwise(starts):
        mk = int(ks[a])
        chunk = data[offsets[a] : offsets[b]].tobytes()
        pieces.append(Piece(layout, 1970 + mk // 12, mk % 12 + 1, chunk, int(b - a)))
    return pieces


class PersonView:
    """Per-person attributes as the flows write them, computed once per chunk."""

    def __init__(self, people: Table, region: Region, prov: Providers) -> None:
        pools = name_pools()
        cells = region.cells
        female = people["sex"] == 2
        self.cf = people["cf"].astype("U16")
        self.id_type = np.char.mod("%d", people["id_type"]).astype("U2")
        self.surname = pools.surnames[people["surname"]]
        self.first = np.where(
            female,
            pools.female[np.minimum(people["first"], len(pools.female) - 1)],
            pools.male[np.minimum(people["first"], len(pools.male) - 1)],
        )
        self.sex12 = np.where(female, "2", "1")
        self.sex_mf = np.where(female, "F", "M")
        self.birth = people["birth"]
        self.birth_istat = people["birth_istat"]
        self.citizenship = people["citizenship"]
        c = people["cell"]
        self.comune = cells.istat[c]
        self.cap = cells.cap[c]
        self.province = cells.province[c]
        self.asl = cells.asl[c]
        self.district = cells.district[c]
        self.address = np.char.add(
            np.char.add(np.array(STREETS)[people["street"]], " "), people["house"].astype("U4")
        )
        self.gp_cf = prov.gp_cf[people["gp"]].astype("U16")
        self.full_name = np.char.add(np.char.add(self.surname, " "), self.first)
        self.lab_code = np.char.add(np.char.add("0", self.asl), "0100")
        self.gp_kind = np.where(prov.gp_paediatric[people["gp"]], "P", "F")
        self.education = people["education"]
        self.region_code = region.region_code
        self.iso2 = {c.istat: c.iso2 for c in region.countries}


def _sdo_pieces(st: Table, pv: PersonView, region: Region) -> list[Piece]:
    p = st["person"]
    m = len(p)
    site = np.array([h.site for h in region.hospitals])[st["hospital"]]
    key = {"codice_istituto": site, "numero_sdo": st["numero"]}
    age = (st["admit_date"] - pv.birth[p]).astype(np.int64) / 365.25
    marital = np.where(age < 30, "1", np.where(age < 75, "2", "5"))
    a = {
        **key,
        "numero_sdo_madre": st["numero_madre"],
        "cognome": pv.surname[p],
        "nome": pv.first[p],
        "sesso": pv.sex12[p],
        "data_nascita": pv.birth[p],
        "comune_nascita": pv.birth_istat[p],
        "titolo_studio": education_at(pv.education[p], age).astype("U1"),
        "stato_civile": np.where(age < 16, "1", marital),
        "comune_residenza": pv.comune[p],
        "cittadinanza": pv.citizenship[p],
        "codice_identificativo": pv.cf[p],
        "tipo_identificativo": pv.id_type[p],
        "regione_residenza": np.full(m, pv.region_code),
        "asl_residenza": pv.asl[p],
    }
    nodot = np.char.replace
    sec = st["secondary"]
    b: dict[str, Any] = {
        **key,
        "regime": st["regime"],
        "data_prenotazione": st["booking"],
        "classe_priorita": st["priority"],
        "data_ricovero": st["admit_date"],
        "ora_ricovero": st["admit_min"],
        "reparto_ammissione": np.char.add(st["discipline"], "01"),
        "onere_degenza": np.where(pv.id_type[p] == "0", "1", "7"),
        "provenienza": st["source"],
        "tipo_ricovero": st["type"],
        "traumatismi": np.where(st["injury"], "1", ""),
        "causa_esterna": np.where(st["injury"], "E8889", ""),
        "reparto_dimissione": np.char.add(st["discipline"], "01"),
        "data_dimissione": st["discharge_date"],
        "ora_dimissione": st["discharge_min"],
        "modalita_dimissione": st["mode"],
        "riscontro_autoptico": np.where(st["mode"] == "1", "2", ""),
        "motivo_dh": np.where(st["regime"] == "2", "1", ""),
        "giornate_dh": st["dh_days"],
        "peso_nascita": st["weight"],
        "diagnosi_principale": nodot(st["diagnosis"], ".", ""),
        "poa_principale": np.full(m, "1"),
        "intervento_principale": nodot(st["procedure"], ".", ""),
        "data_intervento_principale": np.where(
            st["procedure"] != "", st["surgery_date"], np.datetime64("NaT")
        ).astype("datetime64[D]"),
        "ora_intervento_principale": np.where(st["procedure"] != "", st["surgery_min"], -1),
    }
    for i in range(5):
        b[f"diagnosi_secondaria_{i + 1}"] = nodot(sec[:, i], ".", "")
        b[f"poa_secondaria_{i + 1}"] = np.where(sec[:, i] != "", "1", "")
    day = st["discharge_date"]
    return split_by_month("sdo_a", day, a, m) + split_by_month("sdo_b", day, b, m)


def _ed_pieces(ed: Table, pv: PersonView, region: Region) -> list[Piece]:
    p = ed["person"]
    m = len(p)
    site = np.array([h.site for h in region.hospitals])[ed["hospital"]]
    out = ed["outcome"]
    obi = ed["obi"]
    obi_out_min = np.minimum(ed["exit_min"] + 600, 1439)
    nat = np.datetime64("NaT")
    foreign = pv.citizenship[p] != "100"
    iso = np.array([pv.iso2.get(c, "") for c in pv.citizenship[p]]) if m else np.array([], "U2")
    cols = {
        "identificativo": ed["id"],
        "erogatore_codice_istituto": site,
        "entrata_data": ed["entry_date"],
        "entrata_ora": ed["entry_min"],
        "modalita_arrivo": ed["arrival"],
        "responsabile_invio": ed["referral"],
        "problema_principale": ed["problem"],
        "trauma": ed["trauma"],
        "triage": ed["triage"],
        "assistito_cuni": pv.cf[p],
        "assistito_validita_ci": np.full(m, "1"),
        "assistito_tipologia_ci": pv.id_type[p],
        "anno_nascita": pv.birth[p].astype("datetime64[Y]").astype(np.int64) + 1970,
        "mese_nascita": np.where(
            (ed["entry_date"] - pv.birth[p]).astype(np.int64) < 365,
            pv.birth[p].astype("datetime64[M]").astype(np.int64) % 12 + 1,
            -1,
        ),
        "genere": pv.sex12[p],
        "cittadinanza": np.where(foreign, iso, "IT"),
        "regione_residenza": np.full(m, pv.region_code),
        "comune_residenza": pv.comune[p],
        "asl_residenza": pv.asl[p],
        "presa_in_carico_data": ed["entry_date"],
        "presa_in_carico_ora": ed["seen_min"],
        "diagnosi_principale": ed["diagnosis"],
        "prestazione_principale": ed["procedure"],
        "esito_trattamento": out,
        "esito_data": ed["exit_date"],
        "esito_ora": ed["exit_min"],
        "dimissione_data": ed["exit_date"],
        "dimissione_ora": ed["exit_min"],
        "numero_sdo": ed["numero_sdo"],
        "reparto_ricovero": ed["reparto"],
        "obi_problema_clinico": np.where(obi, ed["problem"], ""),
        "obi_ingresso_data": np.where(obi, ed["exit_date"], nat).astype("datetime64[D]"),
        "obi_ingresso_ora": np.where(obi, ed["exit_min"], -1),
        "obi_uscita_data": np.where(obi, ed["exit_date"], nat).astype("datetime64[D]"),
        "obi_uscita_ora": np.where(obi, obi_out_min, -1),
        "obi_consulenze": np.where(obi, 1, -1),
        "obi_esito": np.where(obi, "1", ""),
        "obi_diagnosi_principale": np.where(obi, ed["diagnosis"], ""),
        "onere": np.where(ed["triage"] == "5", "2", "1"),
        "importo_lordo": np.where(obi, 350.0, 180.0),
        "quota_ticket": np.where(ed["triage"] == "5", 25.0, 0.0),
        "tipo_trasmissione": np.full(m, "I"),
    }
    return split_by_month("emur", ed["entry_date"], cols, m)


def _pharmacy_pieces(
    rx: Table,
    pv: PersonView,
    region: Region,
    prov: Providers,
    chunk: int,
    exempt: np.ndarray,
    seed: int,
) -> list[Piece]:
    p = rx["person"]
    drugs = vocab.drugs()
    rng = np.random.default_rng([seed, chunk, 9])
    # One pharmacy per person, in their ASL.
    ph_of_person = np.empty(len(pv.cf), dtype=np.int64)
    for a in np.unique(pv.asl):
        pool = np.nonzero(prov.pharmacy_asl == a)[0]
        if len(pool) == 0:
            pool = np.arange(len(prov.pharmacy_code))
        rows = np.nonzero(pv.asl == a)[0]
        ph_of_person[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
    # Trailer line 99 after each prescription's lines, carrying its totals.
    last = np.ones(len(p), dtype=bool)
    last[:-1] = rx["rx"][1:] != rx["rx"][:-1]
    n_rx = int(last.sum())
    trailer_of = np.nonzero(last)[0]
    idx = np.concatenate([np.arange(len(p)), trailer_of])
    is_tr = np.concatenate([np.zeros(len(p), bool), np.ones(n_rx, bool)])
    order = np.lexsort((is_tr, rx["rx"][idx]))
    idx, is_tr = idx[order], is_tr[order]
    m = len(idx)
    pp = p[idx]
    amount = rx["price"] * rx["qty"]
    totals = np.bincount(rx["rx"], weights=amount)
    tot = totals[rx["rx"][idx]]
    free = exempt[pp]
    ticket = np.where(free, 0.0, 2.0)
    num = digits_text("0700A", (chunk, 4), (rx["rx"][idx], 7))
    line = digits_text("", (np.where(is_tr, 99, rx["line"][idx]), 2))
    ph = ph_of_person[pp]
    key = {
        "regione": np.full(m, region.region_code),
        "asl": prov.pharmacy_asl[ph],
        "farmacia": prov.pharmacy_code[ph],
        "numero_ricetta": num,
        "progressivo_riga": line,
    }
    rid = digits_text("", (chunk, 5), (np.arange(m), 15))
    d1 = {
        **key,
        "cf_medico": pv.gp_cf[pp],
        "nominativo": pv.full_name[pp],
        "sesso": pv.sex_mf[pp],
        "data_nascita": pv.birth[pp],
        "codice_fiscale": pv.cf[pp],
        "provincia_residenza": pv.province[pp],
        "regione_residenza": np.full(m, region.region_code),
        "asl_residenza": pv.asl[pp],
        "posizione_contabile": np.full(m, "1"),
        "id_record": rid,
    }
    aic = np.array([d.aic for d in drugs])[rx["drug"][idx]]
    day = rx["day"][idx]
    d2 = {
        **key,
        "data_prescrizione": rx["prescribed"][idx],
        "data_spedizione": day,
        "mese_contabile": digits_text("", (_yyyymm(day), 6)),
        "codice_prodotto": np.where(is_tr, "", aic),
        "quantita": np.where(is_tr, -1, rx["qty"][idx]),
        "prezzo_unitario": np.where(is_tr, np.nan, rx["price"][idx]),
        "sconto": np.where(is_tr, np.nan, 3.75),
        "posizione_ticket": np.where(free, "1", "3"),
        "importo_assistito": np.where(is_tr, ticket, np.nan),
        "importo_totale": np.where(is_tr, tot, amount[idx]),
        "tipo_trasmissione": np.full(m, "1"),
    }
    return split_by_month("pharmacy_d1", day, d1, m) + split_by_month("pharmacy_d2", day, d2, m)


def _outpatient_pieces(
    op: Table,
    pv: PersonView,
    region: Region,
    prov: Providers,
    chunk: int,
    exempt_code: np.ndarray,
    seed: int,
) -> list[Piece]:
    p = op["person"]
    m = len(p)
    rng = np.random.default_rng([seed, chunk, 10])
    services = vocab.outpatient_services()
    svc = op["service"]
    codes = np.array([s.code for s in services])[svc]
    branch = np.array([s.branch for s in services])[svc]
    tariff = np.array([s.tariff for s in services])[svc]
    kind = np.array([s.kind for s in services])[svc]
    lab = np.isin(kind, ["lab", "sampling"])
    asl_code = pv.asl[p]
    struct = np.char.add(np.char.add("0", asl_code), np.where(lab, "01", "02"))
    num = digits_text("0700B", (chunk, 4), (op["rx"], 7))
    key = {
        "regione": np.full(m, region.region_code),
        "zona": asl_code,
        "struttura_accettante": struct,
        "numero_ricetta": num,
        "progressivo_riga": digits_text("", (op["line"], 2)),
    }
    spec = prov.specialist_cf[rng.integers(0, len(prov.specialist_cf), size=m)].astype("U16")
    rid = digits_text("", (chunk, 5), (np.arange(m), 15))
    follow = codes == "89.01"
    c1 = {
        **key,
        "struttura_erogante": struct,
        "tipo_prescrittore": np.where(follow, "A", pv.gp_kind[p]),
        "cf_prescrittore": np.where(follow, spec, pv.gp_cf[p]),
        "cf_medico_erogatore": np.where(lab, "", spec),
        "cognome": pv.surname[p],
        "nome": pv.first[p],
        "sesso": pv.sex_mf[p],
        "data_nascita": pv.birth[p],
        "codice_fiscale": pv.cf[p],
        "comune_residenza": pv.comune[p],
        "regione_residenza": np.full(m, region.region_code),
        "asl_residenza": asl_code,
        "posizione_contabile": np.full(m, "1"),
        "modalita_prescrizione": np.full(m, "2"),
        "onere": np.full(m, "1"),
        "id_record": rid,
        "cittadinanza": pv.citizenship[p],
    }
    ex = exempt_code[p]
    has_ex = ex != ""
    ticket = np.where(has_ex, 0.0, np.round(tariff, 2))
    day = op["day"]
    presc = day - rng.integers(1, 40, size=m).astype("timedelta64[D]")
    c2 = {
        **key,
        "priorita": np.where(lab, "Z", rng.choice(np.array(["B", "D", "P"]), size=m)),
        "tipo_ricetta": np.full(m, "A"),
        "flag_ps": np.full(m, "0"),
        "flag_pac": np.full(m, "0"),
        "flag_ciclo": np.full(m, "0"),
        "data_prescrizione": presc,
        "data_prenotazione": presc + np.timedelta64(1, "D"),
        "data_erogazione": day,
        "data_referto": np.where(lab, day + np.timedelta64(2, "D"), day),
        "modalita_accesso": np.where(op["screening"], "12", "10"),
        "tipo_accesso": np.where(follow, "2", "1"),
        "quesito_presente": np.full(m, "0"),
        "flag_nomenclatore": np.full(m, "N"),
        "branca": branch,
        "codice_prestazione": codes,
        "quantita": np.ones(m, dtype=np.int64),
        "tariffa": tariff,
        "sconto": np.zeros(m),
        "tipo_esenzione": np.where(has_ex, "3", "1"),
        "codice_esenzione": ex,
        "quota_fissa_tipo": np.where(has_ex, "Z", "A"),
        "ticket": ticket,
        "quota_fissa": np.where(has_ex, 0.0, 0.0),
        "importo_totale": tariff,
    }
    return split_by_month("outpatient_c1", day, c1, m) + split_by_month("outpatient_c2", day, c2, m)
