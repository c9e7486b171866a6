"""Criterion SQL: the events of one CDM domain that a criterion selects.

Each domain's table, columns and default dates follow Circe's criteria templates
(``conditionOccurrence.sql`` and friends), so an imported ATLAS definition selects the
same rows: for example a condition without an end date lasts one day, and a drug
exposure without an end date lasts its days' supply (or one day).

Every criterion query returns the same columns: ``person_id, event_id, start_date,
end_date, visit_occurrence_id, sort_date, domain_concept_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bmb.analytics.cohort import sqltext as q
from bmb.domain.cdm import CDM_TABLES
from bmb.domain.cohort import (
    CodesetIn,
    ConceptIn,
    Criterion,
    DateField,
    DateRange,
    Domain,
    Flag,
    NumericRange,
    RangeOp,
    Test,
    TextFilter,
)
from bmb.domain.cohort.errors import CohortDefinitionError

#: Measurement value concepts Circe treats as abnormal (``Abnormal`` attribute).
ABNORMAL_VALUE_CONCEPTS = (4155142, 4155143)


@dataclass(frozen=True, slots=True)
class EventTable:
    """How a domain's CDM table reads as events."""

    table: str
    id: str
    start: str
    end: Callable[[str], str]  # default end date from the table alias
    concept: str | None = None
    source_concept: str | None = None
    visit: str | None = "visit_occurrence_id"
    type: str | None = None
    # attribute -> raw column holding it (read straight from the table)
    columns: dict[str, str] = field(default_factory=dict)
    # attributes Circe compares as whole numbers (its %d formatting)
    integer_attrs: frozenset[str] = frozenset()


def _plus_one(col: str) -> Callable[[str], str]:
    return lambda t: q.add_days(f"{t}.{col}", 1)


def _coalesce_plus_one(end: str, start: str) -> Callable[[str], str]:
    return lambda t: f"COALESCE({t}.{end}, {q.add_days(f'{t}.{start}', 1)})"


def _same(col: str) -> Callable[[str], str]:
    return lambda t: f"{t}.{col}"


def drug_exposure_end(t: str) -> str:
    """Circe's drug exposure end: end date, else start + days' supply, else start + 1."""
    start = f"{t}.drug_exposure_start_date"
    return (
        f"COALESCE({t}.drug_exposure_end_date, "
        f"{start} + CAST({t}.days_supply AS INTEGER), {q.add_days(start, 1)})"
    )


_INT = frozenset({"age", "age_at_start", "age_at_end", "length", "occurrence_count", "gap_days"})

