"""Open the configured catalog (embedded DuckDB by default)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from vidvec.catalog.base import Catalog
from vidvec.catalog.duckdb import DuckDBCatalog

if TYPE_CHECKING:
    from vidvec.config import Settings


@contextmanager
def open_catalog(settings: Settings, read_only: bool = False, credentials=None) -> Iterator[Catalog]:
    """The configured catalog; `credentials` (e.g. from BigQueryHook) are for BigQuery only."""
    if settings.catalog == "bigquery":
        from vidvec.catalog.bigquery import open_bigquery

        catalog = open_bigquery(settings, credentials)
    else:
        catalog = DuckDBCatalog(settings.duckdb_file, read_only=read_only,
                                memory_limit=settings.duckdb_memory_limit)
    try:
        yield catalog
    finally:
        catalog.close()
