"""Care used and its standard cost in the 12 months before an anchor date.

Stratification (resource-use bands) and risk prediction (prior use is the strongest
predictor of future use) both need, per person and anchor: hospital stays (unplanned,
planned, day hospital, bed-days), emergency visits (by triage), outpatient visits and
services, dispensings and distinct drug classes, lab tests, and what all that cost.

Costs are *standard* costs: drugs at the AIC pack price and outpatient services at
the catalogue tariff (both in BMB's code tables, :mod:`bmb.domain.vocab`), hospital
days and emergency visits at the unit costs of the pyramid configuration, because the
CDM carries no DRG weight or invoice. Comparable between people, not an accounting.
"""

from __future__ import annotations

import pyarrow as pa

from bmb.analytics.cdmsql import EMERGENCY, INPATIENT, OUTPATIENT, once
from bmb.domain import vocab
from bmb.domain.stratification import Costs
from bmb.engines.base import Engine
from bmb.engines.capabilities import load_arrow, materialize

PRICES_TABLE = "bmb_drug_prices"
TARIFFS_TABLE = "bmb_service_tariffs"
DRUG_ATC_TABLE = "bmb_drug_atc"

#: Columns :func:`utilization_sql` adds to each anchor.
COLUMNS = (
    "ip_stays",
    "ip_unplanned",
    "ip_planned",
    "ip_day_hospital",
    "ip_bed_days",
    "days_since_admission",
    "ed_visits",
    "ed_urgent",
    "op_visits",
    "op_services",
    "rx_dispensings",
    "rx_classes",
    "lab_tests",
    "cost_inpatient",
    "cost_emergency",
    "cost_outpatient",
    "cost_pharmacy",
    "cost_total",
)


def load_reference_tables(engine: Engine) -> None:
    """Prices, tariffs and each drug concept's ATC classes, as engine tables (once)."""
    once(engine, "utilization reference tables", lambda: _load(engine))


def _load(engine: Engine) -> None:
    drugs = vocab.drugs()
    load_arrow(
        engine,
        PRICES_TABLE,
        pa.table(
            {
                "aic": [d.aic for d in drugs],
                "price": [d.price for d in drugs],
                "pack_units": [d.pack_units for d in drugs],
            }
        ),
    )
    services = vocab.outpatient_services()
    load_arrow(
        engine,
        TARIFFS_TABLE,
        pa.table({"code": [s.code for s in services], "tariff": [s.tariff for s in services]}),
    )
    materialize(
        engine,
        DRUG_ATC_TABLE,
        """
        SELECT ca.descendant_concept_id AS drug_concept_id, c.concept_code AS atc,
               length(c.concept_code) AS atc_length
        FROM concept c JOIN concept_ancestor ca ON ca.ancestor_concept_id = c.concept_id
        WHERE c.vocabulary_id = 'ATC' AND ca.descendant_concept_id <> c.concept_id
        """,
    )


def _window(d: str) -> str:
    return f"{d} <= a.anchor_date AND {d} > a.anchor_date - INTERVAL 1 YEAR"


