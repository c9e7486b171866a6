"""One synthetic region per test session: generating it takes a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmb.synth.generator import SynthOptions, SynthSummary, generate


@pytest.fixture(scope="session")
def region_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    """6,000 residents over 2024-2025, no faults."""
    out = tmp_path_factory.mktemp("synth") / "region"
    summary = generate(SynthOptions(6_000, 2024, 2025, seed=7, out=out))
    return out, summary


@pytest.fixture(scope="session")
def faulty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 residents over one year with 2% of flow records corrupted."""
    out = tmp_path_factory.mktemp("synth") / "faulty"
    generate(SynthOptions(3_000, 2024, 2024, seed=11, out=out, error_rate=0.02))
    return out
