"""The reference page's roles-by-actions table is the code's matrix."""

from __future__ import annotations

from pathlib import Path

from bmb.domain.governance.roles import Role, matrix_rows

PAGE = Path(__file__).resolve().parents[3] / "docs" / "reference" / "governance.md"


def test_reference_matrix_matches_the_code() -> None:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    header = "| action | " + " | ".join(r.value for r in Role) + " |"
    start = lines.index(header)
    documented = {}
    for line in lines[start + 2 :]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        documented[cells[0].strip("`")] = cells[1:]
    assert documented == dict(matrix_rows())
