"""k-anonymity and l-diversity of person-level extracts, reached by generalization.

An extract is k-anonymous when every person shares their quasi-identifier values with
at least k-1 others, and distinct-l-diverse when each such class shows at least l
distinct values of every sensitive attribute. BMB searches the lattice of
generalization levels (one level per quasi-identifier, as in ARX and Incognito) for
the nodes that reach both with at most ``max_suppressed_fraction`` of the persons
suppressed, keeps the minimal ones (generalizing further only loses information:
both properties are monotone), and picks the one that loses least.

The unit is the person, not the row: a person with several rows (events) is described
by the set of their generalized rows, and classes group persons with identical sets.
For the usual one-row-per-person extract this is the textbook definition.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from bmb.domain.disclosure.hierarchies import Hierarchy
from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.disclosure.risk import RiskReport, measure_risk

Node = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ExtractRows:
    """An extract as the search sees it, one entry per row."""

    persons: Sequence[Hashable]  # whose row it is
    qi: Sequence[tuple[Hashable, ...]]  # quasi-identifier values, in hierarchy order
    sensitive: Sequence[tuple[Hashable, ...]]  # sensitive values (may be empty tuples)


@dataclass(frozen=True, slots=True)
class Evaluation:
    node: Node
    suppressed: frozenset[Hashable]  # persons in classes that fail k or l
    k: int  # smallest class among kept persons (0 if none kept)
    l_div: int  # smallest distinct count of a sensitive attribute among kept classes
    loss: float


@dataclass(frozen=True, slots=True)
class AnonymityResult:
    """The chosen generalization, what it suppresses, and the risk that remains."""

    node: Node
    levels: Mapping[str, str]  # column -> level name
    suppressed: frozenset[Hashable]
    k: int
    l_div: int
    nodes_evaluated: int
    risk: RiskReport
    satisfied: bool


Profile = tuple[tuple[Hashable, ...], ...]


class _Search:
    """Evaluates lattice nodes over distinct person profiles (their sets of QI rows)."""

    def __init__(
        self,
        rows: ExtractRows,
        hierarchies: Sequence[Hierarchy],
        policy: OutputPolicy,
    ) -> None:
        self.h = hierarchies
        self.policy = policy
        by_person: dict[Hashable, set[tuple[Hashable, ...]]] = defaultdict(set)
        sens: dict[Hashable, list[set[Hashable]]] = {}
        n_sens = len(rows.sensitive[0]) if rows.sensitive else 0
        for person, qi, s in zip(rows.persons, rows.qi, rows.sensitive, strict=True):
            by_person[person].add(tuple(qi))
            bucket = sens.setdefault(person, [set() for _ in range(n_sens)])
            for i, v in enumerate(s):
                bucket[i].add(v)
        self.n_persons = len(by_person)
        self.n_sens = n_sens
        # persons grouped by profile: the sorted tuple of their distinct QI rows
        self.members: dict[Profile, list[Hashable]] = defaultdict(list)
        self.profile_sens: dict[Profile, list[set[Hashable]]] = {}
        for person, qis in by_person.items():
            profile = tuple(sorted(qis, key=repr))
            self.members[profile].append(person)
            union = self.profile_sens.setdefault(profile, [set() for _ in range(n_sens)])
            for i in range(n_sens):
                union[i] |= sens[person][i]
        # per hierarchy: original value -> generalized value at each level
        self.tables: list[list[dict[Hashable, Hashable]]] = []
        for i, hier in enumerate(hierarchies):
            values = {qi[i] for profile in self.members for qi in profile}
            self.tables.append(
                [{v: hier.generalize(v, lv) for v in values} for lv in range(hier.top + 1)]
            )
        self.budget = int(policy.max_suppressed_fraction * self.n_persons)
        self._cache: dict[Node, dict[Profile, list[Profile]]] = {}

    def signature(self, profile: Profile, node: Node) -> Profile:
        maps = [self.tables[i][lv] for i, lv in enumerate(node)]
        if len(profile) == 1:  # the usual one-row-per-person extract: nothing to sort
            qi = profile[0]
            return (tuple(m[v] for m, v in zip(maps, qi, strict=True)),)
        gen = {tuple(m[v] for m, v in zip(maps, qi, strict=True)) for qi in profile}
        return tuple(sorted(gen, key=repr))

    def classes(self, node: Node) -> dict[Profile, list[Profile]]:
        """Generalized signature -> the profiles that share it.

        Classes at a node are unions of classes at any less general node (generalizing
        is a function of the less general value), so they are built from the classes of
        a node evaluated just before, one representative per class, when there is one.
        """
        height = sum(node)
        for old in [n for n in self._cache if sum(n) < height - 1]:
            del self._cache[old]
        finer = [
            n
            for n in self._cache
            if n != node and all(a <= b for a, b in zip(n, node, strict=True))
        ]
        out: dict[Profile, list[Profile]] = defaultdict(list)
        if finer:
            base = self._cache[max(finer, key=sum)]
            for profiles in base.values():
                out[self.signature(profiles[0], node)].extend(profiles)
        else:
            for profile in self.members:
                out[self.signature(profile, node)].append(profile)
        self._cache[node] = out
        return out

    def evaluate(self, node: Node) -> Evaluation:
        suppressed: set[Hashable] = set()
        kmin = 0
        lmin = 0
        for profiles in self.classes(node).values():
            size = sum(len(self.members[p]) for p in profiles)
            ldiv = self._diversity(profiles)
            if size < self.policy.k or (self.n_sens and ldiv < self.policy.l_diversity):
                for p in profiles:
                    suppressed.update(self.members[p])
                continue
            kmin = size if kmin == 0 else min(kmin, size)
            lmin = ldiv if lmin == 0 else min(lmin, ldiv)
        n = max(1, self.n_persons)
        height = sum(lv / h.top for lv, h in zip(node, self.h, strict=True)) / max(1, len(node))
        loss = height + len(suppressed) / n
        return Evaluation(node, frozenset(suppressed), kmin, lmin, loss)

    def _diversity(self, profiles: list[Profile]) -> int:
        if not self.n_sens:
            return 0
        counts = []
        for i in range(self.n_sens):
            seen: set[Hashable] = set()
            for p in profiles:
                seen |= self.profile_sens[p][i]
            counts.append(len(seen))
        return min(counts)

    def ok(self, ev: Evaluation) -> bool:
        return len(ev.suppressed) <= self.budget


def anonymize(
    rows: ExtractRows,
    hierarchies: Sequence[Hierarchy],
    policy: OutputPolicy,
    *,
    population: Mapping[tuple[Hashable, ...], int] | None = None,
) -> AnonymityResult:
    """Find the least-loss generalization that reaches k and l within the budget.

    ``population`` counts the region's residents by their finest demographic values
    (the hierarchies marked ``demographic``, in order), for the journalist risk.
    """
    search = _Search(rows, hierarchies, policy)
    groups: list[str] = []
    for h in hierarchies:
        if h.group_key not in groups:
            groups.append(h.group_key)
    member_of = [groups.index(h.group_key) for h in hierarchies]
    tops = [max(h.top for h in hierarchies if h.group_key == g) for g in groups]

    def expand(gnode: Node) -> Node:
        return tuple(min(gnode[g], h.top) for g, h in zip(member_of, hierarchies, strict=True))

    gnodes = sorted(itertools.product(*(range(t + 1) for t in tops)), key=lambda n: (sum(n), n))
    minimal: list[tuple[Node, Evaluation]] = []
    evaluated = 0
    for gnode in gnodes:
        if any(all(a >= b for a, b in zip(gnode, m, strict=True)) for m, _ in minimal):
            continue  # more general than a node that already works: not minimal
        ev = search.evaluate(expand(gnode))
        evaluated += 1
        if search.ok(ev):
            minimal.append((gnode, ev))
    if minimal:
        best = min((ev for _, ev in minimal), key=lambda e: (e.loss, e.node))
        satisfied = True
    else:  # hide everything: one class of all persons (k-anonymous if there are k)
        best = search.evaluate(expand(tuple(tops)))
        satisfied = search.ok(best)
    risk = _risk(search, best, hierarchies, population, policy.k)
    levels = {h.column: h.level_names[lv] for h, lv in zip(hierarchies, best.node, strict=True)}
    return AnonymityResult(
        node=best.node,
        levels=levels,
        suppressed=best.suppressed,
        k=best.k,
        l_div=best.l_div,
        nodes_evaluated=evaluated,
        risk=risk,
        satisfied=satisfied,
    )


def generalize_row(
    qi: tuple[Hashable, ...], node: Node, hierarchies: Sequence[Hierarchy]
) -> tuple[Hashable, ...]:
    """One row's quasi-identifiers at a node of the lattice."""
    return tuple(h.generalize(v, lv) for v, lv, h in zip(qi, node, hierarchies, strict=True))


def _risk(
    search: _Search,
    ev: Evaluation,
    hierarchies: Sequence[Hierarchy],
    population: Mapping[tuple[Hashable, ...], int] | None,
    k: int,
) -> RiskReport:
    kept_sizes: list[int] = []
    pop_sizes: list[int] | None = [] if population is not None else None
    demo = [i for i, h in enumerate(hierarchies) if h.demographic]
    pop_general: Counter[tuple[Hashable, ...]] = Counter()
    if population is not None:
        demo_h = [hierarchies[i] for i in demo]
        demo_node = tuple(ev.node[i] for i in demo)
        for key, count in population.items():
            pop_general[generalize_row(key, demo_node, demo_h)] += count
    for sig, profiles in search.classes(ev.node).items():
        kept = [m for p in profiles for m in search.members[p] if m not in ev.suppressed]
        if not kept:
            continue
        # a person's demographic values are the same on all their rows
        demo_key = tuple(sig[0][i] for i in demo)
        for _ in kept:
            kept_sizes.append(len(kept))
            if pop_sizes is not None:
                pop_sizes.append(pop_general.get(demo_key, 0))
    return measure_risk(kept_sizes, pop_sizes, k=k)
