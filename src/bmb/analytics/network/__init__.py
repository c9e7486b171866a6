"""The comorbidity network: which chronic conditions occur together more than by chance.

For each pair of registry conditions, among the residents on a reference date
(Hidalgo et al., *PLoS Comput Biol* 2009;5:e1000353):

* **relative risk** ``RR = C N / (P_i P_j)``: co-occurrence over what independence
  predicts, with the Katz log interval the paper uses;
* **phi coefficient** (Pearson correlation of the two flags), with a Fisher-z interval
  and the t-test of the paper;
* **age-and-sex-adjusted relative risk**: observed co-occurrence over the expected
  count summed over age-band and sex strata (indirect standardization), with an exact
  Poisson interval and test. In a region where a third are over 65, two conditions of
  old age co-occur by age alone; the adjusted RR says whether they do beyond it.

Edges are the pairs whose adjusted RR is above 1 with Benjamini-Hochberg false
discovery rate below ``alpha`` across all pairs. The network exports to GraphML
(Gephi, Cytoscape, networkx) and draws as a circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
from scipy import stats

from bmb.analytics.population import provenance
from bmb.analytics.registry import RegistryResult
from bmb.analytics.stats.multiple import benjamini_hochberg
from bmb.domain.errors import UsageError
from bmb.domain.provenance import Provenance

if TYPE_CHECKING:
    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class Network:
    """Nodes (conditions) and every pair's measures for one reference year."""

    year: int
    nodes: pa.Table  # condition, label, group, cases, population, prevalence
    pairs: pa.Table  # one row per pair, edge marks the network's edges
    alpha: float
    provenance: Provenance

    @property
    def edges(self) -> pa.Table:
        return self.pairs.filter(self.pairs.column("edge"))


def _poisson_p(observed: float, expected: float) -> float:
    """Two-sided exact Poisson test (doubling the smaller tail, capped at 1)."""
    if expected <= 0:
        return math.nan
    lower = float(stats.poisson.cdf(observed, expected))
    upper = float(stats.poisson.sf(observed - 1, expected))
    return min(1.0, 2 * min(lower, upper))


def comorbidity_network(
    engine: Engine, registry: RegistryResult, year: int, *, alpha: float = 0.05
) -> Network:
    """Pairwise measures among the residents of ``year``'s reference date."""
    if year not in {d.year for d in registry.spec.reference_dates}:
        raise UsageError(f"the registry has no reference date in {year}")
    pop, reg = registry.population, registry.table
    strata = engine.query(
        f"SELECT age_band, coalesce(sex, '?') AS sex, count(*) AS n FROM {pop} "
        f"WHERE year = {year} GROUP BY ALL"
    ).to_pylist()
    n_by_stratum = {(r["age_band"], r["sex"]): int(r["n"]) for r in strata}
    big_n = sum(n_by_stratum.values())
    cases = engine.query(
        f"SELECT r.condition, p.age_band, coalesce(p.sex, '?') AS sex, count(*) AS n "
        f"FROM {reg} r JOIN {pop} p ON p.person_id = r.person_id AND p.year = r.year "
        f"WHERE r.year = {year} GROUP BY ALL"
    ).to_pylist()
    pairs_rows = engine.query(
        f"SELECT a.condition AS ci, b.condition AS cj, count(*) AS c FROM {reg} a "
        f"JOIN {reg} b ON a.person_id = b.person_id AND a.year = b.year "
        f"AND a.condition < b.condition WHERE a.year = {year} GROUP BY ALL"
    ).to_pylist()
    names = list(registry.rules.names)
    by_cond: dict[str, dict[tuple[str, str], int]] = {c: {} for c in names}
    for r in cases:
        by_cond[r["condition"]][(r["age_band"], r["sex"])] = int(r["n"])
    totals = {c: sum(v.values()) for c, v in by_cond.items()}
    co = {(r["ci"], r["cj"]): int(r["c"]) for r in pairs_rows}
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for i, ci in enumerate(names):
        for cj in names[i + 1 :]:
            a, b = (ci, cj) if ci < cj else (cj, ci)
            rows.append(_pair(a, b, co.get((a, b), 0), totals, by_cond, n_by_stratum, big_n, z))
    table = pa.Table.from_pylist(rows)
    if table.num_rows:
        q_phi = benjamini_hochberg(np.asarray(table.column("p_phi").to_numpy(zero_copy_only=False)))
        q_adj = benjamini_hochberg(
            np.asarray(table.column("p_adjusted").to_numpy(zero_copy_only=False))
        )
        rr_adj = np.asarray(table.column("rr_adjusted").to_numpy(zero_copy_only=False))
        edge = (q_adj < alpha) & (rr_adj > 1)
        table = table.append_column("q_phi", pa.array(q_phi))
        table = table.append_column("q_adjusted", pa.array(q_adj))
        table = table.append_column("edge", pa.array(edge))
    nodes = pa.Table.from_pylist(
        [
            {
                "condition": c.name,
                "label": c.label,
                "group": c.group,
                "cases": totals[c.name],
                "population": big_n,
                "prevalence": 100 * totals[c.name] / big_n if big_n else math.nan,
            }
            for c in registry.rules.conditions
        ]
    )
    return Network(year, nodes, table, alpha, provenance(engine))


