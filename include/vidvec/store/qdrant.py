"""The qdrant-client engines: a Qdrant server (production) and qdrant-client's local mode.

Both run the same qdrant-client calls; local mode is a brute-force Python
stand-in (exact, no payload indexes, search params or segments), which makes it
the exact reference the congruence suite compares Qdrant Edge against. A write
returns with wait=True: applied and in the server's WAL.

A conditional write is sent with `core/versions.py`'s rule as each point's
`update_filter`, which decides on the server even when several writers race.
To say what it really wrote, it reads the batch's versions before (only what
the rule admits is sent) and after (a point counts as written when it holds
the sent version): two payload-only reads per batch of 256.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from qdrant_client import QdrantClient
from qdrant_client import models as m

from vidvec.core.ids import point_id
from vidvec.core.naming import validate_name
from vidvec.core.query import Scope
from vidvec.core.types import CollectionState, Hit, PointToWrite, StoredPoint
from vidvec.core.versions import STATUS_RANK, Version, VersionBound, purge_bound, replace_bound, writes_over
from vidvec.errors import VidvecError
from vidvec.store import qdrant_query
from vidvec.store.base import (
    FILTERED_FIELDS,
    INTEGER_INDEXES,
    KEYWORD_INDEXES,
    Capabilities,
    CollectionSpec,
    IndexState,
    spec_from_metadata,
)
from vidvec.store.common import StoreCommon, check_k, chunks, dense, placeholder_vector, scored_hit

SERVER = Capabilities("qdrant-server", exact=False, payload_indexes=True, background_optimizer=True,
                      snapshots=True, vacuum=True, search_params=True, single_process=False)
LOCAL = Capabilities("qdrant-local", exact=True, payload_indexes=False, background_optimizer=False,
                     snapshots=False, vacuum=False, search_params=False, single_process=True)
VERSION_FIELDS = ("status", "updated_at")
QDRANT_DELETED_THRESHOLD = 0.2  # Qdrant's default, for a collection whose config leaves it unset


def _public(language: str | None = None, exclude: str | None = None) -> m.Filter:
    """What queries serve (edge_models.public is the same filter, both from `common.served_filter`)."""
    return qdrant_query.scope_filter(Scope(language=language, exclude_ids=(exclude,) if exclude else ()))


def _version(bound: VersionBound) -> m.Filter:
    """core/versions.py's rule as a Qdrant filter on the stored point (`VersionBound.admits`)."""
    older = m.FieldCondition(key="updated_at", range=m.Range(lt=bound.updated_at))
    ties = [m.Filter(must=[m.FieldCondition(key="updated_at", match=m.MatchValue(value=bound.updated_at)),
                           m.FieldCondition(key="status", match=m.MatchAny(any=list(bound.ties)))])]
    return m.Filter(must=[m.FieldCondition(key="status", match=m.MatchAny(any=list(STATUS_RANK)))],
                    should=[older] + (ties if bound.ties else []))


