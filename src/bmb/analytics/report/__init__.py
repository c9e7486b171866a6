"""Writing results: CSV, Parquet, JSON and readable HTML, each carrying provenance."""

from __future__ import annotations

from bmb.analytics.report.files import read_provenance, write_result

__all__ = ["read_provenance", "write_result"]
