"""Index episodes of an outcome indicator and their event, from the CDM, in SQL.

An episode is an inpatient stay (SDO, ``visit_concept_id`` 9201) in the period that
matches the indicator's regime, age range and diagnosis codes (principal or any
position; 410.x2 left out for AMI), not transferred in from another acute hospital,
and the person's first in the period. It belongs to the hospital that admitted the
patient (``care_site_source_value``, the HSP11 code).

The event is either **surgery in time** - a listed procedure within 48 hours of the
start of care, which is the arrival at the emergency department when the admission
came from one (the ED visit ending in admission shortly before), else the admission;
when the CDM holds procedure dates without times (``procedure_datetime`` at midnight),
the date rule of the definition applies instead (surgery date minus start date at most
two days) - or **death** within the given days of admission, anywhere (``death``).
"""

from __future__ import annotations

from datetime import date

from bmb.analytics.cdmsql import EMERGENCY, INPATIENT, PRINCIPAL, nodot
from bmb.domain import concepts as std
from bmb.domain.indicators import Indicator


def _codes_match(column: str, codes: tuple[str, ...]) -> str:
    return " OR ".join(
        f"starts_with({nodot(column)}, '{c.replace('.', '').upper()}')" for c in codes
    )


def _procedure_match(column: str, ind: Indicator) -> str:
    code = f"rpad({nodot(column)}, 4, '0')"
    parts = []
    for r in ind.procedures:
        lo = r.first.replace(".", "").ljust(4, "0")
        hi = r.last.replace(".", "").ljust(4, "0")
        parts.append(f"({code} BETWEEN '{lo}' AND '{hi}')")
    return " OR ".join(parts) or "false"


def episodes_sql(ind: Indicator, start: date, end: date) -> str:
    """One row per index episode: person, stay, hospital, dates, age, sex, event."""
    regime = {
        "ordinary": "coalesce(regexp_extract(v.visit_source_value, 'regime (\\d)', 1), '1') = '1'",
        "day_hospital": "regexp_extract(v.visit_source_value, 'regime (\\d)', 1) = '2'",
    }.get(ind.regime, "true")
    fifth = ""
    if ind.exclude_fifth_digits:
        digits = ", ".join(f"'{d}'" for d in ind.exclude_fifth_digits)
        fifth = (
            f"AND NOT (length({nodot('co.condition_source_value')}) >= 5 AND "
            f"substr({nodot('co.condition_source_value')}, 5, 1) IN ({digits}))"
        )
    principal = f"AND co.condition_status_concept_id = {PRINCIPAL}" if ind.principal_only else ""
    transfers = (
        f"AND coalesce(v.admitted_from_concept_id, 0) <> {std.INPATIENT_HOSPITAL}"
        if ind.exclude_transfers_in
        else ""
    )
    birth = (
        "coalesce(CAST(p.birth_datetime AS DATE), make_date(CAST(p.year_of_birth AS INTEGER), "
        "CAST(coalesce(p.month_of_birth, 7) AS INTEGER), CAST(coalesce(p.day_of_birth, 1) "
        "AS INTEGER)))"
    )
    if ind.is_surgery_timing:
        hours = int(ind.within_hours or 48)
        days = int(ind.date_only_days if ind.date_only_days is not None else 2)
        event = f"""EXISTS (
            SELECT 1 FROM procedure_occurrence po
            WHERE po.visit_occurrence_id = e.visit_occurrence_id
              AND ({_procedure_match("po.procedure_source_value", ind)})
              AND CASE WHEN po.procedure_datetime IS NOT NULL
                        AND CAST(po.procedure_datetime AS TIME) <> TIME '00:00:00'
                   THEN date_diff('minute', e.start_datetime, po.procedure_datetime)
                        BETWEEN 0 AND {hours * 60}
                   ELSE date_diff('day', CAST(e.start_datetime AS DATE), po.procedure_date)
                        BETWEEN 0 AND {days} END)"""
    else:
        event = f"""EXISTS (
            SELECT 1 FROM death d WHERE d.person_id = e.person_id
              AND date_diff('day', e.admission_date, d.death_date)
                  BETWEEN 0 AND {int(ind.death_within_days or 30)})"""
    return f"""
        WITH ip AS (
            SELECT v.* FROM visit_occurrence v
            WHERE v.visit_concept_id = {INPATIENT}
              AND v.visit_start_date BETWEEN DATE '{start}' AND DATE '{end}'
              AND {regime} {transfers}
        ),
        hit AS (
            SELECT DISTINCT co.visit_occurrence_id FROM condition_occurrence co
            WHERE co.visit_occurrence_id IN (SELECT visit_occurrence_id FROM ip)
              AND ({_codes_match("co.condition_source_value", ind.diagnosis_codes)})
              {principal} {fifth}
        ),
        cand AS (
            SELECT ip.visit_occurrence_id, ip.person_id, ip.visit_start_date AS admission_date,
                   coalesce(ip.visit_start_datetime, CAST(ip.visit_start_date AS TIMESTAMP))
                       AS admission_datetime,
                   ip.care_site_id,
                   CAST(date_sub('year', {birth}, ip.visit_start_date) AS INTEGER) AS age,
                   CASE p.gender_concept_id WHEN {std.FEMALE} THEN 1.0 ELSE 0.0 END AS female,
                   row_number() OVER (PARTITION BY ip.person_id
                                      ORDER BY ip.visit_start_datetime, ip.visit_occurrence_id)
                       AS nth
            FROM ip JOIN hit USING (visit_occurrence_id)
            JOIN person p ON p.person_id = ip.person_id
        ),
        first AS (
            SELECT * FROM cand WHERE nth = 1 AND age BETWEEN {ind.age_min} AND {ind.age_max}
        ),
        ed AS (
            SELECT f.visit_occurrence_id, max(v.visit_start_datetime) AS arrival
            FROM first f JOIN visit_occurrence v ON v.person_id = f.person_id
            WHERE v.visit_concept_id = {EMERGENCY} AND v.discharged_to_concept_id = {INPATIENT}
              AND v.visit_start_datetime <= f.admission_datetime
              AND v.visit_start_datetime >= f.admission_datetime - INTERVAL 2 DAY
            GROUP BY 1
        ),
        e AS (
            SELECT f.*, coalesce(ed.arrival, f.admission_datetime) AS start_datetime,
                   ed.arrival IS NOT NULL AS via_ed,
                   coalesce(cs.care_site_source_value, '?') AS hospital
            FROM first f LEFT JOIN ed USING (visit_occurrence_id)
            LEFT JOIN care_site cs ON cs.care_site_id = f.care_site_id
        )
        SELECT e.* EXCLUDE (nth), {event} AS event FROM e
    """
