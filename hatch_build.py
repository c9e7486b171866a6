"""Build hook: compile BMB's record cutter (``src/bmb/sources/flows/cutter.c``).

The cutter is plain C with no Python headers, loaded with ctypes, so it needs only a C
compiler (``cc``, or ``$CC``), which every supported machine has. It is compiled in
place beside its source, so an editable install (``pip install -e .``) finds it, and
shipped in the wheel as an artifact. Without a compiler the build goes on with a
warning and ingestion uses the pure Python reference cutter (slower, same results).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/bmb/sources/flows/cutter.c")
LIBRARY = SOURCE.with_name("_cutter.so")


def compile_cutter(root: Path) -> Path | None:
    """Compile the cutter; returns the library's path, or None when it cannot be built."""
    source, library = root / SOURCE, root / LIBRARY
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1]
    command = [*compiler, "-O3", "-std=c11", "-fPIC", "-shared", "-o", str(library), str(source)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        print(
            f"warning: could not compile {SOURCE} ({detail.strip()}); "
            "ingestion will use the slower pure Python cutter",
            file=sys.stderr,
        )
        return None
    return library


class CutterBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile the cutter before every build (wheel, editable wheel, sdist excluded)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        library = compile_cutter(Path(self.root))
        if library is None:
            return
        build_data["artifacts"].append(str(LIBRARY))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
