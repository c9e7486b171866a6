"""Import an ATLAS / Circe cohort expression (JSON) into BMB's cohort model.

The import is exact: every Circe feature maps to a model element with the same
meaning, and a feature BMB cannot honour is an error naming its path in the JSON,
never dropped. Circe's conventions are made explicit on the way in (an end window
without ``UseEventEnd`` uses the event end; a missing limit is ``First``), so the
model needs no knowledge of Circe's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bmb.domain.cohort._reader import Node
from bmb.domain.cohort.circe_kinds import CODESET, CONCEPTS, DATE, FLAG, KINDS, NUM, TEXT
from bmb.domain.cohort.criteria import (
    CorrelatedCriterion,
    CountColumn,
    CriteriaGroup,
    Criterion,
    DateAdjustment,
    DateField,
    DemographicCriterion,
    Filter,
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

_T = TypeVar("_T")

_TOP_LEVEL_IGNORED = ("cdmVersionRange", "Title", "Description", "Name", "Id")


def from_circe(data: Mapping[str, Any], *, source: str | None = None) -> CohortDefinition:
    """Build a cohort definition from a parsed Circe expression.

    ``source`` (a file name) prefixes error messages. Raises
    :class:`CohortDefinitionError` naming the JSON path of anything unsupported.
    """
    root = Node(data, "", source)
    concept_sets = tuple(_concept_set(n) for n in root.nodes("ConceptSets"))
    pc = root.node("PrimaryCriteria")
    if pc is None:
        raise root.error("is required", "PrimaryCriteria")
    primary = _primary(pc)
    additional = _group(ac) if (ac := root.node("AdditionalCriteria")) is not None else None
    rules = tuple(_rule(n) for n in root.nodes("InclusionRules"))
    exit_ = _exit(es) if (es := root.node("EndStrategy")) is not None else None
    censoring = tuple(_criterion(n) for n in root.nodes("CensoringCriteria"))
    era_pad = 0
    if (cs := root.node("CollapseSettings")) is not None:
        era_pad = cs.get_int("EraPad", 0) or 0
        kind = (cs.get_str("CollapseType", "ERA") or "ERA").upper()
        if kind != "ERA":
            raise cs.error(f"unsupported collapse type {kind!r} (only ERA)", "CollapseType")
        cs.done("CollapseSettings")
    window = None
    if (cw := root.node("CensorWindow")) is not None:
        window = _period(cw, "StartDate", "EndDate")
        cw.done("CensorWindow")
        window = None if window.is_empty else window
    qualified = _limit(root.node("QualifiedLimit"))
    expression = _limit(root.node("ExpressionLimit"))
    title = root.get_str("Title") or root.get_str("Name") or ""
    description = root.get_str("Description") or ""
    root.done("cohort expression", ignore=_TOP_LEVEL_IGNORED)
    return _build(
        root,
        lambda: CohortDefinition(
            primary=primary,
            concept_sets=concept_sets,
            additional=additional,
            qualified_limit=qualified,
            inclusion_rules=rules,
            expression_limit=expression,
            exit=exit_,
            censoring=censoring,
            era_pad=era_pad,
            censor_window=window,
            name=title,
            description=description,
        ),
    )


def _build(node: Node, make: Callable[[], _T]) -> _T:
    """Run a model constructor, re-raising its error with the node's path."""
    try:
        result = make()
    except CohortDefinitionError as exc:
        if exc.path:
            raise
        raise node.error(exc.message) from None
    return result


def _concept_set(node: Node) -> ConceptSet:
    cid = node.req_int("id")
    name = node.get_str("name", "") or ""
    items: list[ConceptSetItem] = []
    expr = node.node("expression")
    if expr is not None:
        for item in expr.nodes("items"):
            concept = item.node("concept")
            if concept is None:
                raise item.error("is required", "concept")
            items.append(
                ConceptSetItem(
                    concept_id=concept.req_int("CONCEPT_ID"),
                    include_descendants=item.get_bool("includeDescendants"),
                    include_mapped=item.get_bool("includeMapped"),
                    is_excluded=item.get_bool("isExcluded"),
                    concept_name=concept.get_str("CONCEPT_NAME"),
                )
            )
            item.done("concept set item")
        expr.done("concept set expression")
    node.done("concept set")
    return _build(node, lambda: ConceptSet(cid, name, tuple(items)))


def _limit(node: Node | None) -> Limit:
    if node is None:
        return Limit.FIRST
    value = (node.get_str("Type", "First") or "First").lower()
    node.done("limit")
    try:
        return Limit(value)
    except ValueError:
        raise node.error(f"unknown limit {value!r} (First, Last or All)", "Type") from None


