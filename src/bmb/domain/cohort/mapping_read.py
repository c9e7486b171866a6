"""Reading BMB's cohort text form (parsed YAML or JSON) into the model.

See :mod:`bmb.domain.cohort.mapping` for the form; errors name the path in the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bmb.domain.cohort._mapping_keys import OCC_KEYS, RANGE_OPS, TEXT_OPS
from bmb.domain.cohort._reader import Node
from bmb.domain.cohort.criteria import (
    CorrelatedCriterion,
    CountColumn,
    CriteriaGroup,
    Criterion,
    DateAdjustment,
    DateField,
    DemographicCriterion,
    Filter,
    GroupType,
    Occurrence,
    Period,
    Window,
    WindowBound,
)
from bmb.domain.cohort.definition import (
    CohortDefinition,
    ConceptSet,
    ConceptSetItem,
    DateOffsetExit,
    DrugExposureExit,
    ExitStrategy,
    InclusionRule,
    Limit,
    PrimaryCriteria,
)
from bmb.domain.cohort.domains import DOMAINS, AttrKind, Domain
from bmb.domain.cohort.errors import CohortDefinitionError
from bmb.domain.cohort.values import (
    CodesetIn,
    ConceptIn,
    DateRange,
    Flag,
    NumericRange,
    Test,
    TextFilter,
)

# ---------------------------------------------------------------------------- reading


def from_mapping(data: Mapping[str, Any], *, source: str | None = None) -> CohortDefinition:
    """Build a definition from BMB's text form (parsed YAML or JSON)."""
    root = Node(data, "", source)
    concept_sets = tuple(_read_concept_set(n) for n in root.nodes("concept_sets"))
    entry = root.node("entry")
    if entry is None:
        raise root.error("is required", "entry")
    primary = _read_primary(entry)
    additional = qualified = None
    if (qn := root.node("qualify")) is not None:
        qualified = _limit(qn, "limit", Limit.FIRST)
        additional = _read_group(qn)
    rules = tuple(_read_rule(n) for n in root.nodes("inclusion_rules"))
    expression_limit = _limit(root, "limit", Limit.FIRST)
    exit_ = _read_exit(en) if (en := root.node("exit")) is not None else None
    censoring = tuple(_read_criterion(n) for n in root.nodes("censoring"))
    window = None
    if (cw := root.node("censor_window")) is not None:
        window = _period(cw)
    era_pad = root.get_int("era_pad", 0) or 0
    name = root.get_str("name", "") or ""
    description = root.get_str("description", "") or ""
    root.done("cohort")
    result = _make(
        root,
        lambda: CohortDefinition(
            primary=primary,
            concept_sets=concept_sets,
            additional=additional,
            qualified_limit=qualified or Limit.FIRST,
            inclusion_rules=rules,
            expression_limit=expression_limit,
            exit=exit_,
            censoring=censoring,
            era_pad=era_pad,
            censor_window=window,
            name=name,
            description=description,
        ),
    )
    assert isinstance(result, CohortDefinition)
    return result


def _make(node: Node, build: Any) -> Any:
    try:
        return build()
    except CohortDefinitionError as exc:
        if exc.path:
            raise
        raise node.error(exc.message) from None


def _limit(node: Node, key: str, default: Limit) -> Limit:
    value = (node.get_str(key) or default.value).lower()
    try:
        return Limit(value)
    except ValueError:
        raise node.error(f"unknown limit {value!r} (first, last or all)", key) from None


def _read_concept_set(node: Node) -> ConceptSet:
    items = []
    for item in node.nodes("concepts"):
        items.append(
            ConceptSetItem(
                item.req_int("id"),
                item.get_bool("descendants"),
                item.get_bool("mapped"),
                item.get_bool("exclude"),
                item.get_str("name"),
            )
        )
        item.done("concept")
    result = _make(
        node, lambda: ConceptSet(node.req_int("id"), node.get_str("name", "") or "", tuple(items))
    )
    node.done("concept set")
    assert isinstance(result, ConceptSet)
    return result


def _read_primary(node: Node) -> PrimaryCriteria:
    criteria = tuple(_read_criterion(n) for n in node.nodes("events"))
    before = after = 0
    if (obs := node.node("observation")) is not None:
        before = obs.get_int("before", 0) or 0
        after = obs.get_int("after", 0) or 0
        obs.done("observation")
    limit = _limit(node, "limit", Limit.ALL)
    node.done("entry")
    result = _make(node, lambda: PrimaryCriteria(criteria, before, after, limit))
    assert isinstance(result, PrimaryCriteria)
    return result