TABLES: dict[Domain, EventTable] = {
    Domain.CONDITION_OCCURRENCE: EventTable(
        "condition_occurrence",
        "condition_occurrence_id",
        "condition_start_date",
        _coalesce_plus_one("condition_end_date", "condition_start_date"),
        "condition_concept_id",
        "condition_source_concept_id",
        type="condition_type_concept_id",
        columns={
            "stop_reason": "stop_reason",
            "condition_status": "condition_status_concept_id",
        },
        integer_attrs=_INT,
    ),
    Domain.CONDITION_ERA: EventTable(
        "condition_era",
        "condition_era_id",
        "condition_era_start_date",
        _same("condition_era_end_date"),
        "condition_concept_id",
        visit=None,
        columns={"occurrence_count": "condition_occurrence_count"},
        integer_attrs=_INT,
    ),
    Domain.DEATH: EventTable(
        "death",
        "person_id",
        "death_date",
        _plus_one("death_date"),
        "cause_concept_id",
        "cause_source_concept_id",
        visit=None,
        type="death_type_concept_id",
        integer_attrs=_INT,
    ),
    Domain.DEVICE_EXPOSURE: EventTable(
        "device_exposure",
        "device_exposure_id",
        "device_exposure_start_date",
        _coalesce_plus_one("device_exposure_end_date", "device_exposure_start_date"),
        "device_concept_id",
        "device_source_concept_id",
        type="device_type_concept_id",
        columns={"unique_device_id": "unique_device_id", "quantity": "quantity"},
        integer_attrs=_INT | {"quantity"},
    ),
    Domain.DOSE_ERA: EventTable(
        "dose_era",
        "dose_era_id",
        "dose_era_start_date",
        _same("dose_era_end_date"),
        "drug_concept_id",
        visit=None,
        columns={"unit": "unit_concept_id", "dose_value": "dose_value"},
        integer_attrs=_INT,
    ),
    Domain.DRUG_ERA: EventTable(
        "drug_era",
        "drug_era_id",
        "drug_era_start_date",
        _same("drug_era_end_date"),
        "drug_concept_id",
        visit=None,
        columns={"occurrence_count": "drug_exposure_count", "gap_days": "gap_days"},
        integer_attrs=_INT,
    ),
    Domain.DRUG_EXPOSURE: EventTable(
        "drug_exposure",
        "drug_exposure_id",
        "drug_exposure_start_date",
        drug_exposure_end,
        "drug_concept_id",
        "drug_source_concept_id",
        type="drug_type_concept_id",
        columns={
            "stop_reason": "stop_reason",
            "refills": "refills",
            "quantity": "quantity",
            "days_supply": "days_supply",
            "route": "route_concept_id",
            "effective_drug_dose": "effective_drug_dose",
            "dose_unit": "dose_unit_concept_id",
            "lot_number": "lot_number",
        },
        integer_attrs=_INT | {"refills", "days_supply"},
    ),
    Domain.MEASUREMENT: EventTable(
        "measurement",
        "measurement_id",
        "measurement_date",
        _plus_one("measurement_date"),
        "measurement_concept_id",
        "measurement_source_concept_id",
        type="measurement_type_concept_id",
        columns={
            "operator": "operator_concept_id",
            "value_as_number": "value_as_number",
            "value_as_concept": "value_as_concept_id",
            "unit": "unit_concept_id",
            "range_low": "range_low",
            "range_high": "range_high",
        },
        integer_attrs=_INT,
    ),
    Domain.OBSERVATION: EventTable(
        "observation",
        "observation_id",
        "observation_date",
        _plus_one("observation_date"),
        "observation_concept_id",
        "observation_source_concept_id",
        type="observation_type_concept_id",
        columns={
            "value_as_number": "value_as_number",
            "value_as_string": "value_as_string",
            "value_as_concept": "value_as_concept_id",
            "qualifier": "qualifier_concept_id",
            "unit": "unit_concept_id",
        },
        integer_attrs=_INT,
    ),
    Domain.OBSERVATION_PERIOD: EventTable(
        "observation_period",
        "observation_period_id",
        "observation_period_start_date",
        _same("observation_period_end_date"),
        visit=None,
        type="period_type_concept_id",
        integer_attrs=_INT,
    ),
    Domain.PAYER_PLAN_PERIOD: EventTable(
        "payer_plan_period",
        "payer_plan_period_id",
        "payer_plan_period_start_date",
        _same("payer_plan_period_end_date"),
        visit=None,
        columns={
            "payer": "payer_concept_id",
            "plan": "plan_concept_id",
            "sponsor": "sponsor_concept_id",
            "stop_reason_concept": "stop_reason_concept_id",
        },
        integer_attrs=_INT,
    ),
    Domain.PROCEDURE_OCCURRENCE: EventTable(
        "procedure_occurrence",
        "procedure_occurrence_id",
        "procedure_date",
        _plus_one("procedure_date"),
        "procedure_concept_id",
        "procedure_source_concept_id",
        type="procedure_type_concept_id",
        columns={"modifier": "modifier_concept_id", "quantity": "quantity"},
        integer_attrs=_INT | {"quantity"},
    ),
    Domain.SPECIMEN: EventTable(
        "specimen",
        "specimen_id",
        "specimen_date",
        _plus_one("specimen_date"),
        "specimen_concept_id",
        visit=None,
        type="specimen_type_concept_id",
        columns={
            "quantity": "quantity",
            "unit": "unit_concept_id",
            "anatomic_site": "anatomic_site_concept_id",
            "disease_status": "disease_status_concept_id",
            "source_id": "specimen_source_id",
        },
        integer_attrs=_INT,
    ),
    Domain.VISIT_OCCURRENCE: EventTable(
        "visit_occurrence",
        "visit_occurrence_id",
        "visit_start_date",
        _same("visit_end_date"),
        "visit_concept_id",
        "visit_source_concept_id",
        type="visit_type_concept_id",
        integer_attrs=_INT,
    ),
    Domain.VISIT_DETAIL: EventTable(
        "visit_detail",
        "visit_detail_id",
        "visit_detail_start_date",
        _same("visit_detail_end_date"),
        "visit_detail_concept_id",
        "visit_detail_source_concept_id",
        type="visit_detail_type_concept_id",
        integer_attrs=_INT,
    ),
}


def _check_column(table: str, column: str, attribute: str) -> None:
    if column not in CDM_TABLES[table].field_names:
        raise CohortDefinitionError(
            f"{table}.{attribute} needs column {table}.{column}, which OMOP CDM v5.4 does not have"
        )


