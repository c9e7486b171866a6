"""``python -m benchmarks``: list the benchmarks and how to run each."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    here = Path(__file__).parent
    print("Benchmarks (each runs BMB and a peer on the same work and prints the ratio):\n")
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        doc = (module.__doc__ or "").strip().splitlines()
        print(f"  python -m benchmarks.{info.name}")
        if doc:
            print(f"      {doc[0]}")
    print("\nAdd --help to any of them for its options.")


if __name__ == "__main__":
    main()
