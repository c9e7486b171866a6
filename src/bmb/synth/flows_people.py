"""Registry, exemptions, deaths and lab results as records of their layouts.

The registry and the exemptions are snapshots: one file per year (month 01) listing
every coverage spell or exemption active at some time in that year, each record key
once, with its end date when the end falls in that year or before (a later end is not
known yet). A reader keeps the latest version of each record key. Deaths and lab
results are monthly, by date of death and of sampling.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bmb.domain import vocab
from bmb.synth.calendar import calendar_year, period_end, year_bounds
from bmb.synth.fixed import digits_text
from bmb.synth.flows import PersonView, Piece, split_by_month
from bmb.synth.health import Health, load_model
from bmb.synth.population import Providers
from bmb.synth.region import Region

Table = dict[str, np.ndarray]


def _yearly(
    layout: str,
    rows_by_year: list[tuple[int, np.ndarray, np.datetime64]],
    cols_of: Callable[[np.ndarray, np.datetime64], dict[str, object]],
) -> list[Piece]:
    """One piece per year, in the file of month 01 of that year."""
    out: list[Piece] = []
    for year, rows, y1 in rows_by_year:
        day = np.full(len(rows), np.datetime64(f"{year}-01-01"), dtype="datetime64[D]")
        out += split_by_month(layout, day, cols_of(rows, y1), len(rows))
    return out


def _known_by(ends: np.ndarray, y1: np.datetime64) -> np.ndarray:
    """End dates as a snapshot of the year ending before ``y1`` knows them."""
    return np.where(~np.isnat(ends) & (ends < y1), ends, np.datetime64("NaT")).astype(
        "datetime64[D]"
    )


def registry_pieces(
    people: Table, health: Health, pv: PersonView, start: np.datetime64, years: int
) -> list[Piece]:
    first = health.start_of
    stop = health.end_of
    end = period_end(start, years)
    # The day coverage ended (death or emigration); NaT when still covered at the end.
    ended = np.where(stop < end, stop, np.datetime64("NaT")).astype("datetime64[D]")
    reason = np.where(~np.isnat(health.death), "1", np.where(~np.isnat(people["leave"]), "2", ""))

    def cols(r: np.ndarray, y1: np.datetime64) -> dict[str, object]:
        fine = _known_by(ended[r], y1)
        return {
            "codice_fiscale": pv.cf[r],
            "tipo_identificativo": pv.id_type[r],
            "cognome": pv.surname[r],
            "nome": pv.first[r],
            "sesso": pv.sex_mf[r],
            "data_nascita": pv.birth[r],
            "comune_nascita": pv.birth_istat[r],
            "cittadinanza": pv.citizenship[r],
            "comune_residenza": pv.comune[r],
            "indirizzo": pv.address[r],
            "cap": pv.cap[r],
            "asl": pv.asl[r],
            "distretto": pv.district[r],
            "cf_medico": pv.gp_cf[r],
            "tipo_medico": pv.gp_kind[r],
            "data_inizio_assistenza": people["entry"][r],
            "data_fine_assistenza": fine,
            "motivo_fine": np.where(np.isnat(fine), "", reason[r]),
        }

    by_year = []
    for y in range(years):
        y0, y1 = year_bounds(start, y)
        # Covered on at least one day of the year: first <= day < stop.
        rows = np.nonzero((first < y1) & (stop > y0) & (first < stop))[0]
        by_year.append((calendar_year(start, y), rows, y1))
    return _yearly("registry", by_year, cols)


def exemption_pieces(
    ex: Table,
    pv: PersonView,
    prov: Providers,
    start: np.datetime64,
    years: int,
    seed: int,
    chunk: int,
) -> list[Piece]:
    m = len(ex["person"])
    ids = digits_text("E", (chunk, 4), (np.arange(m), 7))
    rng = np.random.default_rng([seed, chunk, 11])
    doc = prov.specialist_cf[rng.integers(0, len(prov.specialist_cf), size=m)].astype("U16")
    p = ex["person"]

    def cols(r: np.ndarray, y1: np.datetime64) -> dict[str, object]:
        return {
            "id_esenzione": ids[r],
            "codice_fiscale": pv.cf[p[r]],
            "tipo_identificativo": pv.id_type[p[r]],
            "codice_esenzione": ex["code"][r],
            "diagnosi": ex["icd"][r],
            "data_inizio": ex["begin"][r],
            "data_fine": _known_by(ex["end"][r], y1),
            "asl_rilascio": pv.asl[p[r]],
            "cf_medico_certificatore": doc[r],
        }

    by_year = []
    for y in range(years):
        y0, y1 = year_bounds(start, y)
        active = (ex["begin"] < y1) & (np.isnat(ex["end"]) | (ex["end"] >= y0))
        by_year.append((calendar_year(start, y), np.nonzero(active)[0], y1))
    return _yearly("exemptions", by_year, cols)


def death_pieces(
    people: Table,
    health: Health,
    pv: PersonView,
    stays: Table,
    region: Region,
    seed: int,
    chunk: int,
) -> tuple[list[Piece], np.ndarray]:
    """Death records, and each death's ICD-10 underlying cause (for the truth)."""
    rng = np.random.default_rng([seed, chunk, 12])
    model = load_model()
    who = np.nonzero(~np.isnat(health.death))[0]
    m = len(who)
    causes = vocab.death_causes()
    by_cond: dict[str, list[str]] = {}
    other = [c.code for c in causes if not c.condition]
    for c in causes:
        if c.condition:
            by_cond.setdefault(c.condition, []).append(c.code)
    has = ~np.isnat(health.onset[who])
    # The underlying cause: the deadliest condition the person has, else another cause.
    score = np.where(has, model.hr_death[None, :] + rng.random(has.shape) * 0.8, -1.0)
    j = score.argmax(axis=1)
    cond_names = model.names
    cause = np.array(
        [
            by_cond[cond_names[jj]][rng.integers(0, len(by_cond[cond_names[jj]]))]
            if score[i, jj] >= 0 and cond_names[jj] in by_cond
            else other[rng.integers(0, 12)]
            for i, jj in enumerate(j)
        ],
        dtype="U5",
    )
    # Where: in hospital when a stay ends with discharge mode 1.
    term = stays["terminal"] & (stays["mode"] == "1")
    hosp_of = np.full(len(people["pid"]), -1, dtype=np.int64)
    hosp_of[stays["person"][term]] = stays["hospital"][term]
    in_h = hosp_of[who] >= 0
    place = np.where(in_h, "1", rng.choice(np.array(["2", "3", "4"]), size=m, p=[0.6, 0.3, 0.1]))
    site = np.array([h.site for h in region.hospitals] + [""])[hosp_of[who]]
    ids = digits_text("D", (chunk, 4), (np.arange(m), 7))
    cols = {
        "id_scheda": ids,
        "codice_fiscale": pv.cf[who],
        "tipo_identificativo": pv.id_type[who],
        "data_decesso": health.death[who],
        "ora_decesso": rng.integers(0, 1440, size=m),
        "comune_decesso": pv.comune[who],
        "luogo_decesso": place,
        "codice_istituto": np.where(in_h, site, ""),
        "causa_iniziale": cause,
        "causa_intermedia": np.where(rng.random(m) < 0.4, "J18.9", ""),
        "causa_terminale": np.where(rng.random(m) < 0.5, "J96.0", "I46.9"),
        "riscontro_autoptico": np.full(m, "2"),
    }
    full = np.full(len(people["pid"]), "", dtype="U5")
    full[who] = cause
    return split_by_month("deaths", health.death[who], cols, m), full


def lab_pieces(labs: Table, pv: PersonView, chunk: int) -> list[Piece]:
    tests = vocab.lab_tests()
    m = len(labs["person"])
    p = labs["person"]
    t = labs["test"]
    lo = np.array([x.low for x in tests])[t]
    hi = np.array([x.high for x in tests])[t]
    v = labs["value"]
    flag = np.where(v > hi, "H", np.where(v < lo, "L", "N"))
    ids = digits_text("L", (chunk, 4), (np.arange(m), 11))
    cols = {
        "id_risultato": ids,
        "codice_fiscale": pv.cf[p],
        "tipo_identificativo": pv.id_type[p],
        "codice_laboratorio": pv.lab_code[p],
        "data_prelievo": labs["day"],
        "ora_prelievo": labs["minute"],
        "codice_prestazione": labs["catalogue"],
        "codice_loinc": labs["loinc"],
        "descrizione": labs["description"],
        "valore": labs["text"],
        "unita": labs["unit"],
        "valore_min": np.array([f"{x.low:g}" for x in tests])[t],
        "valore_max": np.array([f"{x.high:g}" for x in tests])[t],
        "flag": flag,
    }
    return split_by_month("labs", labs["day"], cols, m)