class QdrantStore(StoreCommon):
    def __init__(self, client: QdrantClient, capabilities: Capabilities):
        self.client = client
        self.capabilities = capabilities
        self._specs: dict[str, CollectionSpec] = {}  # recorded index settings (fixed at creation)

    def close(self) -> None:
        self.client.close()

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
            hnsw_config=m.HnswConfigDiff(m=0, ef_construct=spec.ef_construct,
                                         full_scan_threshold=spec.full_scan_threshold_kb),
            optimizers_config=m.OptimizersConfigDiff(indexing_threshold=spec.indexing_threshold_kb),
            quantization_config=(m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                type=m.ScalarType.INT8, always_ram=True)) if spec.quantization else None),
            metadata=metadata,
        )
        if not self.capabilities.payload_indexes:
            return  # local mode ignores payload indexes (and warns)
        for key in KEYWORD_INDEXES:  # HNSW links only for the fields searches filter on
            self.client.create_payload_index(name, key, m.KeywordIndexParams(
                type=m.KeywordIndexType.KEYWORD, enable_hnsw=key in FILTERED_FIELDS), wait=True)
        for key in INTEGER_INDEXES:
            self.client.create_payload_index(name, key, m.IntegerIndexParams(
                type=m.IntegerIndexType.INTEGER, lookup=True, range=True,
                enable_hnsw=key in FILTERED_FIELDS), wait=True)

    def build_index(self, name: str, spec: CollectionSpec) -> None:
        """Turn HNSW on after the bulk load (the server's optimizer builds it in the background)."""
        self.client.update_collection(name, hnsw_config=m.HnswConfigDiff(m=spec.hnsw_m))

    def update_metadata(self, name: str, **values) -> None:
        self.client.update_collection(name, metadata=values)

    def metadata(self, name: str) -> dict:
        return dict(self.client.get_collection(name).config.metadata or {})

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def drop_collection(self, name: str) -> None:
        self.client.delete_collection(validate_name(name, "collection name"))
        self._specs.pop(name, None)

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def set_aliases(self, mapping: dict[str, str | None]) -> dict[str, str | None]:
        """One `update_collection_aliases` call: Qdrant applies all its operations atomically."""
        self._check_targets(mapping)
        current = self.aliases()
        ops: list = []
        for alias, target in mapping.items():
            if alias in current:
                ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
            if target is not None:
                ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(
                    collection_name=target, alias_name=alias)))
        if ops:
            self.client.update_collection_aliases(change_aliases_operations=ops)
        return {alias: current.get(alias) for alias in mapping}

    def collections(self) -> list[CollectionState]:
        return self._states([c.name for c in self.client.get_collections().collections])

    def status(self, name: str) -> tuple[str, str]:
        info = self.client.get_collection(name)
        optimizer = info.optimizer_status
        return str(info.status.value), "ok" if optimizer == m.OptimizersStatusOneOf.OK else str(optimizer)

    def index_state(self, name: str) -> IndexState:
        info = self.client.get_collection(name)
        points = info.points_count or 0
        if self.capabilities.exact:
            return IndexState(self.capabilities.label, True, None, None, None, points, None)
        hnsw = info.config.hnsw_config
        ef = self._spec(name).hnsw_ef or hnsw.ef_construct
        return IndexState(self.capabilities.label, False, hnsw.m, hnsw.ef_construct, ef, points,
                          info.indexed_vectors_count)

    def _spec(self, name: str) -> CollectionSpec:
        if name not in self._specs:
            self._specs[name] = spec_from_metadata(self.metadata(name))
        return self._specs[name]

    # -- writes ------------------------------------------------------------
    @staticmethod
    def _point(p: PointToWrite, dim: int) -> m.PointStruct:
        vector = p.vector if p.vector is not None else placeholder_vector(dim)
        return m.PointStruct(id=point_id(p.video_id), vector=list(map(float, vector)), payload=p.payload)

    def insert_only(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> None:
        if points:
            self.client.upsert(name, [self._point(p, dim) for p in points], wait=True,
                               update_mode=m.UpdateMode.INSERT_ONLY)

    def write_if_newer(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> set[str]:
        """Per chunk: read versions, send what the rule admits (each with its `update_filter`), read back."""
        written: set[str] = set()
        for part in chunks(points):
            ids = [point_id(p.video_id) for p in part]
            before = self._stored(name, ids)
            admitted = [(pid, p) for pid, p in zip(ids, part, strict=True)
                        if writes_over(p, before.get(pid), pid in before)]
            if not admitted:
                continue
            self.client.batch_update_points(name, [m.UpsertOperation(upsert=m.PointsList(
                points=[self._point(p, dim)], update_filter=_version(replace_bound(p)))) for _, p in admitted],
                wait=True)
            after = self._stored(name, [pid for pid, _ in admitted])
            written.update(p.video_id for pid, p in admitted if Version.of(after.get(pid)) == Version.of(p.payload))
        return written

    def delete_ids(self, name: str, ids: Iterable[str | int]) -> None:
        ids = list(ids)
        if ids:
            self.client.delete(name, m.PointIdsList(points=ids), wait=True)

    def delete_if_not_newer(self, name: str, bounds: dict[str, int], chunk: int = 256) -> set[str]:
        """A filtered delete per chunk: HasId(chunk) AND any of (HasId(p) AND version admitted).

        The outer HasId keeps local mode, which evaluates a filter point by
        point, from testing every clause everywhere. The chunk's ids are read
        before and after, so the result names the points really deleted.
        """
        deleted: set[str] = set()
        for part in chunks(list(bounds.items()), chunk):
            by_id = {point_id(vid): (vid, bound) for vid, bound in part}
            before = self._stored(name, list(by_id), fields=[])
            if not before:
                continue
            self.client.delete(name, m.FilterSelector(filter=m.Filter(
                must=[m.HasIdCondition(has_id=list(before))],
                should=[m.Filter(must=[m.HasIdCondition(has_id=[pid]), _version(purge_bound(by_id[pid][1]))])
                        for pid in before])), wait=True)
            left = self._stored(name, list(before), fields=[])
            deleted.update(by_id[pid][0] for pid in before if pid not in left)
        return deleted

    def _stored(self, name: str, ids: list[str], fields: Sequence[str] = VERSION_FIELDS) -> dict[str, dict]:
        """point id -> its stored payload fields (none when fields is empty), for the ids that exist."""
        if not ids:
            return {}
        records = self.client.retrieve(name, ids, with_payload=list(fields) or False, with_vectors=False)
        return {str(r.id): r.payload or {} for r in records}

    # -- reads -------------------------------------------------------------
    def count(self, name: str, public_only: bool = False) -> int:
        return self.client.count(name, count_filter=_public() if public_only else None, exact=True).count

    def get_points(self, name: str, video_ids: Iterable[str], with_vectors: bool = False) -> dict[str, dict]:
        by_id = {point_id(v): v for v in video_ids}
        records = self.client.retrieve(name, list(by_id), with_payload=True, with_vectors=with_vectors)
        return {by_id[str(r.id)]: {"payload": r.payload or {}, "vector": r.vector} for r in records}

    def versions(self, name: str, video_ids: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
        by_id = {point_id(v): v for v in video_ids}
        return {by_id[pid]: (body.get("status"), body.get("updated_at"))
                for pid, body in self._stored(name, list(by_id)).items()}

    def scroll_points(self, name: str, batch: int = 1000, with_vectors: bool = False,
                      fields: Sequence[str] | None = None):
        offset = None
        while True:
            records, offset = self.client.scroll(name, limit=batch, offset=offset, with_vectors=with_vectors,
                                                 with_payload=list(fields) if fields else True)
            yield [StoredPoint(r.id if isinstance(r.id, int) else str(r.id), r.payload or {}, dense(r.vector))
                   for r in records]
            if offset is None:
                return

    def search(self, name: str, vector, k: int, language: str | None = None,
               exclude: str | None = None, hnsw_ef: int | None = None) -> list[Hit]:
        check_k(k)
        result = self.client.query_points(name, query=list(map(float, vector)), limit=k,
                                          query_filter=_public(language, exclude),
                                          search_params=self._search_params(name, hnsw_ef), with_payload=True)
        return [scored_hit(p, float(p.score)) for p in result.points]

    def _neighbours(self, name: str, vector, negatives: list, query, scope) -> list[Hit]:
        return qdrant_query.neighbours(self.client, name, self._search_params(name, query.hnsw_ef), vector,
                                       negatives, query, scope)

    def _search_params(self, name: str, hnsw_ef: int | None) -> m.SearchParams | None:
        if not self.capabilities.search_params:
            return None
        return m.SearchParams(hnsw_ef=hnsw_ef or self._spec(name).hnsw_ef,
                              quantization=m.QuantizationSearchParams(rescore=True))

    # -- maintenance ---------------------------------------------------------
    def vacuum(self, name: str, deleted_threshold: float, timeout_s: float = 3600) -> dict:
        """Make Qdrant's vacuum optimizer rebuild segments holding deleted points, and wait.

        There is no "compact now" call. The vacuum optimizer rewrites a segment
        once its deleted fraction passes `optimizers_config.deleted_threshold`
        (default 0.2) and it holds at least `vacuum_min_vector_number` vectors;
        any collection update wakes the optimizers. So: lower the threshold for
        this run (an update, which also starts them), wait until the collection
        is green with an idle optimizer, then restore the threshold.
        """
        if not self.capabilities.vacuum:
            return {"applied": False, "why": f"{self.capabilities.engine} keeps no segments: nothing to vacuum"}
        config = self.client.get_collection(name).config.optimizer_config
        previous = QDRANT_DELETED_THRESHOLD if config.deleted_threshold is None else config.deleted_threshold
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

    def keep_index(self, name: str, max_segment_kb: int, deleted_threshold: float | None = None) -> dict:
        """Nothing to do: a server's optimizer indexes and vacuums in the background; local mode has no index."""
        why = "its own background optimizer keeps it" if self.capabilities.background_optimizer else "no index"
        return {"applied": False, "why": f"{self.capabilities.engine}: {why}"}

    def snapshot(self, name: str) -> dict:
        """A server-side snapshot of one collection (wait=True)."""
        if not self.capabilities.snapshots:
            return {"created": False, "why": f"{self.capabilities.engine} has no snapshots "
                                             "(use qdrant-edge or a Qdrant server)"}
        snap = self.client.create_snapshot(name, wait=True)
        if snap is None:  # only a call with wait=False returns none
            raise VidvecError(f"Qdrant returned no snapshot description for {name!r}")
        return {"created": True, "name": snap.name, "size": snap.size,
                "creation_time": str(snap.creation_time)}

    def restore_snapshot(self, location: str, name: str) -> dict:
        """Recover collection `name` from a snapshot URL or server-side file:// path."""
        if not self.capabilities.snapshots:
            raise VidvecError(f"{self.capabilities.engine} has no snapshots to restore")
        validate_name(name, "collection name")
        if self.exists(name):
            raise VidvecError(f"collection {name!r} exists: restore under another name")
        self.client.recover_snapshot(name, location=location, wait=True)
        return {"restored": True, "collection": name, "points": self.count(name)}
