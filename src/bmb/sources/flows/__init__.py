"""Readers of the Italian flows: bytes to typed, validated Arrow records (ADR 0002)."""
