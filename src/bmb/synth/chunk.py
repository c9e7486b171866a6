"""One chunk of the region, from people to file pieces: the unit of parallel work.

Everything a chunk draws comes from seeds ``(seed, chunk, step)``, so its pieces are
the same whichever worker makes them and in whatever order; the writer appends them
in chunk order, which makes the files byte-identical for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from bmb.domain import vocab
from bmb.domain.flows import LAYOUTS
from bmb.synth import ambulatory, faults, fhir, flows, flows_people, health, hospital
from bmb.synth.population import Providers
from bmb.synth.region import load_region

Table = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class Job:
    seed: int
    chunk: int
    region: str
    start: np.datetime64
    years: int
    people: Table
    providers: Providers
    error_rate: float
    formats: tuple[str, ...]


@dataclass(slots=True)
class ChunkResult:
    chunk: int
    flow_pieces: list[tuple[str, int, int, bytes, int, list[faults.Fault]]] = field(
        default_factory=list
    )
    fhir: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    truth_persons: pa.Table | None = None
    truth_years: pa.Table | None = None
    persons: int = 0


def _bytes(lines: pa.Array) -> bytes:
    from bmb.synth.lines import to_bytes

    return to_bytes(lines)


def run(job: Job) -> ChunkResult:
    region = load_region(job.region)
    people = job.people
    h = health.simulate(people, job.start, job.years, job.seed, job.chunk)
    ed, stays = hospital.generate(people, h, region, job.start, job.years, job.seed, job.chunk)
    rx = ambulatory.pharmacy(people, h, job.start, job.years, job.seed, job.chunk)
    op = ambulatory.outpatient(people, h, job.start, job.years, job.seed, job.chunk)
    ex = ambulatory.exemption_rows(people, h, job.start, job.seed, job.chunk)
    labs = _labs(people, h, op, job)
    pv = flows.PersonView(people, region, job.providers)
    n = len(people["pid"])
    exempt_any = np.zeros(n, dtype=bool)
    exempt_any[ex["person"]] = True
    age = (job.start - people["birth"]).astype(np.int64) / 365.25
    exempt_any |= age >= 65
    # Flusso C carries the condition code of the exemption without its ICD-9-CM
    # sub-code (013, 0A02, 048): its field is 6 characters wide.
    ex_code = np.full(n, "", dtype="U8")
    ex_code[ex["person"]] = np.char.partition(ex["code"].astype("U8"), ".")[:, 0]
    result = ChunkResult(job.chunk, persons=n)
    deaths_pieces, cause = flows_people.death_pieces(
        people, h, pv, stays, region, job.seed, job.chunk
    )
    if "flows" in job.formats:
        pieces = (
            flows._sdo_pieces(stays, pv, region)
            + flows._ed_pieces(ed, pv, region)
            + flows._pharmacy_pieces(rx, pv, region, job.providers, job.chunk, exempt_any, job.seed)
            + flows._outpatient_pieces(op, pv, region, job.providers, job.chunk, ex_code, job.seed)
            + flows_people.registry_pieces(people, h, pv, job.start, job.years)
            + flows_people.exemption_pieces(
                ex, pv, job.providers, job.start, job.years, job.seed, job.chunk
            )
            + deaths_pieces
            + flows_people.lab_pieces(labs, pv, job.chunk)
        )
        rng = np.random.default_rng([job.seed, job.chunk, 13])
        for pc_ in pieces:
            lines, fl = faults.inject(LAYOUTS[pc_.layout], pc_.lines, job.error_rate, rng)
            result.flow_pieces.append(
                (pc_.layout, pc_.year, pc_.month, _bytes(lines), len(lines), fl)
            )
    if "fhir" in job.formats:
        result.fhir = _fhir(people, h, pv, ed, stays, rx, op, labs, region)
    result.truth_persons, result.truth_years = _truth(people, h, cause, job)
    return result


def _labs(people: Table, h: health.Health, op: Table, job: Job) -> Table:
    services = vocab.outpatient_services()
    tests = {t.loinc: t for t in vocab.lab_tests()}
    kind = np.array([s.kind for s in services])[op["service"]]
    sel = np.nonzero(kind == "lab")[0]
    loinc = np.array([s.loinc for s in services])[op["service"][sel]]
    who = op["person"][sel]
    day = op["day"][sel]
    val = ambulatory.lab_values(people, h, who, day, loinc, job.seed, job.chunk)
    dec = np.array([tests[c].decimals for c in loinc]) if len(sel) else np.zeros(0, np.int64)
    text = np.empty(len(sel), dtype="U12")
    for d in range(4):
        m = dec == d
        text[m] = np.char.mod(f"%.{d}f", np.round(val[m], d))
    minute = 7 * 60 + (op["rx"][sel] * 7) % 180
    return {
        "person": who,
        "day": day,
        "minute": minute,
        "loinc": loinc,
        "catalogue": np.array([s.code for s in services])[op["service"][sel]],
        "description": np.array([tests[c].description[:60] for c in loinc], dtype="U60")
        if len(sel)
        else np.zeros(0, "U1"),
        "unit": np.array([tests[c].unit for c in loinc]) if len(sel) else np.zeros(0, "U1"),
        "value": val,
        "text": text,
        "rx": op["rx"][sel],
    }


def _fhir(
    people: Table,
    h: health.Health,
    pv: flows.PersonView,
    ed: Table,
    stays: Table,
    rx: Table,
    op: Table,
    labs: Table,
    region: object,
) -> dict[str, tuple[bytes, int]]:
    pid = people["pid"]
    conds = vocab.conditions()
    out: dict[str, list[pa.Array]] = {}

    def add(kind: str, arr: pa.Array) -> None:
        if len(arr):
            out.setdefault(kind, []).append(arr)

    add("Patient", fhir.patients(people, pv, h))
    # Encounters: stays (IMP), ED visits (EMER), outpatient prescriptions (AMB).
    s_id = np.char.add("sdo-", stays["numero"].astype("U8"))
    s_id = np.char.add(np.char.add(s_id, "-"), stays["hospital"].astype("U3"))
    add(
        "Encounter",
        fhir.encounters(
            s_id,
            "IMP",
            "inpatient encounter",
            pid[stays["person"]],
            stays["admit_date"],
            stays["admit_min"],
            stays["discharge_date"],
            stays["discharge_min"],
        ),
    )
    e_id = np.char.add("ps-", ed["id"].astype("U16"))
    add(
        "Encounter",
        fhir.encounters(
            e_id,
            "EMER",
            "emergency",
            pid[ed["person"]],
            ed["entry_date"],
            ed["entry_min"],
            ed["exit_date"],
            ed["exit_min"],
        ),
    )
    first_line = op["line"] == 1
    a_id = np.char.add(
        "amb-",
        np.char.add(pid[op["person"]].astype("U20"), np.char.add("-", op["rx"].astype("U10"))),
    )
    add(
        "Encounter",
        fhir.encounters(
            a_id[first_line],
            "AMB",
            "ambulatory",
            pid[op["person"][first_line]],
            op["day"][first_line],
            np.full(first_line.sum(), 8 * 60),
            op["day"][first_line],
            np.full(first_line.sum(), 9 * 60),
        ),
    )
    # Conditions: the problem list (chronic conditions with onset), and stay diagnoses.
    who, j = np.nonzero(~np.isnat(h.onset))
    icd9 = np.array([c.icd9cm for c in conds])[j]
    icd10 = np.array([c.icd10 for c in conds])[j]
    c_id = np.char.add(np.char.add("c-", pid[who].astype("U20")), np.char.add("-", j.astype("U2")))
    add(
        "Condition",
        fhir.conditions(c_id, pid[who], icd9, icd10, h.onset[who, j], "problem-list-item"),
    )
    d_id = np.char.add(s_id, "-dx")
    add(
        "Condition",
        fhir.conditions(
            d_id,
            pid[stays["person"]],
            stays["diagnosis"],
            np.full(len(d_id), ""),
            stays["admit_date"],
            "encounter-diagnosis",
            s_id,
        ),
    )
    hasp = stays["procedure"] != ""
    add(
        "Procedure",
        fhir.procedures(
            np.char.add(s_id[hasp], "-px"),
            pid[stays["person"][hasp]],
            stays["procedure"][hasp],
            stays["admit_date"][hasp],
            s_id[hasp],
        ),
    )
    l_enc = np.char.add(
        "amb-",
        np.char.add(pid[labs["person"]].astype("U20"), np.char.add("-", labs["rx"].astype("U10"))),
    )
    l_id = np.char.add(np.char.add(l_enc, "-"), labs["loinc"])
    add(
        "Observation",
        fhir.observations(
            l_id,
            pid[labs["person"]],
            labs["loinc"],
            labs["description"],
            labs["text"],
            labs["unit"],
            labs["day"],
            labs["minute"],
            l_enc,
        ),
    )
    drugs = vocab.drugs()
    d = rx["drug"]
    md_id = np.char.add(
        np.char.add("md-", rx["rx"].astype("U12")), np.char.add("-", rx["line"].astype("U2"))
    )
    md_id = np.char.add(np.char.add(md_id, "-"), pid[rx["person"]].astype("U20"))
    add(
        "MedicationDispense",
        fhir.dispenses(
            md_id,
            pid[rx["person"]],
            np.array([x.aic for x in drugs])[d],
            np.array([x.atc for x in drugs])[d],
            np.array([x.product for x in drugs])[d],
            rx["qty"],
            rx["day"],
        ),
    )
    return {k: (_bytes(pa.concat_arrays(v)), sum(len(a) for a in v)) for k, v in out.items()}


def _truth(
    people: Table, h: health.Health, cause: np.ndarray, job: Job
) -> tuple[pa.Table, pa.Table]:
    conds = vocab.conditions()
    cols: dict[str, object] = {
        "person_key": people["pid"],
        "fiscal_code": people["cf"].astype("U16"),
        "sex": people["sex"],
        "birth_date": people["birth"],
        "entry_date": people["entry"],
        "entry_kind": people["entry_kind"],
        "observed_from": h.start_of,
        "observed_to": h.end_of,
        "death_date": h.death,
        "death_cause_icd10": cause,
        "emigration_date": people["leave"],
        "frailty": h.frailty,
    }
    for j, c in enumerate(conds):
        cols[f"onset_{c.condition}"] = h.onset[:, j]
        cols[f"exempt_{c.condition}"] = h.exempt[:, j]
    persons = pa.table({k: pa.array(v) for k, v in cols.items()})
    n, years = h.risk_death.shape
    start_year = int(str(job.start)[:4])
    yr = {
        "person_key": np.repeat(people["pid"], years),
        "year": np.tile(np.arange(years) + start_year, n),
        "p_death": h.risk_death.reshape(-1),
        "expected_admissions": h.risk_admit.reshape(-1),
        "expected_ed_visits": h.risk_ed.reshape(-1),
    }
    keep = yr["p_death"] > 0
    years_t = pa.table({k: pa.array(v[keep]) for k, v in yr.items()})
    return persons, years_t
