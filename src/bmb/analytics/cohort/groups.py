"""Criteria-group SQL: correlated criteria in windows, demographics, nested groups.

Follows Circe's ``getCriteriaGroupQuery``, ``getCorelatedlCriteriaQuery`` and
``getWindowedCriteriaQuery``: each member yields the ``(person_id, event_id)`` of index
events it accepts, tagged with its position (``index_id``); the group keeps index
events whose number of accepting members satisfies ALL / ANY / AT_LEAST / AT_MOST.
A correlated criterion that zero events can satisfy (``exactly 0``, ``at most n``) is
a LEFT join from the index events, so index events with no match are kept.

An *event table* is any relation with ``person_id, event_id, start_date, end_date,
visit_occurrence_id, op_start_date, op_end_date``: a materialized step's name, or a
parenthesized subquery.
"""

from __future__ import annotations

from bmb.analytics.cohort import sqltext as q
from bmb.analytics.cohort.events import CriterionSql, _range
from bmb.domain.cohort import (
    CorrelatedCriterion,
    CountColumn,
    CriteriaGroup,
    Criterion,
    DemographicCriterion,
    GroupType,
    OccurrenceType,
    Window,
)

_OCC = {OccurrenceType.EXACTLY: "=", OccurrenceType.AT_MOST: "<=", OccurrenceType.AT_LEAST: ">="}

_COUNT_COLUMN = {
    CountColumn.DOMAIN_CONCEPT: "domain_concept_id",
    CountColumn.START_DATE: "start_date",
    CountColumn.VISIT_ID: "visit_occurrence_id",
}


