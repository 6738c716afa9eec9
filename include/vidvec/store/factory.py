"""Pick the configured engine and open it, always closing it (edge | local | server).

VIDVEC_STORE chooses; unset, a VIDVEC_QDRANT_URL means the server and
otherwise the default, Qdrant Edge. Engines are imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from vidvec.store.base import VectorStore

if TYPE_CHECKING:
    from vidvec.config import Settings


def make_store(settings: Settings) -> VectorStore:
    engine = settings.store_engine
    if engine == "edge":
        from vidvec.store.edge import EdgeStore

        return EdgeStore(settings.edge_dir, fsync_writes=settings.edge_fsync_writes)
    from vidvec.store.client import make_client

    return store_on_client(make_client(settings), local=engine == "local")


def store_on_client(client, local: bool) -> VectorStore:
    """A store on a qdrant-client someone else built (a provider hook's); it closes the client."""
    from vidvec.store.qdrant import LOCAL, SERVER, QdrantStore

    return QdrantStore(client, LOCAL if local else SERVER)


@contextmanager
def open_store(settings: Settings) -> Iterator[VectorStore]:
    store = make_store(settings)
    try:
        yield store
    finally:
        store.close()
