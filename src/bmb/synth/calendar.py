"""Calendar years of the simulation, in one place.

Years are calendar years (1 January to 31 December). An earlier version stepped by
``365.25`` days from the first 1 January, which drifts off the calendar in leap years:
the second year of 2024-2025 began on 31 December 2024, so both yearly snapshots of
the registry landed in one file named 202401.
"""

from __future__ import annotations

import numpy as np


def year_start(start: np.datetime64, y: int) -> np.datetime64:
    """1 January of the ``y``-th year (0-based) of a run starting on ``start``."""
    first = int(start.astype("datetime64[Y]").astype(np.int64)) + 1970
    return np.datetime64(f"{first + y:04d}-01-01", "D")


def year_bounds(start: np.datetime64, y: int) -> tuple[np.datetime64, np.datetime64]:
    """First day of year ``y`` and first day of the next (half-open interval)."""
    return year_start(start, y), year_start(start, y + 1)


def period_end(start: np.datetime64, years: int) -> np.datetime64:
    """The day after the last simulated day (1 January after the last year)."""
    return year_start(start, years)


def calendar_year(start: np.datetime64, y: int) -> int:
    """The calendar year number of year ``y`` of the run."""
    return int(start.astype("datetime64[Y]").astype(np.int64)) + 1970 + y