def _read_rule(node: Node) -> InclusionRule:
    name = node.get_str("name", "") or ""
    description = node.get_str("description", "") or ""
    group = _read_group(node, ignore=("name", "description"))
    return InclusionRule(name, group, description)


def _read_exit(node: Node) -> ExitStrategy | None:
    result: ExitStrategy | None = None
    if (off := node.node("offset")) is not None:
        field = off.get_str("from", "start_date") or "start_date"
        if field not in ("start_date", "end_date"):
            raise off.error(f"unknown date {field!r} (start_date or end_date)", "from")
        result = DateOffsetExit(DateField(field), off.get_int("days", 0) or 0)
        off.done("offset exit")
    elif (era := node.node("drug_era")) is not None:
        result = DrugExposureExit(
            era.req_int("concept_set"),
            era.get_int("gap_days", 0) or 0,
            era.get_int("persistence", 0) or 0,
            era.get_int("days_supply"),
        )
        era.done("drug era exit")
    else:
        node.raw("observation_end")
    node.done("exit")
    return result


def _read_test(node: Node, key: str, kind: AttrKind) -> Test:
    value = node.raw(key)
    path = node.child_path(key)
    if kind is AttrKind.FLAG:
        if value is not True:
            raise node.error("a flag attribute takes true", key)
        return Flag()
    if kind is AttrKind.CONCEPTS:
        if isinstance(value, list):
            return ConceptIn(tuple(_int(v, node, key) for v in value))
        sub = Node(value, path, node.source)
        if sub.has("concept_set"):
            result: Test = CodesetIn(sub.req_int("concept_set"), sub.get_bool("exclude"))
        else:
            ids = sub.raw("concepts", [])
            result = ConceptIn(
                tuple(_int(v, sub, "concepts") for v in ids), sub.get_bool("exclude")
            )
        sub.done("concept test")
        return result
    sub = Node(value, path, node.source)
    entries = list(sub.items())
    if len(entries) != 1:
        raise node.error("a test has exactly one operator (gte: 18, between: [1, 2], ...)", key)
    op, arg = entries[0]
    if kind is AttrKind.TEXT:
        if op not in TEXT_OPS:
            raise sub.error(f"unknown text operator {op!r} ({', '.join(TEXT_OPS)})", op)
        return TextFilter(TEXT_OPS[op], str(arg))
    if op not in RANGE_OPS:
        raise sub.error(f"unknown operator {op!r} ({', '.join(RANGE_OPS)})", op)
    rop = RANGE_OPS[op]
    values = arg if isinstance(arg, list) else [arg]
    if len(values) != (2 if rop.is_between else 1):
        raise sub.error(f"{op} takes {'two values' if rop.is_between else 'one value'}", op)
    try:
        if kind is AttrKind.DATE:
            dates = [v if isinstance(v, date) else date.fromisoformat(str(v)) for v in values]
            return DateRange(rop, dates[0], dates[1] if rop.is_between else None)
        nums = [float(v) for v in values]
        return NumericRange(rop, nums[0], nums[1] if rop.is_between else None)
    except (TypeError, ValueError):
        raise sub.error(f"bad value {arg!r}", op) from None