class GroupSql:
    """Builds group queries; criteria come from a :class:`CriterionSql`."""

    def __init__(self, criteria: CriterionSql) -> None:
        self.criteria = criteria

    def criterion(self, c: Criterion) -> str:
        """A criterion's events, its own correlated criteria applied."""
        return self.criteria.select(c, wrap=self.wrap)

    def wrap(self, query: str, c: Criterion) -> str:
        """Keep the events of ``query`` that satisfy ``c``'s correlated criteria."""
        assert c.correlated is not None
        events = (
            "(SELECT Q.person_id, Q.event_id, Q.start_date, Q.end_date, Q.visit_occurrence_id, "
            "OP.observation_period_start_date AS op_start_date, "
            "OP.observation_period_end_date AS op_end_date "
            f"FROM ({query}) Q JOIN observation_period OP ON Q.person_id = OP.person_id "
            "AND OP.observation_period_start_date <= Q.start_date "
            "AND OP.observation_period_end_date >= Q.start_date)"
        )
        group = self.group(c.correlated, events)
        return (
            "SELECT PE.person_id, PE.event_id, PE.start_date, PE.end_date, "
            "PE.visit_occurrence_id, PE.sort_date, PE.domain_concept_id "
            f"FROM ({query}) PE JOIN ({group}) AC "
            "ON AC.person_id = PE.person_id AND AC.event_id = PE.event_id"
        )

    def group(self, g: CriteriaGroup, events: str, index_id: int = 0) -> str:
        """Index events of ``events`` satisfying group ``g``."""
        if g.is_empty:
            return f"SELECT {index_id} AS index_id, person_id, event_id FROM {events}"
        members: list[str] = []
        for cc in g.criteria:
            members.append(self.correlated(cc, events, len(members)))
        for d in g.demographics:
            members.append(self.demographic(d, events, len(members)))
        for sub in g.groups:
            members.append(self.group(sub, events, len(members)))
        join = "INNER"
        if g.type is GroupType.ALL:
            having = f"= {len(members)}"
        elif g.type is GroupType.ANY:
            having = "> 0"
        elif g.type is GroupType.AT_LEAST:
            having = f">= {int(g.count or 0)}"
            join = "LEFT" if g.count == 0 else "INNER"
        else:  # AT_MOST includes zero
            having = f"<= {int(g.count or 0)}"
            join = "LEFT"
        union = " UNION ALL ".join(members)
        return (
            f"SELECT {index_id} AS index_id, person_id, event_id FROM ("
            f"SELECT E.person_id, E.event_id FROM {events} E {join} JOIN ({union}) CQ "
            "ON E.person_id = CQ.person_id AND E.event_id = CQ.event_id "
            f"GROUP BY E.person_id, E.event_id HAVING COUNT(CQ.index_id) {having}) G"
        )

    def correlated(self, cc: CorrelatedCriterion, events: str, index_id: int) -> str:
        """Index events with the required number of ``cc`` events in its windows."""
        occ = cc.occurrence
        extra, count_expr = "", "cc.event_id"
        if occ.distinct:
            column = _COUNT_COLUMN[occ.count_column or CountColumn.DOMAIN_CONCEPT]
            extra, count_expr = f", A.{column} AS count_value", "cc.count_value"
        clauses = " AND ".join(["A.person_id = P.person_id", *_window_clauses(cc)])
        windowed = (
            f"SELECT P.person_id, P.event_id{extra} FROM {events} P "
            f"JOIN ({self.criterion(cc.criterion)}) A ON {clauses}"
        )
        distinct = "DISTINCT " if occ.distinct else ""
        having = f"HAVING COUNT({distinct}{count_expr}) {_OCC[occ.type]} {int(occ.count)}"
        if occ.allows_zero:
            return (
                f"SELECT {index_id} AS index_id, p.person_id, p.event_id FROM {events} p "
                f"LEFT JOIN ({windowed}) cc "
                "ON p.person_id = cc.person_id AND p.event_id = cc.event_id "
                f"GROUP BY p.person_id, p.event_id {having}"
            )
        return (
            f"SELECT {index_id} AS index_id, cc.person_id, cc.event_id FROM ({windowed}) cc "
            f"GROUP BY cc.person_id, cc.event_id {having}"
        )

    def demographic(self, d: DemographicCriterion, events: str, index_id: int) -> str:
        """Index events whose person matches ``d`` at the index date."""
        where: list[str] = []
        if d.age is not None:
            where.append(
                _range(
                    f"{q.year('E.start_date')} - P.year_of_birth",
                    d.age.op,
                    q.num(int(d.age.value)),
                    None if d.age.extent is None else q.num(int(d.age.extent)),
                )
            )
        for ids, column in ((d.gender, "gender"), (d.race, "race"), (d.ethnicity, "ethnicity")):
            if ids:
                where.append(q.in_list(f"P.{column}_concept_id", ids))
        for rng, column in ((d.start_date, "E.start_date"), (d.end_date, "E.end_date")):
            if rng is not None:
                extent = None if rng.extent is None else q.day(rng.extent)
                where.append(_range(column, rng.op, q.day(rng.value), extent))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        return (
            f"SELECT {index_id} AS index_id, E.person_id, E.event_id FROM {events} E "
            f"JOIN person P ON P.person_id = E.person_id {clause}"
            "GROUP BY E.person_id, E.event_id"
        )


def _window_clauses(cc: CorrelatedCriterion) -> list[str]:
    check_op = not cc.ignore_observation_period
    clauses: list[str] = []
    if check_op:
        clauses.append("A.start_date >= P.op_start_date AND A.start_date <= P.op_end_date")
    clauses.extend(_window(cc.start_window, check_op))
    if cc.end_window is not None:
        clauses.extend(_window(cc.end_window, check_op))
    if cc.restrict_visit:
        clauses.append("A.visit_occurrence_id = P.visit_occurrence_id")
    return clauses


def _window(w: Window, check_op: bool) -> list[str]:
    index = "P.end_date" if w.use_index_end else "P.start_date"
    event = "A.end_date" if w.use_event_end else "A.start_date"
    out: list[str] = []
    for bound, op in ((w.start, ">="), (w.end, "<=")):
        if bound.offset is not None:
            out.append(f"{event} {op} {q.add_days(index, bound.offset)}")
        elif check_op:
            out.append(
                f"{event} {op} {'P.op_start_date' if bound.coeff == -1 else 'P.op_end_date'}"
            )
    return out