class CriterionSql:
    """Builds the SELECT of one criterion; ``codesets`` is the concept set table's name.

    With ``concepts`` (concept set id -> its expanded concept ids, read from the
    materialized concept sets) membership is written as literal ``IN`` lists, which
    every engine pushes into the scan of the event table instead of joining all its
    rows; the rows selected are the same.
    """

    def __init__(self, codesets: str, concepts: Mapping[int, Sequence[int]] | None = None) -> None:
        self.codesets = codesets
        self.concepts = concepts

    def select(self, c: Criterion, wrap: Callable[[str, Criterion], str] | None = None) -> str:
        """The criterion's events; ``wrap`` applies its correlated criteria (if any)."""
        spec = TABLES[c.domain]
        t = "t"
        raw: dict[str, str] = {"person_id": f"{t}.person_id", "event_id": f"{t}.{spec.id}"}
        if spec.concept:
            raw["domain_concept_id"] = f"{t}.{spec.concept}"
        else:
            raw["domain_concept_id"] = f"{t}.{spec.type}" if spec.type else "CAST(NULL AS BIGINT)"
        raw["visit_occurrence_id"] = f"{t}.{spec.visit}" if spec.visit else "CAST(NULL AS BIGINT)"
        start, end = f"{t}.{spec.start}", spec.end(t)
        if c.date_adjustment is not None:
            adj = c.date_adjustment
            pick = {DateField.START_DATE: start, DateField.END_DATE: end}
            start, end = (
                q.add_days(pick[adj.start_with], adj.start_offset),
                q.add_days(pick[adj.end_with], adj.end_offset),
            )
        raw["start_date"], raw["end_date"] = start, end
        where: list[str] = []
        members = []
        if c.codeset_id is not None and spec.concept:
            members.append((f"{t}.{spec.concept}", c.codeset_id, "cs"))
        if c.source_codeset_id is not None and spec.source_concept:
            members.append((f"{t}.{spec.source_concept}", c.source_codeset_id, "cns"))
        if self.concepts is None:
            scan = " ".join(self._codeset_join(col, cid, alias) for col, cid, alias in members)
        else:
            conds = [self.member(col, cid) for col, cid, _ in members]
            scan = f"WHERE {' AND '.join(conds)}" if conds else ""
        if c.first:
            raw["ordinal"] = (
                f"ROW_NUMBER() OVER (PARTITION BY {t}.person_id "
                f"ORDER BY {t}.{spec.start}, {t}.{spec.id})"
            )
            where.append("C.ordinal = 1")
        outer: list[str] = []
        needs: set[str] = set()
        if c.date_adjustment is not None:
            where.append("C.end_date >= C.start_date")
        if c.user_period is not None:
            for d in (c.user_period.start, c.user_period.end):
                if d is not None:
                    where.append(f"C.start_date <= {q.day(d)} AND C.end_date >= {q.day(d)}")
        for f in c.filters:
            expr = self._attribute(spec, f.attribute, raw, needs, t)
            where.append(self._test(expr, f.test, integer=f.attribute in spec.integer_attrs))
        if "P" in needs:
            outer.append("JOIN person P ON C.person_id = P.person_id")
        if "V" in needs:
            outer.append(
                "JOIN visit_occurrence V ON C.visit_occurrence_id = V.visit_occurrence_id "
                "AND C.person_id = V.person_id"
            )
        if "CS" in needs:
            outer.append("JOIN care_site CS ON C.care_site_id = CS.care_site_id")
        if "PR" in needs:
            outer.append("LEFT JOIN provider PR ON C.provider_id = PR.provider_id")
        start_out, end_out = "C.start_date", "C.end_date"
        if c.user_period is not None:
            if c.user_period.start is not None:
                start_out = q.day(c.user_period.start)
            if c.user_period.end is not None:
                end_out = q.day(c.user_period.end)
        inner_cols = ", ".join(f"{expr} AS {name}" for name, expr in raw.items())
        sql = (
            f"SELECT C.person_id, C.event_id, {start_out} AS start_date, {end_out} AS end_date, "
            f"C.visit_occurrence_id, {start_out} AS sort_date, C.domain_concept_id "
            f"FROM (SELECT {inner_cols} FROM {spec.table} {t} {scan}) C "
            f"{' '.join(outer)}"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        if c.correlated is not None and not c.correlated.is_empty and wrap is not None:
            sql = wrap(sql, c)
        return sql

    def member(self, column: str, codeset_id: int, *, negate: bool = False) -> str:
        """``column`` in (or not in) concept set ``codeset_id``: a condition."""
        if self.concepts is not None:
            ids = self.concepts.get(int(codeset_id), ())
            if not ids:
                return "1 = 1" if negate else "1 = 0"
            return q.in_list(column, ids, negate=negate)
        sub = f"SELECT concept_id FROM {self.codesets} WHERE codeset_id = {int(codeset_id)}"
        return f"{column} {'NOT IN' if negate else 'IN'} ({sub})"

    def _codeset_join(self, column: str, codeset_id: int, alias: str) -> str:
        return (
            f"JOIN {self.codesets} {alias} ON {column} = {alias}.concept_id "
            f"AND {alias}.codeset_id = {int(codeset_id)}"
        )

    def _attribute(
        self, spec: EventTable, attribute: str, raw: dict[str, str], needs: set[str], t: str
    ) -> str:
        def column(name: str) -> str:
            _check_column(spec.table, name, attribute)
            raw.setdefault(name, f"{t}.{name}")
            return f"C.{name}"

        if attribute in ("age", "age_at_start"):
            needs.add("P")
            return f"{q.year('C.start_date')} - P.year_of_birth"
        if attribute == "age_at_end":
            needs.add("P")
            return f"{q.year('C.end_date')} - P.year_of_birth"
        if attribute == "gender":
            needs.add("P")
            return "P.gender_concept_id"
        if attribute == "start_date":
            return "C.start_date"
        if attribute == "end_date":
            return "C.end_date"
        if attribute == "length":
            return q.days_between("C.start_date", "C.end_date")
        if attribute == "visit_concept":
            needs.add("V")
            return "V.visit_concept_id"
        if attribute == "provider_specialty":
            column("provider_id")
            needs.add("PR")
            return "PR.specialty_concept_id"
        if attribute == "place_of_service":
            column("care_site_id")
            needs.add("CS")
            return "CS.place_of_service_concept_id"
        if attribute == "type" and spec.type:
            return column(spec.type)
        if attribute in ("range_low_ratio", "range_high_ratio"):
            bound = column("range_low" if attribute == "range_low_ratio" else "range_high")
            return f"({column('value_as_number')} / NULLIF({bound}, 0))"
        if attribute == "abnormal":
            v, lo, hi = column("value_as_number"), column("range_low"), column("range_high")
            concept = column("value_as_concept_id")
            return f"({v} < {lo} OR {v} > {hi} OR {q.in_list(concept, ABNORMAL_VALUE_CONCEPTS)})"
        if attribute in spec.columns:
            return column(spec.columns[attribute])
        raise CohortDefinitionError(f"{spec.table}.{attribute} cannot be compiled")

    def _test(self, expr: str, test: Test, *, integer: bool) -> str:
        if isinstance(test, NumericRange):

            def fmt(v: float) -> str:
                return q.num(int(v)) if integer else q.num(v)

            return _range(
                expr, test.op, fmt(test.value), None if test.extent is None else fmt(test.extent)
            )
        if isinstance(test, DateRange):
            extent = None if test.extent is None else q.day(test.extent)
            return _range(expr, test.op, q.day(test.value), extent)
        if isinstance(test, TextFilter):
            prefix = "%" if test.op.value.endswith(("endsWith", "contains")) else ""
            suffix = "%" if test.op.value.endswith(("startsWith", "contains")) else ""
            like = "NOT LIKE" if test.op.negated else "LIKE"
            return f"{expr} {like} {q.text(prefix + test.text + suffix)}"
        if isinstance(test, ConceptIn):
            return q.in_list(expr, test.concept_ids, negate=test.exclude)
        if isinstance(test, CodesetIn):
            return self.member(expr, test.codeset_id, negate=test.exclude)
        if isinstance(test, Flag):
            return expr
        raise TypeError(type(test).__name__)


_OPS = {
    RangeOp.LT: "<",
    RangeOp.LTE: "<=",
    RangeOp.EQ: "=",
    RangeOp.NEQ: "<>",
    RangeOp.GT: ">",
    RangeOp.GTE: ">=",
}


def _range(expr: str, op: RangeOp, value: str, extent: str | None) -> str:
    if op.is_between:
        clause = f"({expr} >= {value} AND {expr} <= {extent})"
        return f"NOT {clause}" if op is RangeOp.NOT_BETWEEN else clause
    return f"{expr} {_OPS[op]} {value}"
