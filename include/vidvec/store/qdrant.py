"""The Qdrant side of vidvec: collections, aliases, writes and queries.

Writes are idempotent (deterministic ids) and never stale: a conditional write
only replaces a point whose updated_at is older than its own, and a deletion is
a tombstone (status deleted + its updated_at) that older updates cannot undo.
Queries serve public points only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qdrant_client import QdrantClient
from qdrant_client import models as m

from vidvec.core.ids import point_id
from vidvec.core.naming import validate_name
from vidvec.core.types import CollectionState, Hit, PointToWrite
from vidvec.errors import NotFound, VidvecError

KEYWORD_INDEXES = ("video_id", "language", "owner_id", "category", "status")
INTEGER_INDEXES = ("published_at", "updated_at")  # epoch microseconds


@dataclass(frozen=True)
class CollectionSpec:
    dim: int = 512
    shards: int = 1
    replicas: int = 1
    hnsw_m: int = 16
    ef_construct: int = 100
    quantization: bool = False  # int8 scalar quantization, rescored at query time
    on_disk: bool = False


def _public(language: str | None = None, exclude: str | None = None) -> m.Filter:
    must = [m.FieldCondition(key="status", match=m.MatchValue(value="public"))]
    if language:
        must.append(m.FieldCondition(key="language", match=m.MatchValue(value=language)))
    must_not = [m.HasIdCondition(has_id=[point_id(exclude)])] if exclude else []
    return m.Filter(must=must, must_not=must_not)


def _older_than(updated_at: int) -> m.Filter:
    return m.Filter(must=[m.FieldCondition(key="updated_at", range=m.Range(lt=updated_at))])


class VectorStore:
    def __init__(self, client: QdrantClient, embedded: bool = False):
        self.client = client
        # qdrant-client local mode: brute force (exact), no snapshots, ignores
        # HNSW, quantization and search params. Reports say so.
        self.embedded = embedded

    # -- collections and aliases ------------------------------------------
    def create_collection(self, name: str, spec: CollectionSpec, metadata: dict) -> None:
        """Create with payload indexes first and HNSW deferred (m=0) for the bulk load."""
        validate_name(name, "collection name")
        if self.client.collection_exists(name):
            return  # a retried task: keep what the first attempt made
        self.client.create_collection(
            name,
            vectors_config=m.VectorParams(size=spec.dim, distance=m.Distance.COSINE, on_disk=spec.on_disk),
            shard_number=spec.shards, replication_factor=spec.replicas,
            hnsw_config=m.HnswConfigDiff(m=0, ef_construct=spec.ef_construct),
            quantization_config=(m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                type=m.ScalarType.INT8, always_ram=True)) if spec.quantization else None),
            metadata=metadata,
        )
        if self.embedded:
            return  # local mode ignores payload indexes (and warns); a server needs them
        for key in KEYWORD_INDEXES:
            self.client.create_payload_index(name, key, m.PayloadSchemaType.KEYWORD, wait=True)
        for key in INTEGER_INDEXES:
            self.client.create_payload_index(name, key, m.PayloadSchemaType.INTEGER, wait=True)

    def build_index(self, name: str, spec: CollectionSpec) -> None:
        """Turn HNSW on after the bulk load (the optimizer builds it in the background)."""
        self.client.update_collection(name, hnsw_config=m.HnswConfigDiff(m=spec.hnsw_m))

    def update_metadata(self, name: str, **values) -> None:
        self.client.update_collection(name, metadata=values)

    def metadata(self, name: str) -> dict:
        return dict(self.client.get_collection(name).config.metadata or {})

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def drop_collection(self, name: str) -> None:
        self.client.delete_collection(validate_name(name, "collection name"))

    def aliases(self) -> dict[str, str]:
        """alias -> physical collection."""
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def resolve(self, name: str) -> str:
        """A physical collection name for an alias or collection name."""
        validate_name(name, "alias or collection")
        target = self.aliases().get(name)
        if target:
            return target
        if self.client.collection_exists(name):
            return name
        raise NotFound(f"no alias or collection named {name!r}")

    def set_aliases(self, mapping: dict[str, str | None]) -> dict[str, str | None]:
        """Point each alias at its collection (None removes it) in one atomic call.

        Returns the previous targets, so the same call backwards undoes it.
        """
        current = self.aliases()
        ops: list = []
        for alias, target in mapping.items():
            validate_name(alias, "alias")
            if alias in current:
                ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
            if target is not None:
                if not self.client.collection_exists(validate_name(target, "collection name")):
                    raise NotFound(f"cannot point alias {alias!r} at missing collection {target!r}")
                ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(
                    collection_name=target, alias_name=alias)))
        if ops:
            self.client.update_collection_aliases(change_aliases_operations=ops)
        return {alias: current.get(alias) for alias in mapping}

    def collections(self) -> list[CollectionState]:
        by_target: dict[str, list[str]] = {}
        for alias, target in self.aliases().items():
            by_target.setdefault(target, []).append(alias)
        states = []
        for c in self.client.get_collections().collections:
            info = self.client.get_collection(c.name)
            states.append(CollectionState(
                name=c.name, aliases=tuple(sorted(by_target.get(c.name, []))),
                points=self.count(c.name), status=str(info.status.value),
                metadata=dict(info.config.metadata or {})))
        return sorted(states, key=lambda s: s.name)

    def wait_ready(self, name: str, timeout_s: float = 600, poll_s: float = 1.0) -> None:
        """Wait until the collection is green with an idle optimizer (index built)."""
        deadline = time.monotonic() + timeout_s
        while (state := self.status(name)) != ("green", "ok"):
            if time.monotonic() > deadline:
                raise VidvecError(f"{name} not ready after {timeout_s:.0f}s: status {state[0]}, "
                                  f"optimizer {state[1]}")
            time.sleep(poll_s)

    def status(self, name: str) -> tuple[str, str]:
        """(collection status, optimizer status) as plain strings."""
        info = self.client.get_collection(name)
        optimizer = info.optimizer_status
        return str(info.status.value), "ok" if optimizer == m.OptimizersStatusOneOf.OK else str(optimizer)

    # -- writes ------------------------------------------------------------
    @staticmethod
    def _point(p: PointToWrite, dim: int) -> m.PointStruct:
        # A tombstone written before the video was ever indexed still needs a
        # vector; queries filter on status, so a unit placeholder is never served.
        vector = p.vector if p.vector is not None else [1.0] + [0.0] * (dim - 1)
        return m.PointStruct(id=point_id(p.video_id), vector=list(map(float, vector)), payload=p.payload)

    def insert_only(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> None:
        """Bulk load: add points that are not there; never overwrite (the stream may be newer)."""
        if points:
            self.client.upsert(name, [self._point(p, dim) for p in points], wait=True,
                               update_mode=m.UpdateMode.INSERT_ONLY)

    def write_if_newer(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> None:
        """Conditional writes: each point replaces only an older version of itself.

        Tombstones (status deleted/private, vector None) go through the same path.
        One request, one operation per point, each with its own updated_at filter.
        """
        if not points:
            return
        ops = [m.UpsertOperation(upsert=m.PointsList(
            points=[self._point(p, dim)], update_filter=_older_than(p.payload["updated_at"])))
            for p in points]
        self.client.batch_update_points(name, ops, wait=True)

    def delete_points(self, name: str, video_ids: Iterable[str]) -> None:
        ids = [point_id(v) for v in video_ids]
        if ids:
            self.client.delete(name, m.PointIdsList(points=ids), wait=True)

    # -- reads -------------------------------------------------------------
    def count(self, name: str, public_only: bool = False) -> int:
        return self.client.count(name, count_filter=_public() if public_only else None, exact=True).count

    def get_points(self, name: str, video_ids: Iterable[str], with_vectors: bool = False) -> dict[str, dict]:
        """video_id -> {"payload": ..., "vector": ...} for the points that exist."""
        ids = list(video_ids)
        records = self.client.retrieve(name, [point_id(v) for v in ids],
                                       with_payload=True, with_vectors=with_vectors)
        return {r.payload["video_id"]: {"payload": r.payload, "vector": r.vector} for r in records}

    def scroll(self, name: str, batch: int = 1000, with_vectors: bool = False):
        """Yield lists of (video_id, payload, vector) over the whole collection."""
        offset = None
        while True:
            records, offset = self.client.scroll(name, limit=batch, offset=offset,
                                                 with_payload=True, with_vectors=with_vectors)
            yield [(r.payload.get("video_id"), r.payload, r.vector) for r in records]
            if offset is None:
                return

    def similar(self, name: str, video_id: str, k: int = 10, language: str | None = None,
                hnsw_ef: int | None = None) -> list[Hit]:
        """Top-k public neighbours of a stored video, excluding the video itself."""
        if not 1 <= k <= 1000:
            raise VidvecError(f"k must be in 1..1000, got {k}")
        found = self.get_points(name, [video_id], with_vectors=True)
        if video_id not in found:
            raise NotFound(f"video {video_id!r} is not in {name!r}")
        return self.search(name, found[video_id]["vector"], k, language, exclude=video_id, hnsw_ef=hnsw_ef)

    def search(self, name: str, vector, k: int, language: str | None = None,
               exclude: str | None = None, hnsw_ef: int | None = None) -> list[Hit]:
        params = None if self.embedded else m.SearchParams(
            hnsw_ef=hnsw_ef, quantization=m.QuantizationSearchParams(rescore=True))
        result = self.client.query_points(name, query=list(map(float, vector)), limit=k,
                                          query_filter=_public(language, exclude),
                                          search_params=params, with_payload=True)
        return [Hit(video_id=p.payload["video_id"], score=float(p.score), payload=p.payload)
                for p in result.points]

    # -- compaction ------------------------------------------------------------
    def versions(self, name: str, video_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """video_id -> (status, updated_at) for the points that exist (payload only)."""
        ids = list(video_ids)
        if not ids:
            return {}
        records = self.client.retrieve(name, [point_id(v) for v in ids],
                                       with_payload=["video_id", "status", "updated_at"], with_vectors=False)
        return {r.payload["video_id"]: (r.payload.get("status"), r.payload.get("updated_at", 0))
                for r in records}

    def delete_if_not_newer(self, name: str, bounds: dict[str, int], chunk: int = 256) -> None:
        """Delete each point only while its updated_at is still <= its own bound.

        A filtered delete per chunk: HasId(chunk) AND any of (HasId(p) AND
        updated_at <= bound(p)). A write that landed after the plan (the
        stream is newer) survives. The outer HasId keeps local mode, which
        evaluates a filter point by point, from testing every clause everywhere.
        """
        items = [(point_id(video_id), bound) for video_id, bound in bounds.items()]
        ops = [m.DeleteOperation(delete=m.FilterSelector(filter=m.Filter(
            must=[m.HasIdCondition(has_id=[pid for pid, _ in part])],
            should=[m.Filter(must=[m.HasIdCondition(has_id=[pid]),
                                   m.FieldCondition(key="updated_at", range=m.Range(lte=bound))])
                    for pid, bound in part])))
            for part in (items[i:i + chunk] for i in range(0, len(items), chunk))]
        if ops:
            self.client.batch_update_points(name, ops, wait=True)

    def vacuum(self, name: str, deleted_threshold: float, timeout_s: float = 3600) -> dict:
        """Make Qdrant's vacuum optimizer rebuild segments holding deleted points, and wait.

        There is no "compact now" call. The vacuum optimizer rewrites a segment
        once its deleted fraction passes `optimizers_config.deleted_threshold`
        (default 0.2) and it holds at least `vacuum_min_vector_number` vectors;
        any collection update wakes the optimizers. So: lower the threshold for
        this run (an update, which also starts them), wait until the collection
        is green with an idle optimizer, then restore the threshold.
        Local mode keeps no segments: deleted points are gone at once.
        """
        if self.embedded:
            return {"applied": False, "why": "local mode has no segments or optimizer: nothing to vacuum"}
        config = self.client.get_collection(name).config.optimizer_config
        previous = config.deleted_threshold
        lowered = min(deleted_threshold, previous)
        started = time.monotonic()
        self.client.update_collection(name, optimizers_config=m.OptimizersConfigDiff(deleted_threshold=lowered))
        self.wait_ready(name, timeout_s=timeout_s)
        if lowered != previous:
            self.client.update_collection(name, optimizers_config=m.OptimizersConfigDiff(
                deleted_threshold=previous))
            self.wait_ready(name, timeout_s=timeout_s)
        info = self.client.get_collection(name)
        return {"applied": True, "deleted_threshold": lowered, "restored_threshold": previous,
                "segments": info.segments_count, "seconds": round(time.monotonic() - started, 1)}

    def snapshot(self, name: str) -> dict:
        """A server-side snapshot of one collection; local mode has none and says so."""
        if self.embedded:
            return {"created": False, "why": "snapshots are not available in qdrant-client local mode "
                                             "(embedded); use a Qdrant server for snapshots"}
        snap = self.client.create_snapshot(name, wait=True)
        return {"created": True, "name": snap.name, "size": snap.size,
                "creation_time": str(snap.creation_time)}
