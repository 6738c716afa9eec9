"""Benchmarks that print figures (`make bench` = `python -m bench`); not part of the test run."""
