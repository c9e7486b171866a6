"""The words of BMB's cohort text form, shared by its writer and its reader."""

from __future__ import annotations

from bmb.domain.cohort.criteria import GroupType, OccurrenceType
from bmb.domain.cohort.values import RangeOp, TextOp

RANGE_KEYS = {
    RangeOp.LT: "lt",
    RangeOp.LTE: "lte",
    RangeOp.EQ: "eq",
    RangeOp.NEQ: "ne",
    RangeOp.GT: "gt",
    RangeOp.GTE: "gte",
    RangeOp.BETWEEN: "between",
    RangeOp.NOT_BETWEEN: "not_between",
}
RANGE_OPS = {v: k for k, v in RANGE_KEYS.items()}
TEXT_KEYS = {
    TextOp.STARTS_WITH: "starts_with",
    TextOp.ENDS_WITH: "ends_with",
    TextOp.CONTAINS: "contains",
    TextOp.NOT_STARTS_WITH: "not_starts_with",
    TextOp.NOT_ENDS_WITH: "not_ends_with",
    TextOp.NOT_CONTAINS: "not_contains",
}
TEXT_OPS = {v: k for k, v in TEXT_KEYS.items()}
OCC_KEYS = {
    OccurrenceType.EXACTLY: "exactly",
    OccurrenceType.AT_MOST: "at_most",
    OccurrenceType.AT_LEAST: "at_least",
}
GROUP_KEYS = {GroupType.AT_LEAST: "at_least", GroupType.AT_MOST: "at_most"}
