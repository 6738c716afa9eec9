"""Build a qdrant-client for the configured store, and always close it.

Embedded mode opens a local path, which one process at a time may hold: open
per task, close when done (Airflow runs such tasks in a pool of size 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from qdrant_client import QdrantClient

from vidvec.store.qdrant import VectorStore

if TYPE_CHECKING:
    from vidvec.config import Settings


def make_client(settings: Settings) -> QdrantClient:
    if settings.qdrant_url:
        return QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key,
                            prefer_grpc=settings.qdrant_prefer_grpc, timeout=settings.qdrant_timeout)
    settings.qdrant_dir.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(settings.qdrant_dir))


@contextmanager
def open_store(settings: Settings) -> Iterator[VectorStore]:
    client = make_client(settings)
    try:
        yield VectorStore(client, embedded=settings.embedded)
    finally:
        client.close()
