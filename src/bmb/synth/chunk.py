"""One chunk of the region, from people to file pieces: the unit of parallel work.

Everything a chunk draws comes from seeds ``(seed, chunk, step)``, so its pieces are
the same whichever worker makes them and in whatever order; the writer appends them
in chunk order, which makes the files byte-identical for a seed.

Pieces leave the chunk as soon as they are made, through a :class:`Sink`: straight
into the output files when the chunk runs in the writing process, or into a spill
file when it runs in a worker process (:func:`run_spilled`). A worker then sends
back only where each piece is, not hundreds of megabytes through a pipe, and holds
one layout's records at a time rather than the whole chunk's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from bmb.domain import vocab
from bmb.domain.flows import LAYOUTS
from bmb.synth import ambulatory, faults, fhir, flows, flows_people, health, hospital, pharmacy
from bmb.synth.lines import decimals_text
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
    spill: Path | None = None  # folder for the spill file when run in a worker


class Sink(Protocol):
    """Where a chunk's pieces go: ``kind`` is "flow" (name = layout) or "fhir" (type)."""

    def put(
        self,
        kind: str,
        name: str,
        year: int,
        month: int,
        data: bytes,
        records: int,
        faults: list[faults.Fault],
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """A piece in a spill file: what it is, and its byte range."""

    kind: str
    name: str
    year: int
    month: int
    offset: int
    length: int
    records: int
    faults: tuple[faults.Fault, ...]


class SpillSink:
    """Appends pieces to one file and remembers where each is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("wb")
        self.entries: list[Entry] = []
        self.size = 0

    def put(
        self,
        kind: str,
        name: str,
        year: int,
        month: int,
        data: bytes,
        records: int,
        faults: list[faults.Fault],
    ) -> None:
        self.file.write(data)
        self.entries.append(
            Entry(kind, name, year, month, self.size, len(data), records, tuple(faults))
        )
        self.size += len(data)

    def close(self) -> None:
        self.file.close()


@dataclass(slots=True)
class ChunkResult:
    chunk: int
    persons: int = 0
    truth_persons: pa.Table | None = None
    truth_years: pa.Table | None = None
    spill: Path | None = None
    entries: list[Entry] = field(default_factory=list)


def run_spilled(job: Job) -> ChunkResult:
    """Run a chunk in a worker process: pieces go to ``<spill>/chunk-<n>.bin``."""
    assert job.spill is not None
    sink = SpillSink(job.spill / f"chunk-{job.chunk:05d}.bin")
    try:
        result = run(job, sink)
    finally:
        sink.close()
    result.spill = sink.path
    result.entries = sink.entries
    return result


def run(job: Job, sink: Sink) -> ChunkResult:
    """Generate a chunk's care and put its pieces, flows then FHIR, into ``sink``."""
    region = load_region(job.region)
    people = job.people
    h = health.simulate(people, job.start, job.years, job.seed, job.chunk)
    ed, stays = hospital.generate(people, h, region, job.start, job.years, job.seed, job.chunk)
    rx = pharmacy.dispensing(people, h, job.start, job.years, job.seed, job.chunk)
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
        rng = np.random.default_rng([job.seed, job.chunk, 13])
        makers: tuple[Callable[[], list[flows.Piece]], ...] = (
            lambda: flows._sdo_pieces(stays, pv, region),
            lambda: flows._ed_pieces(ed, pv, region),
            lambda: flows._pharmacy_pieces(
                rx, pv, region, job.providers, job.chunk, exempt_any, job.seed
            ),
            lambda: flows._outpatient_pieces(
                op, pv, region, job.providers, job.chunk, ex_code, job.seed
            ),
            lambda: flows_people.registry_pieces(people, h, pv, job.start, job.years),
            lambda: flows_people.exemption_pieces(
                ex, pv, job.providers, job.start, job.years, job.seed, job.chunk
            ),
            lambda: deaths_pieces,
            lambda: flows_people.lab_pieces(labs, pv, job.chunk),
        )
        for make in makers:
            for piece in make():
                data, n_lines, fl = faults.inject(
                    LAYOUTS[piece.layout], piece.data, piece.records, job.error_rate, rng
                )
                sink.put("flow", piece.layout, piece.year, piece.month, data, n_lines, fl)
    if "fhir" in job.formats:
        for rtype, (data, count) in fhir.chunk_resources(
            people, h, pv, ed, stays, rx, op, labs
        ).items():
            sink.put("fhir", rtype, 0, 0, data, count, [])
    result.truth_persons, result.truth_years = _truth(people, h, cause, job)
    return result


def _labs(people: Table, h: health.Health, op: Table, job: Job) -> Table:
    """Lab results: one per lab line of the outpatient prescriptions."""
    services = vocab.outpatient_services()
    tests = vocab.lab_tests()
    t_ix = {t.loinc: i for i, t in enumerate(tests)}
    test_of_service = np.array([t_ix.get(s.loinc, -1) for s in services])
    is_lab = np.array([s.kind == "lab" for s in services])
    sel = np.nonzero(is_lab[op["service"]])[0]
    test = test_of_service[op["service"][sel]]
    loinc = np.array([t.loinc for t in tests])[test]
    who = op["person"][sel]
    day = op["day"][sel]
    val = ambulatory.lab_values(people, h, who, day, loinc, job.seed, job.chunk)
    decimals = np.array([t.decimals for t in tests])[test]
    return {
        "person": who,
        "day": day,
        "minute": 7 * 60 + (op["rx"][sel] * 7) % 180,
        "test": test,
        "loinc": loinc,
        "catalogue": np.array([s.code for s in services])[op["service"][sel]],
        "description": pa.array([t.description[:60] for t in tests]).take(pa.array(test)),
        "unit": pa.array([t.unit for t in tests]).take(pa.array(test)),
        "value": val,
        "text": decimals_text(val, decimals),
        "rx": op["rx"][sel],
    }


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
