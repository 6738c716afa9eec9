"""Qdrant Edge (qdrant-edge-py): Qdrant's own engine in-process, the embedded default.

One EdgeShard per collection; vidvec adds what Edge lacks (edge_files.py):
collection metadata, an alias file replaced atomically, and a store-wide lock
with a clear "in use by PID n" error (Edge itself refuses a second open of a
shard only with "Can't init WAL: Kind(WouldBlock)", and knows nothing of
vidvec's files). Edge has no background optimizer: `build_index`, `wait_ready`
and `vacuum` run `optimize()`, blocking, in this process.

Conditional writes and purges are decided here, under the store lock, and
reach Edge as plain upserts and deletes by id (see the writes section: Edge
replays conditional operations from its WAL non-deterministically).

Wait semantics: a write returns once Edge appended it to the shard's WAL (a
memory-mapped file: the bytes are in the kernel's page cache) and applied it,
so a process killed at any moment loses no acknowledged write (tested with
SIGKILL). Surviving a power cut or kernel crash needs the WAL flushed to disk:
`flush()` runs on close, after the index build, before a snapshot, and after
every write with `fsync_writes` (VIDVEC_EDGE_FSYNC_WRITES).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qdrant_edge import CountRequest, EdgeShard, Query, QueryRequest, ScrollRequest, UpdateOperation

from vidvec.core.ids import point_id
from vidvec.core.naming import validate_name
from vidvec.core.types import CollectionState, Hit, PointToWrite, StoredPoint
from vidvec.core.versions import Version, purge_bound, writes_over
from vidvec.errors import DamagedFile, NotFound, VidvecError
from vidvec.store import edge_models as em
from vidvec.store import edge_query, edge_snapshot
from vidvec.store.base import Capabilities, CollectionSpec, IndexState
from vidvec.store.common import READY, StoreCommon, check_k, chunks, dense, scored_hit
from vidvec.store.edge_files import RECORD, EdgeHome, Record

EDGE = Capabilities("qdrant-edge", exact=False, payload_indexes=True, background_optimizer=False,
                    snapshots=True, vacuum=True, search_params=True, single_process=True)


class EdgeStore(StoreCommon):
    capabilities = EDGE

    def __init__(self, root: Path, fsync_writes: bool = False):
        self.home = EdgeHome(root)
        self.fsync_writes = fsync_writes
        self._lock = threading.RLock()  # shard handles, records, aliases; one writer at a time
        self._shards: dict[str, EdgeShard] = {}
        self._kept: dict[str, tuple] = {}  # collection -> the keep_index config its loaded shard has
        self.home.lock()
        try:
            self._aliases = self.home.read_aliases()
            self._records = {name: self.home.read_record(name) for name in self.home.names()}
        except BaseException:
            self.home.unlock()  # an unreadable file must not leave the store locked
            raise

    def close(self) -> None:
        """Close (and so flush) every shard, then release the store; the first error is raised after."""
        with self._lock:
            errors = []
            for shard in self._shards.values():
                try:
                    shard.close()
                except Exception as exc:  # noqa: BLE001 - close the others, report this one
                    errors.append(exc)
            self._shards.clear()
            self.home.unlock()
        if errors:
            raise errors[0]

    # -- shards and records -------------------------------------------------
    def _physical(self, name: str) -> str:
        """Like Qdrant, every call that takes a collection also takes an alias of one."""
        return self._aliases.get(name, name)

    def _record(self, name: str) -> Record:
        try:
            return self._records[self._physical(name)]
        except KeyError:
            raise NotFound(f"no collection named {name!r}") from None

    def _spec(self, name: str) -> CollectionSpec:
        return CollectionSpec(**self._record(name).spec)

    def _shard(self, name: str) -> EdgeShard:
        name = self._physical(name)
        with self._lock:
            if name not in self._shards:
                record = self._record(name)
                config = em.edge_config(CollectionSpec(**record.spec), record.index_built)
                self._shards[name] = EdgeShard.load(str(self.home.shard_dir(name)), config)
            return self._shards[name]

    def _release(self, name: str) -> None:
        self._kept.pop(name, None)
        shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()

    def _update(self, name: str, operation) -> None:
        with self._lock:
            shard = self._shard(name)
            shard.update(operation)
            if self.fsync_writes:
                shard.flush()

    # -- collections and aliases ---------------------------------------------
    def create_collection(self, name: str, spec: CollectionSpec, metadata: dict) -> None:
        """A shard with HNSW off (m=0) and payload indexes made before any point; record last."""
        validate_name(name, "collection name")
        with self._lock:
            if name in self._records:
                return  # a retried task: keep what the first attempt made
            if name in self._aliases:
                raise VidvecError(f"cannot create collection {name!r}: an alias of that name exists")
            path = self.home.collection_dir(name)
            if path.exists():  # a create that crashed before its record: start again
                self.home.remove(name)
            shard = EdgeShard.create(str(self.home.shard_dir(name)), em.edge_config(spec, built=False))
            for key, schema in em.PAYLOAD_INDEXES:
                shard.update(UpdateOperation.create_field_index(key, schema))
            shard.flush()
            record = Record(dict(metadata), spec.as_dict(), index_built=False)
            self.home.write_record(name, record)
            self._records[name], self._shards[name] = record, shard

    def build_index(self, name: str, spec: CollectionSpec) -> None:
        """Reload the shard with HNSW on and build it now (optimize blocks; no background optimizer)."""
        with self._lock:
            name = self._physical(name)
            record = self._record(name)
            self._release(name)
            record.spec, record.index_built = spec.as_dict(), True
            self.home.write_record(name, record)  # a crash mid-build reloads with HNSW on; wait_ready finishes it
            shard = self._shard(name)
            shard.optimize()
            shard.flush()

    def wait_ready(self, name: str, timeout_s: float = 600, poll_s: float = 1.0) -> None:
        """Run the optimizer Edge lacks when something is pending, then check (timeout: the check only)."""
        if self.status(name) != READY:
            with self._lock:
                self._shard(name).optimize()
        state = self.status(name)
        if state != READY:
            raise VidvecError(f"{name} not ready: status {state[0]}, optimizer {state[1]}")

    def status(self, name: str) -> tuple[str, str]:
        """("green", "ok") unless more than the indexing threshold of vectors waits for an index.

        That is when a server's optimizer has work planned. Before the index was
        built no vector counts as indexed (HNSW is off during the bulk load).
        """
        record, info = self._record(name), self._shard(name).info()
        spec = CollectionSpec(**record.spec)
        unindexed = info.points_count - (info.indexed_vectors_count if record.index_built else 0)
        if max(unindexed, 0) * spec.dim * 4 <= spec.indexing_threshold_kb * 1024:
            return READY
        if not record.index_built:
            return "yellow", f"HNSW not built: {unindexed} vectors unindexed until build_index"
        return "yellow", f"optimization pending: {unindexed} of {info.points_count} vectors unindexed"

    def index_state(self, name: str) -> IndexState:
        record, info = self._record(name), self._shard(name).info()
        spec = CollectionSpec(**record.spec)
        return IndexState(EDGE.label, False, spec.hnsw_m if record.index_built else 0, spec.ef_construct,
                          spec.search_ef, info.points_count,
                          info.indexed_vectors_count if record.index_built else 0)

    def metadata(self, name: str) -> dict:
        return dict(self._record(name).metadata)

    def update_metadata(self, name: str, **values) -> None:
        with self._lock:
            name = self._physical(name)
            record = self._record(name)
            record.metadata = record.metadata | values
            self.home.write_record(name, record)

    def exists(self, name: str) -> bool:
        return self._physical(name) in self._records

    def drop_collection(self, name: str) -> None:
        """Its aliases go with it, as on Qdrant (the alias file first: never an alias to nothing)."""
        validate_name(name, "collection name")
        with self._lock:
            if name not in self._records:
                raise NotFound(f"no collection named {name!r}")
            kept = {a: t for a, t in self._aliases.items() if t != name}
            if kept != self._aliases:
                self.home.write_aliases(kept)
                self._aliases = kept
            self._release(name)
            self.home.remove(name)
            del self._records[name]

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def set_aliases(self, mapping: dict[str, str | None]) -> dict[str, str | None]:
        """One atomic replace of the alias file: a reader sees the old map or the new one."""
        with self._lock:
            self._check_targets(mapping)
            current = self._aliases
            changed = {a: t for a, t in current.items() if a not in mapping}
            changed |= {a: t for a, t in mapping.items() if t is not None}
            self.home.write_aliases(changed)
            self._aliases = changed  # one reference swap for threads of this process
            return {alias: current.get(alias) for alias in mapping}

    def collections(self) -> list[CollectionState]:
        return self._states(sorted(self._records))

    # -- writes ----------------------------------------------------------------
    # Every write reaches Edge's WAL as a plain upsert or delete by id. Edge 0.9.0
    # logs a conditional or filtered operation as written and re-evaluates it on
    # WAL replay, against a state that may differ (payload indexes are flushed
    # ahead of the points): after a kill during a flush, acknowledged conditional
    # writes were lost (scripts/edge_conditional_wal.py). A Qdrant server resolves
    # such operations to ids before its WAL (qdrant/qdrant#9575); vidvec does the
    # same here, under the store lock, so the read and the write are one step.
    def insert_only(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> None:
        """Add the points that are not there (decided by id, then a plain upsert)."""
        for part in chunks(points):
            ids = [point_id(p.video_id) for p in part]
            with self._lock:
                there = self._stored(name, ids, ["video_id"])
                self._upsert(name, [(pid, p) for pid, p in zip(ids, part, strict=True) if pid not in there], dim)

    def write_if_newer(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> set[str]:
        """Each point goes through as core/versions.py decides; returns the video ids written."""
        written: set[str] = set()
        for part in chunks(points):
            ids = [point_id(p.video_id) for p in part]
            with self._lock:
                stored = self._stored(name, ids, ["status", "updated_at"])
                admitted = [(pid, p) for pid, p in zip(ids, part, strict=True)
                            if writes_over(p, stored.get(pid), pid in stored)]
                self._upsert(name, admitted, dim)
            written.update(p.video_id for _, p in admitted)
        return written

    def delete_ids(self, name: str, ids: Iterable[str | int]) -> None:
        doomed: list[Any] = list(ids)  # Edge takes int | UUID | str ids
        if doomed:
            self._update(name, UpdateOperation.delete_points(doomed))

    def delete_if_not_newer(self, name: str, bounds: dict[str, int], chunk: int = 256) -> set[str]:
        """Delete each point only while `purge_bound` admits its stored version; returns the video ids deleted."""
        deleted: set[str] = set()
        for part in chunks(list(bounds.items()), chunk):
            by_id = {point_id(vid): (vid, bound) for vid, bound in part}
            with self._lock:
                stored = self._stored(name, list(by_id), ["status", "updated_at"])
                doomed = [pid for pid, body in stored.items()
                          if purge_bound(by_id[pid][1]).admits(Version.of(body))]
                self.delete_ids(name, doomed)
            deleted.update(by_id[pid][0] for pid in doomed)
        return deleted

    def _stored(self, name: str, ids: list[Any], fields: list[str]) -> dict[str, dict]:
        """point id -> the stored payload fields, for the ids that exist."""
        records = self._shard(name).retrieve(ids, with_payload=fields, with_vector=False)
        return {str(r.id): r.payload or {} for r in records}

    def _upsert(self, name: str, points: list[tuple[str, PointToWrite]], dim: int) -> None:
        if points:
            self._update(name, UpdateOperation.upsert_points([em.point(p, dim, pid) for pid, p in points]))

    # -- reads -------------------------------------------------------------------
    def count(self, name: str, public_only: bool = False) -> int:
        return self._shard(name).count(CountRequest(exact=True, filter=em.public() if public_only else None))

    def get_points(self, name: str, video_ids: Iterable[str], with_vectors: bool = False) -> dict[str, dict]:
        by_id = {point_id(v): v for v in video_ids}
        if not by_id:
            return {}
        records = self._shard(name).retrieve(list(by_id), with_payload=True, with_vector=with_vectors)
        return {by_id[str(r.id)]: {"payload": r.payload or {}, "vector": r.vector if with_vectors else None}
                for r in records}

    def versions(self, name: str, video_ids: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
        by_id = {point_id(v): v for v in video_ids}
        if not by_id:
            return {}
        return {by_id[pid]: (body.get("status"), body.get("updated_at"))
                for pid, body in self._stored(name, list(by_id), ["status", "updated_at"]).items()}

    def scroll_points(self, name: str, batch: int = 1000, with_vectors: bool = False,
                      fields: Sequence[str] | None = None):
        offset = None
        while True:
            records, offset = self._shard(name).scroll(ScrollRequest(
                offset=offset, limit=batch, with_payload=list(fields) if fields else True, with_vector=with_vectors))
            yield [StoredPoint(r.id if isinstance(r.id, int) else str(r.id), r.payload or {},
                               dense(r.vector) if with_vectors else None) for r in records]
            if offset is None:
                return

    def search(self, name: str, vector, k: int, language: str | None = None,
               exclude: str | None = None, hnsw_ef: int | None = None) -> list[Hit]:
        check_k(k)
        request = QueryRequest(limit=k, query=Query.Nearest(list(map(float, vector))),
                               filter=em.public(language, exclude), with_payload=True,
                               params=em.search_params(self._spec(name), hnsw_ef))
        return [scored_hit(p, float(p.score)) for p in self._shard(name).query(request)]

    def _neighbours(self, name: str, vector, negatives: list, query, scope) -> list[Hit]:
        return edge_query.neighbours(self._shard(name), self._spec(name), vector, negatives, query, scope)

    # -- maintenance -----------------------------------------------------------------
    def vacuum(self, name: str, deleted_threshold: float, timeout_s: float = 3600) -> dict:
        """optimize(): rewrites segments with deleted points (and indexes what is pending), blocking.

        Edge applies the deleted fraction of its config, so the shard is
        reloaded with `deleted_threshold` for this call (every load gives the
        whole config); `vacuum_min_vector_number` stays Edge's (1000).
        """
        started = time.monotonic()
        with self._lock:
            name = self._physical(name)
            spec = self._spec(name)
            self._release(name)
            config = em.edge_config(spec, self._record(name).index_built, deleted_threshold)
            shard = self._shards[name] = EdgeShard.load(str(self.home.shard_dir(name)), config)
            optimized = shard.optimize()
            shard.flush()
            segments = shard.info().segments_count
        return {"applied": True, "optimized": optimized, "deleted_threshold": deleted_threshold,
                "segments": segments, "seconds": round(time.monotonic() - started, 1)}

    def keep_index(self, name: str, max_segment_kb: int, deleted_threshold: float | None = None) -> dict:
        """Index what waits outside HNSW, and vacuum segments past deleted_threshold: optimize(), blocking.

        Edge's optimizer would merge the new vectors into the smallest indexed
        segment below its segment cap, rebuilding that segment's whole graph:
        right after a build, the collection's one big segment (20k vectors: 18 s
        to index 1,000 new ones here, against 1.9 s with the cap). So the shard is
        loaded once with `max_segment_kb` as the cap (kept loaded so, until another
        call reloads it) and new vectors go into segments of their own, at most
        that size. optimize() holds the GIL: every thread of this process waits
        for it (the sidecar's acks included).
        """
        started = time.monotonic()
        with self._lock:
            name = self._physical(name)
            record = self._record(name)
            if not record.index_built:
                return {"applied": False, "why": "HNSW not built yet: build_index builds it"}
            if self._kept.get(name) != (max_segment_kb, deleted_threshold):
                self._release(name)
                config = em.edge_config(CollectionSpec(**record.spec), True, deleted_threshold, max_segment_kb)
                self._shards[name] = EdgeShard.load(str(self.home.shard_dir(name)), config)
                self._kept[name] = (max_segment_kb, deleted_threshold)
            shard = self._shards[name]
            optimized = shard.optimize()
            info = shard.info()
        return {"applied": True, "optimized": optimized, "points": info.points_count,
                "indexed_vectors": info.indexed_vectors_count, "segments": info.segments_count,
                "seconds": round(time.monotonic() - started, 3)}

    def snapshot(self, name: str) -> dict:
        """A tar.gz of the flushed shard and its record, taken while no write can run."""
        with self._lock:
            name = self._physical(name)
            self._shard(name).flush()
            return edge_snapshot.archive(self.home, name)

    def restore_snapshot(self, location: str, name: str) -> dict:
        with self._lock:
            validate_name(name, "collection name")
            if name in self._records or name in self._aliases:
                raise VidvecError(f"collection or alias {name!r} exists: restore under another name")
            done = edge_snapshot.unpack(self.home, Path(location), name)
            try:
                self._records[name] = self.home.read_record(name)
                return done | {"points": self.count(name)}
            except Exception as exc:  # noqa: BLE001 - whatever Edge says, the copy is unusable
                self._release(name)
                self._records.pop(name, None)
                self.home.remove(name)  # never left behind: it would stop the next open of the store
                reason = f"its {RECORD} {exc.wrong}" if isinstance(exc, DamagedFile) else exc
                raise VidvecError(f"snapshot {location} does not load: {reason}") from None