def _int(v: Any, node: Node, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise node.error(f"expected concept ids, found {v!r}", key)
    return v


def _read_criterion(node: Node) -> Criterion:
    entries = list(node.items())
    if len(entries) != 1:
        raise node.error(f"an event criterion names one domain, found {len(entries)}")
    key, value = entries[0]
    try:
        domain = Domain(key)
    except ValueError:
        allowed = ", ".join(d.value for d in Domain)
        raise node.error(f"unknown domain {key!r} ({allowed})", key) from None
    body = Node(value if value is not None else {}, node.child_path(key), node.source)
    spec = DOMAINS[domain]
    filters = []
    for k in body.keys():  # noqa: SIM118 (Node is not a dict)
        if k in spec.attributes:
            filters.append(Filter(k, _read_test(body, k, spec.attributes[k])))
    correlated = _read_group(w) if (w := body.node("where")) is not None else None
    adjustment = None
    if (a := body.node("date_adjustment")) is not None:
        adjustment = DateAdjustment(
            DateField(a.get_str("start_with", "start_date") or "start_date"),
            a.get_int("start_offset", 0) or 0,
            DateField(a.get_str("end_with", "end_date") or "end_date"),
            a.get_int("end_offset", 0) or 0,
        )
        a.done("date adjustment")
    period = _period(p) if (p := body.node("user_period")) is not None else None
    codeset = body.get_int("concept_set")
    source = body.get_int("source_concept_set")
    first = body.get_bool("first")
    body.done(f"{key} criterion")
    result = _make(
        body,
        lambda: Criterion(
            domain, codeset, source, first, tuple(filters), correlated, adjustment, period
        ),
    )
    assert isinstance(result, Criterion)
    return result


def _period(node: Node) -> Period:
    result = _make(node, lambda: Period(node.get_date("start"), node.get_date("end")))
    node.done("period")
    assert isinstance(result, Period)
    return result


def _read_bound(node: Node, key: str, default_coeff: int) -> WindowBound:
    value = node.raw(key)
    if value is None:
        return WindowBound(None, default_coeff)
    if value in ("all_before", "all_after"):
        return WindowBound(None, -1 if value == "all_before" else 1)
    if value in ("-0", "+0"):
        return WindowBound(0, -1 if value == "-0" else 1)
    days = node.get_int(key)
    assert days is not None
    return WindowBound(abs(days), -1 if days < 0 else (1 if days > 0 else default_coeff))


def _read_window(node: Node, default_event_end: bool) -> Window:
    w = Window(
        _read_bound(node, "start", -1),
        _read_bound(node, "end", 1),
        node.get_bool("index_end"),
        node.get_bool("event_end", default_event_end),
    )
    node.done("window")
    return w


def _read_member(node: Node) -> CorrelatedCriterion | DemographicCriterion | CriteriaGroup:
    if node.has("demographics"):
        d = node.node("demographics")
        assert d is not None
        age = None
        if d.has("age"):
            t = _read_test(d, "age", AttrKind.NUMERIC)
            assert isinstance(t, NumericRange)
            age = t
        dates = []
        for k in ("start_date", "end_date"):
            t2 = _read_test(d, k, AttrKind.DATE) if d.has(k) else None
            assert t2 is None or isinstance(t2, DateRange)
            dates.append(t2)
        ids = {
            k: tuple(_int(v, d, k) for v in d.raw(k, [])) for k in ("gender", "race", "ethnicity")
        }
        d.done("demographics")
        node.done("demographic criterion")
        return DemographicCriterion(
            age, ids["gender"], ids["race"], ids["ethnicity"], dates[0], dates[1]
        )
    if node.has("events"):
        kinds = [k for k in ("exactly", "at_most", "at_least") if node.has(k)]
        if len(kinds) != 1:
            raise node.error("a correlated criterion has one of exactly, at_most, at_least")
        kind = {v: k for k, v in OCC_KEYS.items()}[kinds[0]]
        events = node.node("events")
        win = node.node("window")
        if events is None or win is None:
            raise node.error("a correlated criterion needs events and a window")
        end = node.node("end_window")
        distinct = node.raw("distinct", False)
        column = None
        if isinstance(distinct, str):
            try:
                column = CountColumn(distinct)
            except ValueError:
                raise node.error(f"unknown count column {distinct!r}", "distinct") from None
        occurrence = _make(
            node, lambda: Occurrence(kind, node.req_int(kinds[0]), bool(distinct), column)
        )
        result = CorrelatedCriterion(
            criterion=_read_criterion(events),
            start_window=_read_window(win, False),
            occurrence=occurrence,
            end_window=None if end is None else _read_window(end, True),
            restrict_visit=node.get_bool("same_visit"),
            ignore_observation_period=node.get_bool("ignore_observation_period"),
        )
        node.done("correlated criterion")
        return result
    return _read_group(node)


def _read_group(node: Node, *, ignore: tuple[str, ...] = ()) -> CriteriaGroup:
    for key, kind in (("all", GroupType.ALL), ("any", GroupType.ANY)):
        if node.has(key):
            members = [_read_member(m) for m in node.nodes(key)]
            node.done("criteria group", ignore=(*ignore, "limit"))
            return _split(node, kind, members, None)
    for key, kind in (("at_least", GroupType.AT_LEAST), ("at_most", GroupType.AT_MOST)):
        if node.has(key) and node.has("of"):
            members = [_read_member(m) for m in node.nodes("of")]
            count = node.req_int(key)
            node.done("criteria group", ignore=(*ignore, "limit"))
            return _split(node, kind, members, count)
    raise node.error("a group needs all:, any:, or at_least:/at_most: with of:")


def _split(node: Node, kind: GroupType, members: list[Any], count: int | None) -> CriteriaGroup:
    result = _make(
        node,
        lambda: CriteriaGroup(
            kind,
            tuple(m for m in members if isinstance(m, CorrelatedCriterion)),
            tuple(m for m in members if isinstance(m, DemographicCriterion)),
            tuple(m for m in members if isinstance(m, CriteriaGroup)),
            count,
        ),
    )
    assert isinstance(result, CriteriaGroup)
    return result
