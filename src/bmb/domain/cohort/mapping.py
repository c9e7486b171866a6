"""BMB's own text form of a cohort definition (YAML or JSON), both ways.

The form reads like ATLAS's printed definition::

    name: GI bleed, first diagnosis
    concept_sets:
      - id: 0
        name: GI bleed
        concepts: [{id: 192671, descendants: true}]
    entry:
      events: [{condition_occurrence: {concept_set: 0, first: true}}]
      observation: {before: 365, after: 0}
      limit: first
    inclusion_rules:
      - name: no prior NSAID
        all:
          - exactly: 0
            events: {drug_exposure: {concept_set: 1}}
            window: {start: null, end: -1}
    exit: {offset: {from: start_date, days: 30}}

``to_mapping`` and ``from_mapping`` are exact inverses on every definition (a test
round-trips every ATLAS fixture). Errors name the path in the document.
"""

from __future__ import annotations

from typing import Any

from bmb.domain.cohort._mapping_keys import GROUP_KEYS, OCC_KEYS, RANGE_KEYS, TEXT_KEYS
from bmb.domain.cohort.criteria import (
    CorrelatedCriterion,
    CriteriaGroup,
    Criterion,
    DemographicCriterion,
    GroupType,
    Window,
    WindowBound,
)
from bmb.domain.cohort.definition import (
    CohortDefinition,
    ConceptSet,
    DateOffsetExit,
    DrugExposureExit,
    ExitStrategy,
)
from bmb.domain.cohort.mapping_read import from_mapping
from bmb.domain.cohort.values import (
    CodesetIn,
    ConceptIn,
    DateRange,
    Flag,
    NumericRange,
    Test,
    TextFilter,
)

__all__ = ["from_mapping", "to_mapping"]

# ---------------------------------------------------------------------------- writing


def to_mapping(d: CohortDefinition) -> dict[str, Any]:
    """The definition as plain data (dicts, lists, str, int, float, bool, date, None)."""
    out: dict[str, Any] = {}
    if d.name:
        out["name"] = d.name
    if d.description:
        out["description"] = d.description
    out["concept_sets"] = [_concept_set(cs) for cs in d.concept_sets]
    out["entry"] = {
        "events": [_criterion(c) for c in d.primary.criteria],
        "observation": {"before": d.primary.prior_days, "after": d.primary.post_days},
        "limit": d.primary.limit.value,
    }
    if d.additional is not None:
        out["qualify"] = {**_group(d.additional), "limit": d.qualified_limit.value}
    if d.inclusion_rules:
        out["inclusion_rules"] = [
            {
                "name": r.name,
                **({"description": r.description} if r.description else {}),
                **_group(r.group),
            }
            for r in d.inclusion_rules
        ]
    out["limit"] = d.expression_limit.value
    out["exit"] = _exit(d.exit)
    if d.censoring:
        out["censoring"] = [_criterion(c) for c in d.censoring]
    if d.censor_window is not None:
        out["censor_window"] = {"start": d.censor_window.start, "end": d.censor_window.end}
    out["era_pad"] = d.era_pad
    return out


def _concept_set(cs: ConceptSet) -> dict[str, Any]:
    items = []
    for i in cs.items:
        item: dict[str, Any] = {"id": i.concept_id}
        if i.include_descendants:
            item["descendants"] = True
        if i.include_mapped:
            item["mapped"] = True
        if i.is_excluded:
            item["exclude"] = True
        if i.concept_name:
            item["name"] = i.concept_name
        items.append(item)
    return {"id": cs.id, "name": cs.name, "concepts": items}


def _exit(x: ExitStrategy | None) -> dict[str, Any]:
    if isinstance(x, DateOffsetExit):
        return {"offset": {"from": x.date_field.value, "days": x.offset}}
    if isinstance(x, DrugExposureExit):
        body: dict[str, Any] = {
            "concept_set": x.codeset_id,
            "gap_days": x.gap_days,
            "persistence": x.offset,
        }
        if x.days_supply_override is not None:
            body["days_supply"] = x.days_supply_override
        return {"drug_era": body}
    return {"observation_end": {}}


