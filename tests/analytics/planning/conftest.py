"""The shared synthetic region lake (built once per test process)."""

from tests.region_lake import region_lake

__all__ = ["region_lake"]
