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


def write_raw(store, name: str, points: list[tuple]) -> None:
    """What a foreign writer does: points (raw id, vector, payload) under any id, any payload."""
    engine = store.capabilities.engine
    if engine == "qdrant-edge":
        from qdrant_edge import Point, UpdateOperation

        store._update(name, UpdateOperation.upsert_points([Point(pid, vec, body) for pid, vec, body in points]))
        return
    from qdrant_client import models

    store.client.upsert(name, [models.PointStruct(id=pid, vector=vec, payload=body) for pid, vec, body in points],
                        wait=True)