def _primary(node: Node) -> PrimaryCriteria:
    criteria = tuple(_criterion(n) for n in node.nodes("CriteriaList"))
    prior = post = 0
    if (ow := node.node("ObservationWindow")) is not None:
        prior = ow.get_int("PriorDays", 0) or 0
        post = ow.get_int("PostDays", 0) or 0
        ow.done("observation window")
    limit = _limit(node.node("PrimaryCriteriaLimit"))
    node.done("primary criteria")
    if not criteria:
        raise node.error("at least one entry event criterion is required", "CriteriaList")
    return _build(node, lambda: PrimaryCriteria(criteria, prior, post, limit))


def _rule(node: Node) -> InclusionRule:
    name = node.get_str("name", "") or ""
    description = node.get_str("description", "") or ""
    expr = node.node("expression")
    group = CriteriaGroup() if expr is None else _group(expr)
    node.done("inclusion rule")
    return InclusionRule(name=name, group=group, description=description)


def _exit(node: Node) -> ExitStrategy | None:
    result: ExitStrategy | None = None
    if (do := node.node("DateOffset")) is not None:
        field = (do.get_str("DateField", "StartDate") or "StartDate").lower()
        if field not in ("startdate", "enddate"):
            raise do.error(f"unknown date field {field!r} (StartDate or EndDate)", "DateField")
        result = DateOffsetExit(
            DateField.START_DATE if field == "startdate" else DateField.END_DATE,
            do.get_int("Offset", 0) or 0,
        )
        do.done("date offset exit")
    elif (ce := node.node("CustomEra")) is not None:
        codeset = ce.get_int("DrugCodesetId")
        if codeset is None:
            raise ce.error(
                "a continuous drug exposure exit needs a drug concept set", "DrugCodesetId"
            )
        result = DrugExposureExit(
            codeset_id=codeset,
            gap_days=ce.get_int("GapDays", 0) or 0,
            offset=ce.get_int("Offset", 0) or 0,
            days_supply_override=ce.get_int("DaysSupplyOverride"),
        )
        ce.done("custom era exit")
    node.done("end strategy")
    return result


def _group(node: Node) -> CriteriaGroup:
    criteria = tuple(_correlated(n) for n in node.nodes("CriteriaList"))
    demographics = tuple(_demographic(n) for n in node.nodes("DemographicCriteriaList"))
    groups = tuple(_group(n) for n in node.nodes("Groups"))
    kind = node.get_str("Type", "ALL") or "ALL"
    count = node.get_int("Count")
    node.done("criteria group")
    return _build(
        node,
        lambda: CriteriaGroup(
            type=kind.upper(),  # type: ignore[arg-type]
            criteria=criteria,
            demographics=demographics,
            groups=groups,
            count=count,
        ),
    )


def _demographic(node: Node) -> DemographicCriterion:
    age = _numeric(n) if (n := node.node("Age")) is not None else None
    result = DemographicCriterion(
        age=age,
        gender=_concept_ids(node, "Gender"),
        race=_concept_ids(node, "Race"),
        ethnicity=_concept_ids(node, "Ethnicity"),
        start_date=_date_range(n) if (n := node.node("OccurrenceStartDate")) is not None else None,
        end_date=_date_range(n) if (n := node.node("OccurrenceEndDate")) is not None else None,
    )
    node.done("demographic criterion")
    return result


def _window(node: Node, *, end_window: bool) -> Window:
    start = node.node("Start")
    end = node.node("End")
    if start is None or end is None:
        raise node.error("a window needs a Start and an End")
    bounds = [_bound(start, -1), _bound(end, 1)]
    use_index_end = node.get_bool("UseIndexEnd", False)
    # Circe: an end window without UseEventEnd compares the event's end date.
    use_event_end = node.get_bool("UseEventEnd", end_window)
    node.done("window")
    return Window(bounds[0], bounds[1], use_index_end, use_event_end)


def _bound(node: Node, default_coeff: int) -> WindowBound:
    days, coeff = node.get_int("Days"), node.get_int("Coeff", default_coeff)
    node.done("window bound")
    return _build(node, lambda: WindowBound(days, coeff if coeff is not None else default_coeff))


def _occurrence(node: Node) -> Occurrence:
    column = node.get_str("CountColumn")
    count_column = None
    if column is not None:
        try:
            count_column = CountColumn(column.lower())
        except ValueError:
            allowed = ", ".join(c.value.upper() for c in CountColumn)
            raise node.error(
                f"unsupported count column {column!r} ({allowed})", "CountColumn"
            ) from None
    kind = node.get_int("Type")
    if kind is None:
        raise node.error("is required", "Type")
    result = _build(
        node,
        lambda: Occurrence(
            type=kind,  # type: ignore[arg-type]
            count=node.get_int("Count", 0) or 0,
            distinct=node.get_bool("IsDistinct"),
            count_column=count_column,
        ),
    )
    node.done("occurrence")
    return result


