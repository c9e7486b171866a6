"""Flow mappers: each flow's own checks and its rows in the OMOP CDM.

A mapper receives the batch with one typed temp table per layout of its flow
(``p_<layout>``, pseudonymized; ``_ok`` is true for a record without errors so far),
adds the checks that need more than one field or more than one file
(:meth:`Batch.add_error` and its helpers), and writes CDM rows from the ``_ok`` records.
It also names the records it does not map on purpose (control records, such as a
prescription's trailer line) so that every record is accounted for.
"""

from __future__ import annotations

from collections.abc import Callable

from bmb.pipeline.batch import Batch
from bmb.pipeline.maps import (
    deaths,
    emur,
    exemptions,
    labs,
    outpatient,
    pharmacy,
    registry,
    sdo,
)

Mapper = Callable[[Batch], None]

MAPPERS: dict[str, Mapper] = {
    "registry": registry.map_registry,
    "sdo": sdo.map_sdo,
    "emur": emur.map_emur,
    "pharmacy": pharmacy.map_pharmacy,
    "outpatient": outpatient.map_outpatient,
    "exemptions": exemptions.map_exemptions,
    "deaths": deaths.map_deaths,
    "labs": labs.map_labs,
}
