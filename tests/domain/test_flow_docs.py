"""docs/reference/flows.md is the layouts as declared: regenerate it when they change."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bmb.domain.flows import LAYOUTS

REPO = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    path = REPO / "scripts" / "gen_flow_docs.py"
    spec = importlib.util.spec_from_file_location("gen_flow_docs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flow_reference_page_is_up_to_date() -> None:
    page = (REPO / "docs" / "reference" / "flows.md").read_text(encoding="utf-8")
    assert page == _script().render(), (
        "docs/reference/flows.md is out of date: run .venv/bin/python scripts/gen_flow_docs.py"
    )


def test_flow_reference_page_lists_every_field() -> None:
    page = _script().render()
    for layout in LAYOUTS.values():
        assert f"### {layout.name}\n" in page
        for f in layout.fields:
            assert f"| `{f.name}` |" in page, (layout.name, f.name)
