"""Build the qdrant-client of the server or local-mode engine from settings.

Local mode opens a path, which one process at a time may hold: open per task,
close when done (Airflow runs such tasks in a pool of size 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qdrant_client import QdrantClient

if TYPE_CHECKING:
    from vidvec.config import Settings


def make_client(settings: Settings) -> QdrantClient:
    if settings.store_engine == "server":
        return QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key,
                            prefer_grpc=settings.qdrant_prefer_grpc, timeout=settings.qdrant_timeout)
    settings.qdrant_dir.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(settings.qdrant_dir))