def _correlated(node: Node) -> CorrelatedCriterion:
    crit = node.node("Criteria")
    if crit is None:
        raise node.error("is required", "Criteria")
    start = node.node("StartWindow")
    if start is None:
        raise node.error("is required", "StartWindow")
    occ = node.node("Occurrence")
    if occ is None:
        raise node.error("is required", "Occurrence")
    end = node.node("EndWindow")
    result = CorrelatedCriterion(
        criterion=_criterion(crit),
        start_window=_window(start, end_window=False),
        occurrence=_occurrence(occ),
        end_window=None if end is None else _window(end, end_window=True),
        restrict_visit=node.get_bool("RestrictVisit"),
        ignore_observation_period=node.get_bool("IgnoreObservationPeriod"),
    )
    node.done("correlated criterion")
    return result


def _criterion(node: Node) -> Criterion:
    entries = list(node.items())
    if len(entries) != 1:
        raise node.error(f"a criterion has exactly one type, found {len(entries)}")
    key, value = entries[0]
    kind = KINDS.get(key.lower())
    if kind is None:
        raise node.error(f"unsupported criterion type {key!r}", key)
    body = Node(value, node.child_path(key), node.source)
    filters: list[Filter] = []
    for ckey in body.keys():  # noqa: SIM118 (Node is not a dict)
        low = ckey.lower()
        if low in kind.attrs:
            attribute, how = kind.attrs[low]
            test = _test(body, ckey, how)
            if test is not None:
                filters.append(Filter(attribute, test))
    if kind.type_key is not None and body.has(kind.type_key):
        ids = _concept_ids(body, kind.type_key)
        if ids:
            filters.append(Filter("type", ConceptIn(ids, body.get_bool(kind.type_key + "Exclude"))))
    if kind.type_key is not None:
        body.raw(kind.type_key + "Exclude")
    correlated = _group(cc) if (cc := body.node("CorrelatedCriteria")) is not None else None
    if correlated is not None and correlated.is_empty:
        correlated = None
    adjustment = _adjustment(da) if (da := body.node("DateAdjustment")) is not None else None
    user_period = None
    if (up := body.node("UserDefinedPeriod")) is not None:
        user_period = _period(up, "StartDate", "EndDate")
        up.done("user defined period")
    codeset = body.get_int("CodesetId")
    source = body.get_int(kind.source_key) if kind.source_key else None
    first = body.get_bool("First")
    body.done(f"{key} criterion")
    return _build(
        body,
        lambda: Criterion(
            domain=kind.domain,
            codeset_id=codeset,
            source_codeset_id=source,
            first=first,
            filters=tuple(filters),
            correlated=correlated,
            date_adjustment=adjustment,
            user_period=user_period,
        ),
    )


def _test(body: Node, key: str, how: str) -> Test | None:
    if how == NUM:
        n = body.node(key)
        return None if n is None else _numeric(n)
    if how == DATE:
        n = body.node(key)
        return None if n is None else _date_range(n)
    if how == TEXT:
        n = body.node(key)
        return None if n is None else _text(n)
    if how == CONCEPTS:
        ids = _concept_ids(body, key)
        return ConceptIn(ids) if ids else None
    if how == CODESET:
        value = body.get_int(key)
        return None if value is None else CodesetIn(value)
    if how == FLAG:
        return Flag() if body.get_bool(key) else None
    raise AssertionError(how)


def _numeric(node: Node) -> NumericRange:
    value = node.get_float("Value")
    if value is None:
        raise node.error("is required", "Value")
    op = node.get_str("Op", "") or ""
    extent = node.get_float("Extent")
    node.done("numeric range")
    return _build(node, lambda: NumericRange(op, value, extent))  # type: ignore[arg-type]


def _date_range(node: Node) -> DateRange:
    value = node.get_date("Value")
    if value is None:
        raise node.error("is required", "Value")
    op = node.get_str("Op", "") or ""
    extent = node.get_date("Extent")
    node.done("date range")
    return _build(node, lambda: DateRange(op, value, extent))  # type: ignore[arg-type]


def _text(node: Node) -> TextFilter:
    text = node.get_str("Text", "") or ""
    op = node.get_str("Op", "") or ""
    node.done("text filter")
    return _build(node, lambda: TextFilter(op, text))  # type: ignore[arg-type]


def _concept_ids(node: Node, key: str) -> tuple[int, ...]:
    return tuple(c.req_int("CONCEPT_ID") for c in node.nodes(key))


def _period(node: Node, start_key: str, end_key: str) -> Period:
    start, end = node.get_date(start_key), node.get_date(end_key)
    return _build(node, lambda: Period(start, end))


def _adjustment(node: Node) -> DateAdjustment:
    def field(key: str, default: DateField) -> DateField:
        value = (node.get_str(key) or "").upper()
        if not value:
            return default
        if value not in ("START_DATE", "END_DATE"):
            raise node.error(f"unknown date {value!r} (START_DATE or END_DATE)", key)
        return DateField(value.lower())

    result = DateAdjustment(
        start_with=field("StartWith", DateField.START_DATE),
        start_offset=node.get_int("StartOffset", 0) or 0,
        end_with=field("EndWith", DateField.END_DATE),
        end_offset=node.get_int("EndOffset", 0) or 0,
    )
    node.done("date adjustment")
    return result
