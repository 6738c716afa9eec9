"""Benchmarks that print figures; each module exposes run(quick=False) -> list of rows."""