def utilization_sql(anchors: str, costs: Costs) -> str:
    """Use and cost per anchor (``anchors``: person_id, anchor_date, unique pairs).

    Needs :func:`load_reference_tables` first. The window is the 12 months ending on
    the anchor date (for 31 December: that calendar year).
    """
    triage = " ".join(f"WHEN '{k}' THEN {v}" for k, v in costs.emergency_by_triage.items())
    regime = "regexp_extract(v.visit_source_value, 'regime (\\d)', 1)"
    kind = "regexp_extract(v.visit_source_value, 'type (\\d)', 1)"
    los = "greatest(1, date_diff('day', v.visit_start_date, v.visit_end_date))"
    return f"""
        WITH a AS ({anchors}),
        span AS (SELECT min(anchor_date) - INTERVAL 1 YEAR AS lo, max(anchor_date) AS hi FROM a),
        ip AS (
            SELECT a.person_id, a.anchor_date,
                   count(*) AS ip_stays,
                   count(*) FILTER (WHERE {kind} IN ('2', '3') AND {regime} <> '2')
                       AS ip_unplanned,
                   count(*) FILTER (WHERE {kind} IN ('1', '4') AND {regime} <> '2')
                       AS ip_planned,
                   count(*) FILTER (WHERE {regime} = '2') AS ip_day_hospital,
                   sum(CASE WHEN {regime} = '2' THEN 0 ELSE {los} END) AS ip_bed_days,
                   min(date_diff('day', v.visit_start_date, a.anchor_date))
                       AS days_since_admission,
                   sum(CASE WHEN {regime} = '2' THEN {costs.day_hospital_access}
                       ELSE {costs.inpatient_first_day} + ({los} - 1) * {costs.inpatient_per_day}
                       END) AS cost_inpatient
            FROM a JOIN visit_occurrence v ON v.person_id = a.person_id
            WHERE v.visit_concept_id = {INPATIENT} AND {_window("v.visit_start_date")}
            GROUP BY ALL
        ),
        ed AS (
            SELECT a.person_id, a.anchor_date, count(*) AS ed_visits,
                   count(*) FILTER (WHERE t.value_as_string IN ('1', '2', 'R', 'G'))
                       AS ed_urgent,
                   sum(CASE t.value_as_string {triage} ELSE {costs.emergency_default} END)
                       AS cost_emergency
            FROM a JOIN visit_occurrence v ON v.person_id = a.person_id
            LEFT JOIN observation t ON t.visit_occurrence_id = v.visit_occurrence_id
                 AND t.observation_source_value = 'triage'
            WHERE v.visit_concept_id = {EMERGENCY} AND {_window("v.visit_start_date")}
            GROUP BY ALL
        ),
        op_visits AS (
            SELECT v.visit_occurrence_id, v.person_id, v.visit_start_date
            FROM visit_occurrence v, span
            WHERE v.visit_concept_id = {OUTPATIENT}
              AND v.visit_start_date > span.lo AND v.visit_start_date <= span.hi
              AND v.person_id IN (SELECT person_id FROM a)
        ),
        op_lines AS (
            SELECT visit_occurrence_id, procedure_source_value AS code,
                   coalesce(quantity, 1) AS qty FROM procedure_occurrence
            WHERE visit_occurrence_id IN (SELECT visit_occurrence_id FROM op_visits)
            UNION ALL
            SELECT visit_occurrence_id, measurement_source_value, 1 FROM measurement
            WHERE visit_occurrence_id IN (SELECT visit_occurrence_id FROM op_visits)
        ),
        op_cost AS (
            SELECT l.visit_occurrence_id, count(*) AS services,
                   sum(l.qty * coalesce(t.tariff, {costs.outpatient_default})) AS cost
            FROM op_lines l LEFT JOIN {TARIFFS_TABLE} t ON t.code = l.code
            GROUP BY 1
        ),
        op AS (
            SELECT a.person_id, a.anchor_date, count(*) AS op_visits,
                   sum(coalesce(c.services, 0)) AS op_services,
                   sum(coalesce(c.cost, 0)) AS cost_outpatient
            FROM a JOIN op_visits v ON v.person_id = a.person_id
            LEFT JOIN op_cost c ON c.visit_occurrence_id = v.visit_occurrence_id
            WHERE {_window("v.visit_start_date")}
            GROUP BY ALL
        ),
        rx AS (
            SELECT a.person_id, a.anchor_date, count(*) AS rx_dispensings,
                   count(DISTINCT x.atc) AS rx_classes,
                   sum(coalesce(pr.price * de.quantity / nullif(pr.pack_units, 0), 0))
                       AS cost_pharmacy
            FROM a JOIN drug_exposure de ON de.person_id = a.person_id
            LEFT JOIN {PRICES_TABLE} pr ON pr.aic = de.drug_source_value
            LEFT JOIN (SELECT drug_concept_id, atc FROM {DRUG_ATC_TABLE} WHERE atc_length = 7) x
                 ON x.drug_concept_id = de.drug_concept_id
            WHERE {_window("de.drug_exposure_start_date")}
            GROUP BY ALL
        ),
        lab AS (
            SELECT a.person_id, a.anchor_date, count(*) AS lab_tests
            FROM a JOIN measurement m ON m.person_id = a.person_id
            WHERE m.value_as_number IS NOT NULL AND {_window("m.measurement_date")}
            GROUP BY ALL
        )
        SELECT a.*,
               coalesce(ip.ip_stays, 0) AS ip_stays,
               coalesce(ip.ip_unplanned, 0) AS ip_unplanned,
               coalesce(ip.ip_planned, 0) AS ip_planned,
               coalesce(ip.ip_day_hospital, 0) AS ip_day_hospital,
               coalesce(ip.ip_bed_days, 0) AS ip_bed_days,
               ip.days_since_admission,
               coalesce(ed.ed_visits, 0) AS ed_visits,
               coalesce(ed.ed_urgent, 0) AS ed_urgent,
               coalesce(op.op_visits, 0) AS op_visits,
               coalesce(op.op_services, 0) AS op_services,
               coalesce(rx.rx_dispensings, 0) AS rx_dispensings,
               coalesce(rx.rx_classes, 0) AS rx_classes,
               coalesce(lab.lab_tests, 0) AS lab_tests,
               coalesce(ip.cost_inpatient, 0) AS cost_inpatient,
               coalesce(ed.cost_emergency, 0) AS cost_emergency,
               coalesce(op.cost_outpatient, 0) AS cost_outpatient,
               coalesce(rx.cost_pharmacy, 0) AS cost_pharmacy,
               coalesce(ip.cost_inpatient, 0) + coalesce(ed.cost_emergency, 0)
                 + coalesce(op.cost_outpatient, 0) + coalesce(rx.cost_pharmacy, 0)
                 AS cost_total
        FROM a
        LEFT JOIN ip ON ip.person_id = a.person_id AND ip.anchor_date = a.anchor_date
        LEFT JOIN ed ON ed.person_id = a.person_id AND ed.anchor_date = a.anchor_date
        LEFT JOIN op ON op.person_id = a.person_id AND op.anchor_date = a.anchor_date
        LEFT JOIN rx ON rx.person_id = a.person_id AND rx.anchor_date = a.anchor_date
        LEFT JOIN lab ON lab.person_id = a.person_id AND lab.anchor_date = a.anchor_date
    """