def _pair(
    a: str,
    b: str,
    c: int,
    totals: dict[str, int],
    by_cond: dict[str, dict[tuple[str, str], int]],
    strata: dict[tuple[str, str], int],
    n: int,
    z: float,
) -> dict[str, object]:
    pi, pj = totals[a], totals[b]
    nan = math.nan
    expected = pi * pj / n if n else nan
    rr = c / expected if expected and expected > 0 else nan
    rr_lo = rr_hi = nan
    if c > 0 and pi > 0 and pj > 0:
        var = 1 / c + 1 / (pi * pj) - 1 / n - 1 / n**2
        sd = math.sqrt(max(var, 0.0))
        rr_lo, rr_hi = rr * math.exp(-z * sd), rr * math.exp(z * sd)
    denom = pi * pj * (n - pi) * (n - pj)
    phi = (c * n - pi * pj) / math.sqrt(denom) if denom > 0 else nan
    phi_lo = phi_hi = p_phi = nan
    if not math.isnan(phi) and n > 3:
        clipped = max(min(phi, 0.999999), -0.999999)
        f = math.atanh(clipped)
        phi_lo, phi_hi = math.tanh(f - z / math.sqrt(n - 3)), math.tanh(f + z / math.sqrt(n - 3))
        t = clipped * math.sqrt(n - 2) / math.sqrt(1 - clipped**2)
        p_phi = float(2 * stats.t.sf(abs(t), n - 2))
    e_adj = sum(
        by_cond[a].get(s, 0) * by_cond[b].get(s, 0) / ns for s, ns in strata.items() if ns > 0
    )
    rr_adj = c / e_adj if e_adj > 0 else nan
    lo_c = 0.0 if c == 0 else float(stats.chi2.ppf(0.025, 2 * c)) / 2
    hi_c = float(stats.chi2.ppf(0.975, 2 * c + 2)) / 2
    return {
        "condition_a": a,
        "condition_b": b,
        "population": n,
        "cases_a": pi,
        "cases_b": pj,
        "together": c,
        "expected": expected,
        "rr": rr,
        "rr_lower": rr_lo,
        "rr_upper": rr_hi,
        "phi": phi,
        "phi_lower": phi_lo,
        "phi_upper": phi_hi,
        "p_phi": p_phi,
        "expected_adjusted": e_adj,
        "rr_adjusted": rr_adj,
        "rr_adjusted_lower": lo_c / e_adj if e_adj > 0 else nan,
        "rr_adjusted_upper": hi_c / e_adj if e_adj > 0 else nan,
        "p_adjusted": _poisson_p(c, e_adj),
    }


def to_graphml(net: Network) -> str:
    """The network as GraphML: nodes with prevalence, edges with RR, phi and q-values."""
    node_keys = [
        ("label", "string"),
        ("group", "string"),
        ("cases", "long"),
        ("prevalence", "double"),
    ]
    edge_keys = [
        ("rr", "double"),
        ("rr_adjusted", "double"),
        ("phi", "double"),
        ("q_adjusted", "double"),
        ("together", "long"),
    ]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    for name, kind in node_keys:
        out.append(f'  <key id="n_{name}" for="node" attr.name="{name}" attr.type="{kind}"/>')
    for name, kind in edge_keys:
        out.append(f'  <key id="e_{name}" for="edge" attr.name="{name}" attr.type="{kind}"/>')
    out.append(f'  <graph id="comorbidity_{net.year}" edgedefault="undirected">')
    for r in net.nodes.to_pylist():
        out.append(f"    <node id={quoteattr(r['condition'])}>")
        for name, _ in node_keys:
            out.append(f'      <data key="n_{name}">{escape(str(r[name]))}</data>')
        out.append("    </node>")
    for k, r in enumerate(net.edges.to_pylist()):
        out.append(
            f'    <edge id="e{k}" source={quoteattr(r["condition_a"])} '
            f"target={quoteattr(r['condition_b'])}>"
        )
        for name, _ in edge_keys:
            out.append(f'      <data key="e_{name}">{escape(str(r[name]))}</data>')
        out.append("    </edge>")
    out += ["  </graph>", "</graphml>", ""]
    return "\n".join(out)
