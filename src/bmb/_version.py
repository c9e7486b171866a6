"""The installed BMB version, in its own module so that any layer can import it.

Importing it from the top-level package would make every layer depend on ``bmb``
itself, which imports the engines (``bmb.open_lake``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bmb")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