def _test(t: Test) -> Any:
    if isinstance(t, NumericRange):

        def n(v: float) -> int | float:
            return int(v) if float(v).is_integer() else v

        key = RANGE_KEYS[t.op]
        return {key: [n(t.value), n(t.extent)] if t.extent is not None else n(t.value)}
    if isinstance(t, DateRange):
        key = RANGE_KEYS[t.op]
        return {key: [t.value, t.extent] if t.extent is not None else t.value}
    if isinstance(t, TextFilter):
        return {TEXT_KEYS[t.op]: t.text}
    if isinstance(t, ConceptIn):
        return (
            {"concepts": list(t.concept_ids), "exclude": True} if t.exclude else list(t.concept_ids)
        )
    if isinstance(t, CodesetIn):
        return {"concept_set": t.codeset_id, **({"exclude": True} if t.exclude else {})}
    if isinstance(t, Flag):
        return True
    raise TypeError(type(t).__name__)


def _criterion(c: Criterion) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if c.codeset_id is not None:
        body["concept_set"] = c.codeset_id
    if c.source_codeset_id is not None:
        body["source_concept_set"] = c.source_codeset_id
    if c.first:
        body["first"] = True
    for f in c.filters:
        body[f.attribute] = _test(f.test)
    if c.date_adjustment is not None:
        a = c.date_adjustment
        body["date_adjustment"] = {
            "start_with": a.start_with.value,
            "start_offset": a.start_offset,
            "end_with": a.end_with.value,
            "end_offset": a.end_offset,
        }
    if c.user_period is not None:
        body["user_period"] = {"start": c.user_period.start, "end": c.user_period.end}
    if c.correlated is not None:
        body["where"] = _group(c.correlated)
    return {c.domain.value: body}


def _bound(b: WindowBound, default_coeff: int) -> int | str | None:
    if b.days is None:
        if b.coeff == default_coeff:
            return None
        return "all_before" if b.coeff == -1 else "all_after"
    if b.days == 0 and b.coeff != default_coeff:
        return "-0" if b.coeff == -1 else "+0"
    return b.days * b.coeff


def _window(w: Window, default_event_end: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"start": _bound(w.start, -1), "end": _bound(w.end, 1)}
    if w.use_index_end:
        out["index_end"] = True
    if w.use_event_end != default_event_end:
        out["event_end"] = w.use_event_end
    return out


def _member(m: CorrelatedCriterion | DemographicCriterion | CriteriaGroup) -> dict[str, Any]:
    if isinstance(m, CriteriaGroup):
        return _group(m)
    if isinstance(m, DemographicCriterion):
        body: dict[str, Any] = {}
        if m.age is not None:
            body["age"] = _test(m.age)
        for name in ("gender", "race", "ethnicity"):
            if getattr(m, name):
                body[name] = list(getattr(m, name))
        if m.start_date is not None:
            body["start_date"] = _test(m.start_date)
        if m.end_date is not None:
            body["end_date"] = _test(m.end_date)
        return {"demographics": body}
    occ = m.occurrence
    out: dict[str, Any] = {OCC_KEYS[occ.type]: occ.count, "events": _criterion(m.criterion)}
    out["window"] = _window(m.start_window, False)
    if m.end_window is not None:
        out["end_window"] = _window(m.end_window, True)
    if occ.distinct:
        out["distinct"] = occ.count_column.value if occ.count_column is not None else True
    if m.restrict_visit:
        out["same_visit"] = True
    if m.ignore_observation_period:
        out["ignore_observation_period"] = True
    return out


def _group(g: CriteriaGroup) -> dict[str, Any]:
    members = [_member(m) for m in g.criteria]
    members += [_member(m) for m in g.demographics]
    members += [_member(m) for m in g.groups]
    if g.type in (GroupType.ALL, GroupType.ANY):
        return {g.type.value.lower(): members}
    return {GROUP_KEYS[g.type]: g.count, "of": members}
