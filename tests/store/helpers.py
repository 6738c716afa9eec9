"""Engine-specific looks behind the store interface, for tests only (callers never do this)."""

from __future__ import annotations


def payload_index_keys(store, name: str) -> set[str]:
    """The payload fields the engine really indexed."""
    engine = store.capabilities.engine
    if engine == "qdrant-edge":
        return set(store._shard(name).info().payload_schema)
    return set(store.client.get_collection(name).payload_schema)


def edge_info(store, name: str):
    """Edge's own ShardInfo (points_count, indexed_vectors_count, segments_count)."""
    assert store.capabilities.engine == "qdrant-edge"
    return store._shard(name).info()


def use_client(store, client):
    """Make a qdrant-client store answer through another client (e.g. one nobody listens to).

    Returns the client it had, to swap back.
    """
    assert store.capabilities.engine in ("qdrant-local", "qdrant-server")
    previous, store.client = store.client, client
    return previous
