"""Service levels: recall, coverage, staleness, the unindexed share and the audit's age as Prometheus metrics."""
