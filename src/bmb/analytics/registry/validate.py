"""How well the registry finds the conditions people really have (synthetic region only).

On real data nobody knows the truth; on the synthetic region the generator does (each
person's latent conditions and onset dates, ``truth/persons.parquet``). Comparing the
registry's flags with it on each reference date gives, per condition, the sensitivity
(share of true cases flagged) and the positive predictive value (share of flags that are
true cases), with Wilson intervals, and how much each source contributes: the numbers a
steward needs before changing a look-back window or a dispensing threshold.
"""

from __future__ import annotations

import math

import pyarrow as pa

from bmb.analytics.rates.intervals import wilson
from bmb.analytics.registry.build import SOURCES, RegistryResult
from bmb.domain.errors import UsageError
from bmb.engines.base import Engine
from bmb.engines.capabilities import load_arrow

TRUTH_TABLE = "bmb_truth_persons"


def truth_conditions(truth: pa.Table, rules_names: tuple[str, ...]) -> list[str]:
    """Conditions both in the rules and in the truth (``onset_<name>`` columns)."""
    have = {n.removeprefix("onset_") for n in truth.column_names if n.startswith("onset_")}
    return [n for n in rules_names if n in have]


def validate_registry(engine: Engine, registry: RegistryResult, truth: pa.Table) -> pa.Table:
    """Sensitivity, PPV and specificity per year and condition against ``truth``.

    ``truth`` has ``person_id`` and an ``onset_<condition>`` date column per condition
    (NULL: never). A true case on a reference date has its onset on or before it.
    """
    if "person_id" not in truth.column_names:
        raise UsageError("the truth table needs a person_id column (link it with the key)")
    names = truth_conditions(truth, registry.rules.names)
    if not names:
        raise UsageError("the truth has no onset_<condition> column matching the rules")
    keep = ["person_id", *(f"onset_{n}" for n in names)]
    load_arrow(engine, TRUTH_TABLE, truth.select(keep))
    via = ", ".join(f"coalesce(r.via_{s}, false) AS via_{s}" for s in SOURCES)
    per_source = ", ".join(f"count(*) FILTER (WHERE truth AND via_{s}) AS tp_{s}" for s in SOURCES)
    blocks = []
    for name in names:
        blocks.append(
            f"""
            SELECT p.year, '{name}' AS condition,
                   coalesce(t.onset_{name} <= p.ref_date, false) AS truth,
                   r.person_id IS NOT NULL AS flagged, {via}
            FROM {registry.population} p
            LEFT JOIN {TRUTH_TABLE} t ON t.person_id = p.person_id
            LEFT JOIN {registry.table} r ON r.person_id = p.person_id AND r.year = p.year
                 AND r.condition = '{name}'
            """
        )
    sql = f"""
        SELECT year, condition,
               count(*) FILTER (WHERE truth AND flagged) AS tp,
               count(*) FILTER (WHERE NOT truth AND flagged) AS fp,
               count(*) FILTER (WHERE truth AND NOT flagged) AS fn,
               count(*) FILTER (WHERE NOT truth AND NOT flagged) AS tn,
               {per_source}
        FROM ({" UNION ALL ".join(blocks)}) x
        GROUP BY year, condition ORDER BY condition, year
    """
    rows = engine.query(sql).to_pylist()
    order = {n: i for i, n in enumerate(names)}
    rows.sort(key=lambda r: (order[r["condition"]], r["year"]))
    return pa.Table.from_pylist([_measures(r) for r in rows])


def _measures(r: dict[str, int]) -> dict[str, object]:
    tp, fp, fn, tn = (int(r[k]) for k in ("tp", "fp", "fn", "tn"))
    n = tp + fp + fn + tn
    sens, ppv, spec = wilson(tp, tp + fn), wilson(tp, tp + fp), wilson(tn, tn + fp)
    out: dict[str, object] = {
        "year": r["year"],
        "condition": r["condition"],
        "population": n,
        "true_cases": tp + fn,
        "flagged": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "true_prevalence": (tp + fn) / n if n else math.nan,
        "registry_prevalence": (tp + fp) / n if n else math.nan,
        "sensitivity": sens.value,
        "sensitivity_lower": sens.lower,
        "sensitivity_upper": sens.upper,
        "ppv": ppv.value,
        "ppv_lower": ppv.lower,
        "ppv_upper": ppv.upper,
        "specificity": spec.value,
    }
    for s in SOURCES:
        out[f"sensitivity_{s}"] = int(r[f"tp_{s}"]) / (tp + fn) if tp + fn else math.nan
    return out
