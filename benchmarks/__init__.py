"""Benchmarks: BMB against its peers on the same work."""
