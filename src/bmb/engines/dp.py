"""Differentially private counts with OpenDP: the noise behind a DP release.

A table released under a privacy budget gets discrete Laplace noise on its finest
counts (OpenDP's vetted sampler, not ours). Each person is first limited to
``max_contributions`` cells, so one person changes at most that many counts by one:
the L1 sensitivity. OpenDP's privacy map then states the epsilon the release spends,
which must not exceed what the policy asked; margins are sums of the noisy cells
(post-processing, free), so a table costs the same epsilon with or without them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bmb.domain.errors import BmbError


def noisy_counts(counts: Sequence[int], *, epsilon: float, max_contributions: int) -> list[int]:
    """The counts with discrete Laplace noise calibrated to ``epsilon``; never below 0."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = (dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int))
    scale = max_contributions / epsilon
    meas = space >> dp.m.then_laplace(scale=scale)
    spent = float(meas.map(max_contributions))
    if spent > epsilon * (1 + 1e-9):
        raise BmbError(f"OpenDP says this release spends {spent}, more than {epsilon}")
    return [max(0, int(v)) for v in meas([int(c) for c in counts])]
