"""Compile a cohort definition into a plan of SQL steps, for any engine.

The plan mirrors Circe's ``generateCohort.sql`` step by step, each step a SELECT that
the runner materializes under a run-unique name: concept sets, primary events,
qualified events, inclusion events (one bit per rule), included events, exit dates,
cohort rows, and eras. Keeping each step makes the attrition report exact and cheap
(it reads the masks of the qualified events), and lets every engine's optimizer work
on one modest query at a time.

Steps are written in the canonical dialect and translated with SQLGlot
(:meth:`CohortPlan.statements`); no engine has hand-written SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bmb.analytics.cohort import sqltext as q
from bmb.analytics.cohort.codesets import codesets_sql
from bmb.analytics.cohort.events import CriterionSql, drug_exposure_end
from bmb.analytics.cohort.groups import GroupSql
from bmb.domain.cohort import (
    CohortDefinition,
    DateField,
    DateOffsetExit,
    DrugExposureExit,
    Limit,
)

_ERA_WINDOW = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
_BEFORE = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
_EVENT_COLS = "event_id, person_id, start_date, end_date, op_start_date, op_end_date"


@dataclass(frozen=True, slots=True)
class Step:
    """One materialized step: its table name and its SELECT (canonical dialect)."""

    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class CohortPlan:
    """The steps of one cohort, then the queries that read its result and statistics."""

    steps: tuple[Step, ...]
    cohort: str  # subject_id, cohort_start_date, cohort_end_date (censor window applied)
    masks: str  # mode (0 events, 1 persons' best events), inclusion_rule_mask, n
    counts: str  # primary, qualified, included events and eras before the censor window
    rule_count: int

    def statements(self, dialect: str) -> list[tuple[str, str]]:
        """``(name, SELECT)`` of each step in ``dialect``."""
        return [(s.name, q.transpile(s.sql, dialect)) for s in self.steps]


def _order(limit: Limit) -> str:
    return "DESC" if limit is Limit.LAST else "ASC"


def compile_cohort(
    definition: CohortDefinition,
    prefix: str,
    concepts: Mapping[int, Sequence[int]] | None = None,
) -> CohortPlan:
    """Plan ``definition``; every table the plan creates starts with ``prefix``.

    ``concepts`` (each concept set's expanded ids, read back from the plan's first
    step) turns concept set membership into literal ``IN`` lists that engines push
    into table scans; without it the plan joins the concept set table.
    """
    n = _Names(prefix)
    criteria = CriterionSql(n.codesets, concepts)
    groups = GroupSql(criteria)
    d = definition
    steps = [Step(n.codesets, codesets_sql(d.concept_sets))]

    pc = d.primary
    union = " UNION ALL ".join(groups.criterion(c) for c in pc.criteria)
    op_start, op_end = "OP.observation_period_start_date", "OP.observation_period_end_date"
    primary = (
        "SELECT P.ordinal AS event_id, P.person_id, P.start_date, P.end_date, "
        "P.op_start_date, P.op_end_date, P.visit_occurrence_id FROM ("
        "SELECT E.person_id, E.start_date, E.end_date, ROW_NUMBER() OVER "
        f"(PARTITION BY E.person_id ORDER BY E.sort_date {_order(pc.limit)}, E.event_id) "
        "AS ordinal, "
        f"{op_start} AS op_start_date, {op_end} AS op_end_date, "
        "CAST(E.visit_occurrence_id AS BIGINT) AS visit_occurrence_id "
        f"FROM ({union}) E JOIN observation_period OP ON E.person_id = OP.person_id "
        f"AND E.start_date >= {op_start} AND E.start_date <= {op_end} "
        f"WHERE {q.add_days(op_start, pc.prior_days)} <= E.start_date "
        f"AND {q.add_days('E.start_date', pc.post_days)} <= {op_end}) P"
    )
    if pc.limit is not Limit.ALL:
        primary += " WHERE P.ordinal = 1"
    steps.append(Step(n.primary, primary))

    join_ac = ""
    if d.additional is not None and not d.additional.is_empty:
        join_ac = (
            f" JOIN ({groups.group(d.additional, n.primary)}) AC "
            "ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id"
        )
    # Circe applies the qualified limit whenever additional criteria exist, even empty;
    # without a limit to apply, no ordering is needed.
    if d.additional is not None and d.qualified_limit is not Limit.ALL:
        qualified = (
            f"SELECT {_EVENT_COLS}, visit_occurrence_id FROM ("
            "SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.op_start_date, "
            "pe.op_end_date, pe.visit_occurrence_id, ROW_NUMBER() OVER (PARTITION BY "
            f"pe.person_id ORDER BY pe.start_date {_order(d.qualified_limit)}, pe.event_id) "
            f"AS ordinal FROM {n.primary} pe{join_ac}) QE WHERE QE.ordinal = 1"
        )
    else:
        qualified = (
            "SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.op_start_date, "
            f"pe.op_end_date, pe.visit_occurrence_id FROM {n.primary} pe{join_ac}"
        )
    steps.append(Step(n.qualified, qualified))

    rules = d.inclusion_rules
    if rules:
        parts = [
            f"SELECT CAST({i} AS BIGINT) AS inclusion_rule_id, "
            f"CAST({1 << i} AS BIGINT) AS rule_mask, "
            f"R.person_id, R.event_id FROM ({groups.group(rule.group, n.qualified)}) R"
            for i, rule in enumerate(rules)
        ]
        steps.append(Step(n.inclusion, " UNION ALL ".join(parts)))
        # One row per qualified event with its rule mask: the included events and both
        # attrition reports read it (one aggregation instead of three).
        steps.append(
            Step(
                n.masks,
                "SELECT Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, "
                "Q.op_end_date, COUNT(I.inclusion_rule_id) AS rule_count, "
                "COALESCE(MIN(I.inclusion_rule_id), 0) AS min_rule_id, "
                "COALESCE(SUM(I.rule_mask), 0) AS inclusion_rule_mask "
                f"FROM {n.qualified} Q LEFT JOIN {n.inclusion} I "
                "ON I.person_id = Q.person_id AND I.event_id = Q.event_id "
                "GROUP BY Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, "
                "Q.op_end_date",
            )
        )
        matched = (
            f"SELECT {_EVENT_COLS} FROM {n.masks} "
            f"WHERE inclusion_rule_mask = {(1 << len(rules)) - 1}"
        )
    else:
        matched = f"SELECT {_EVENT_COLS} FROM {n.qualified}"
    if d.expression_limit is not Limit.ALL:
        included = (
            f"SELECT {_EVENT_COLS} FROM (SELECT MG.event_id, MG.person_id, MG.start_date, "
            "MG.end_date, MG.op_start_date, MG.op_end_date, ROW_NUMBER() OVER (PARTITION BY "
            f"MG.person_id ORDER BY MG.start_date {_order(d.expression_limit)}, MG.event_id) "
            f"AS ordinal FROM ({matched}) MG) Results WHERE Results.ordinal = 1"
        )
    else:
        included = matched
    steps.append(Step(n.included, included))

    ends: list[str] = []
    offset_end = None
    if isinstance(d.exit, DateOffsetExit):
        field = "start_date" if d.exit.date_field is DateField.START_DATE else "end_date"
        shifted = q.add_days(field, d.exit.offset)
        offset_end = f"CASE WHEN {shifted} > op_end_date THEN op_end_date ELSE {shifted} END"
    if not d.censoring and not isinstance(d.exit, DrugExposureExit):
        # One exit per event (the offset, or the end of observation): no union, no
        # minimum to take; the cohort rows read the included events directly.
        end = offset_end or "op_end_date"
        steps.append(
            Step(
                n.rows,
                f"SELECT person_id, start_date, {end} AS end_date FROM {n.included} "
                f"WHERE {end} >= start_date",
            )
        )
    else:
        if offset_end is not None:
            steps.append(
                Step(
                    n.strategy,
                    f"SELECT event_id, person_id, {offset_end} AS end_date FROM {n.included}",
                )
            )
        else:
            ends.append(f"SELECT event_id, person_id, op_end_date AS end_date FROM {n.included}")
        if isinstance(d.exit, DrugExposureExit):
            steps.extend(_drug_exit(d.exit, n, criteria))
        if d.exit is not None:
            ends.append(f"SELECT event_id, person_id, end_date FROM {n.strategy}")
        for c in d.censoring:
            ends.append(
                "SELECT i.event_id, i.person_id, MIN(C.start_date) AS end_date "
                f"FROM {n.included} i JOIN ({groups.criterion(c)}) C "
                "ON C.person_id = i.person_id AND C.start_date >= i.start_date "
                "AND C.start_date <= i.op_end_date GROUP BY i.event_id, i.person_id"
            )
        steps.append(
            Step(
                n.rows,
                "SELECT I.person_id, I.start_date, MIN(CE.end_date) AS end_date "
                f"FROM {n.included} I JOIN ({' UNION ALL '.join(ends)}) CE "
                "ON I.event_id = CE.event_id AND I.person_id = CE.person_id "
                "AND CE.end_date >= I.start_date GROUP BY I.person_id, I.event_id, I.start_date",
            )
        )
    steps.append(Step(n.final, _eras(n.rows, d.era_pad)))

    start, end = "start_date", "end_date"
    window = d.censor_window
    cohort = (
        "SELECT person_id AS subject_id, {s} AS cohort_start_date, {e} AS cohort_end_date "
        f"FROM {n.final}"
    )
    if window is not None and not window.is_empty:
        if window.start is not None:
            s = q.day(window.start)
            start = f"CASE WHEN start_date > {s} THEN start_date ELSE {s} END"
        if window.end is not None:
            e = q.day(window.end)
            end = f"CASE WHEN end_date < {e} THEN end_date ELSE {e} END"
        cohort = cohort.format(s=start, e=end) + f" WHERE {start} <= {end}"
    else:
        cohort = cohort.format(s=start, e=end)

    masks = _masks(n, bool(rules))
    counts = (
        f"SELECT (SELECT COUNT(*) FROM {n.primary}) AS primary_events, "
        f"(SELECT COUNT(*) FROM {n.qualified}) AS qualified_events, "
        f"(SELECT COUNT(*) FROM {n.included}) AS included_events, "
        f"(SELECT COUNT(DISTINCT person_id) FROM {n.final}) AS era_persons"
    )
    masks_sql = (
        f"SELECT CAST(0 AS INTEGER) AS mode, M0.* FROM ({masks[0]}) M0 UNION ALL "
        f"SELECT CAST(1 AS INTEGER) AS mode, M1.* FROM ({masks[1]}) M1"
    )
    return CohortPlan(tuple(steps), cohort, masks_sql, counts, len(rules))


def _eras(source: str, pad: int) -> str:
    """Collapse periods closer than ``pad`` days into eras (Circe's era constructor)."""
    return (
        f"SELECT person_id, MIN(start_date) AS start_date, {q.add_days('MAX(end_date)', -pad)} "
        "AS end_date FROM (SELECT person_id, start_date, end_date, SUM(is_start) OVER "
        f"(PARTITION BY person_id ORDER BY start_date, is_start DESC {_ERA_WINDOW}) AS group_idx "
        "FROM (SELECT person_id, start_date, end_date, CASE WHEN MAX(end_date) OVER "
        f"(PARTITION BY person_id ORDER BY start_date {_BEFORE}) >= start_date THEN 0 ELSE 1 END "
        "AS is_start FROM (SELECT person_id, start_date, "
        f"{q.add_days('end_date', pad)} AS end_date "
        f"FROM {source}) CR) ST) GR GROUP BY person_id, group_idx"
    )


def _drug_exit(x: DrugExposureExit, n: _Names, criteria: CriterionSql) -> list[Step]:
    """Circe's custom era strategy: eras of the drug concept set, exit at era end."""
    if x.days_supply_override is not None:
        end = q.add_days("de.drug_exposure_start_date", x.days_supply_override)
    else:
        end = drug_exposure_end("de")
    by_concept = criteria.member("de.drug_concept_id", x.codeset_id)
    by_source = criteria.member("de.drug_source_concept_id", x.codeset_id)
    # Circe unions the exposures matching by concept and by source concept, so one
    # matching both appears twice; a duplicate exposure never changes an era, so each
    # exposure is read once (one scan of drug_exposure instead of two).
    target = Step(
        n.drug_target,
        "SELECT de.person_id, de.drug_exposure_start_date, "
        f"{end} AS drug_exposure_end_date FROM drug_exposure de "
        f"JOIN (SELECT DISTINCT person_id FROM {n.included}) p ON de.person_id = p.person_id "
        f"WHERE {by_concept} OR {by_source}",
    )
    pad = x.gap_days + x.offset
    eras = (
        f"SELECT person_id, MIN(start_date) AS era_start_date, "
        f"{q.add_days('MAX(end_date)', -x.gap_days)} AS era_end_date FROM ("
        "SELECT person_id, start_date, end_date, SUM(is_start) OVER (PARTITION BY person_id "
        f"ORDER BY start_date, is_start DESC {_ERA_WINDOW}) AS group_idx FROM ("
        "SELECT person_id, start_date, end_date, CASE WHEN MAX(end_date) OVER (PARTITION BY "
        f"person_id ORDER BY start_date {_BEFORE}) >= start_date THEN 0 ELSE 1 END AS is_start "
        "FROM (SELECT person_id, drug_exposure_start_date AS start_date, "
        f"{q.add_days('drug_exposure_end_date', pad)} AS end_date FROM {n.drug_target}) DT) ST) GR "
        "GROUP BY person_id, group_idx"
    )
    ends = Step(
        n.strategy,
        f"SELECT et.event_id, et.person_id, ERAS.era_end_date AS end_date FROM {n.included} et "
        f"JOIN ({eras}) ERAS ON ERAS.person_id = et.person_id "
        "WHERE et.start_date >= ERAS.era_start_date AND et.start_date <= ERAS.era_end_date",
    )
    return [target, ends]


def _masks(n: _Names, has_rules: bool) -> tuple[str, str]:
    if not has_rules:
        by_event = (
            f"SELECT CAST(0 AS BIGINT) AS inclusion_rule_mask, COUNT(*) AS n FROM {n.qualified}"
        )
        by_person = (
            "SELECT CAST(0 AS BIGINT) AS inclusion_rule_mask, COUNT(DISTINCT person_id) AS n "
            f"FROM {n.qualified}"
        )
        return by_event, by_person
    per_event = f"SELECT * FROM {n.masks}"
    by_event = (
        f"SELECT inclusion_rule_mask, COUNT(*) AS n FROM ({per_event}) MG "
        "GROUP BY inclusion_rule_mask"
    )
    # Circe's "best event" per person: most rules passed, then earliest rule, then earliest.
    best = (
        "SELECT inclusion_rule_mask, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY "
        "rule_count DESC, min_rule_id ASC, start_date ASC, event_id ASC) AS rank_value "
        f"FROM ({per_event}) R"
    )
    by_person = (
        f"SELECT inclusion_rule_mask, COUNT(*) AS n FROM ({best}) B WHERE B.rank_value = 1 "
        "GROUP BY inclusion_rule_mask"
    )
    return by_event, by_person


class _Names:
    """Run-unique names of a plan's tables."""

    def __init__(self, prefix: str) -> None:
        self.codesets = f"{prefix}_codesets"
        self.primary = f"{prefix}_primary_events"
        self.qualified = f"{prefix}_qualified_events"
        self.inclusion = f"{prefix}_inclusion_events"
        self.masks = f"{prefix}_event_masks"
        self.included = f"{prefix}_included_events"
        self.drug_target = f"{prefix}_drug_target"
        self.strategy = f"{prefix}_strategy_ends"
        self.rows = f"{prefix}_cohort_rows"
        self.final = f"{prefix}_final_cohort"
