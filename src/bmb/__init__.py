"""BMB: the biomedical data lake of a region.

Italian health flows and FHIR land here, are pseudonymized, harmonized into the
OMOP Common Data Model and put to work under the regional agency's governance.
The top-level package stays light so that ``bmb --help`` starts fast: heavy
modules are imported only when a function needs them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bmb")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
