"""The chronic-condition registry (BDA-style): flags, prevalence, validation."""

from __future__ import annotations

from bmb.analytics.registry.build import RegistryResult, build_registry

__all__ = ["RegistryResult", "build_registry"]
