"""The catalog + warehouse interface; DuckDB (embedded) and BigQuery implement it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

import farmhash
import numpy as np

from vidvec.core.types import STATUSES, Video
from vidvec.errors import VidvecError

FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


def fingerprint(video_id: str) -> int:
    """BigQuery's FARM_FINGERPRINT(video_id): farmhash Fingerprint64 as signed INT64."""
    value = farmhash.fingerprint64(video_id)
    return value - (1 << 64) if value >= (1 << 63) else value


def shard_of(video_id: str, n_shards: int) -> int:
    """MOD(ABS(FARM_FINGERPRINT(video_id)), n): the same shard in DuckDB and BigQuery."""
    return abs(fingerprint(video_id)) % n_shards


def check_shard(shard: int, n_shards: int) -> None:
    """Validate a shard request before it reaches SQL (both implementations)."""
    if not (isinstance(n_shards, int) and 1 <= n_shards <= 1024):
        raise VidvecError(f"n_shards must be an integer in 1..1024, got {n_shards!r}")
    if not (isinstance(shard, int) and 0 <= shard < n_shards):
        raise VidvecError(f"shard must be in 0..{n_shards - 1}, got {shard!r}")


@dataclass(frozen=True)
class StoredEmbedding:
    """One row of `video_embeddings`: a video's vector of one text (text_hash) by one model, at its dimension.

    The key is (video_id, model_id, text_hash): two recipes, or two models, of one
    video are two rows and never overwrite each other.
    """

    video_id: str
    model_id: str
    text_hash: str
    vector: np.ndarray
    source_updated_at: datetime
    embedded_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        """(video_id, text_hash): how a shard scan's stored vectors are looked up (one model per scan)."""
        return self.video_id, self.text_hash


@dataclass(frozen=True)
class EmbeddingKey:
    """A stored vector's key, what compaction's pruning reads and deletes (no vector)."""

    video_id: str
    model_id: str
    text_hash: str


def check_dimensions(rows: list[StoredEmbedding], vectors: list[np.ndarray]) -> None:
    """One model, one dimension: a batch mixing sizes for a model is a bug, refused before it is stored."""
    sizes: dict[str, int] = {}
    for r, v in zip(rows, vectors, strict=True):
        if sizes.setdefault(r.model_id, len(v)) != len(v):
            raise VidvecError(f"vectors of model {r.model_id!r} of two sizes ({sizes[r.model_id]} and {len(v)}) "
                              "in one write: a model has one dimension")


@dataclass(frozen=True)
class Promotion:
    """One alias move: `previous` is the rollback target."""

    alias: str
    collection: str
    previous: str | None
    promoted_at: datetime
    actor: str
    forced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Approval:
    """A person's answer to "move alias to collection?" (vidvec_promote with approval on)."""

    run_id: str  # the promote run that asked (and, approved, the promotion's actor)
    alias: str
    collection: str
    approved: bool
    decided_at: datetime
    responded_by: str | None  # None: nobody answered in time and the default (reject) applied
    reason: str = ""
    timed_out: bool = False


@dataclass(frozen=True)
class AuditRow:
    """One row of `recall_audits`: one audit of one collection, one slice."""

    audit_id: str
    collection: str
    model_id: str
    engine: str  # which engine and index answered, e.g. "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100"
    k: int
    sample_size: int  # queries drawn for the whole audit
    slice: str  # "overall" or "language=xx"
    filtered: bool  # neighbours restricted to the query's language
    queries: int  # queries in this slice with something to find
    recall: float | None
    coverage: float | None  # collection-wide figures, repeated on each row (None: a canary, which skips the scan)
    staleness: float | None
    mismatch: float | None
    passed: bool  # this slice met its threshold
    audit_passed: bool  # the whole audit passed
    audited_at: datetime
    seed: int = 0
    kind: str = "audit"  # core.recall.AUDIT_KINDS: the full audit, or the canary between rebuilds
    target: str | None = None  # the alias (or collection) audited: trends are drawn per alias
    foreign_share: float | None = None  # public points not at vidvec's id, over all public points
    served_p50_ms: float | None = None  # this slice's served queries, as `vidvec similar` asks them
    served_p99_ms: float | None = None
    unindexed: float | None = None  # share of the collection's vectors outside an HNSW index (None: exact engine)


@dataclass(frozen=True)
class AuditSummary:
    audit_id: str
    collection: str
    model_id: str
    engine: str
    passed: bool
    audited_at: datetime
    recall: float | None  # overall, unfiltered
    filtered_recall: float | None  # overall, language-filtered
    coverage: float | None  # None: a canary
    staleness: float | None
    kind: str = "audit"
    target: str | None = None
    served_p50_ms: float | None = None  # overall, unfiltered
    served_p99_ms: float | None = None
    unindexed: float | None = None


class Catalog(Protocol):
    """Catalog reads (source of truth) and the warehouse tables vidvec owns."""

    def upsert_videos(self, videos: Iterable[Video]) -> int: ...

    def get_videos(self, video_ids: Iterable[str]) -> dict[str, Video]: ...

    def scan_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                   statuses: tuple[str, ...] = ("public",),
                   batch_size: int = 256) -> Iterator[list[Video]]:
        """Rows whose updated_at <= as_of, in batches (no order promised); memory bounded by batch_size."""
        ...

    def scan_shard_with_embeddings(self, shard: int, n_shards: int, *, as_of: datetime, model_id: str,
                                   statuses: tuple[str, ...] = ("public",), batch_size: int = 256
                                   ) -> Iterator[tuple[list[Video], dict[tuple[str, str], StoredEmbedding]]]:
        """scan_shard's batches, each with every stored embedding of model_id its videos have
        ((video_id, text_hash) -> embedding: one per text a recipe made), joined in the same
        scan: a lookup per batch would read the whole embeddings table once per batch."""
        ...

    def count(self, *, as_of: datetime | None = None,
              statuses: tuple[str, ...] = ("public",)) -> int: ...

    def count_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                    statuses: tuple[str, ...] = ("public",)) -> int:
        """How many rows scan_shard(shard, n_shards, as_of=..., statuses=...) yields."""
        ...

    def changes_since(self, t0: datetime, batch_size: int = 256) -> Iterator[list[Video]]:
        """Rows with updated_at > t0, any status, in batches (the catch-up after a snapshot)."""
        ...

    def get_embeddings(self, video_ids: Iterable[str], model_id: str,
                       text_hashes: Iterable[str] | None = None) -> dict[str, StoredEmbedding]:
        """video_id -> its stored embedding of model_id: the one of text_hashes[i] for video_ids[i]
        when text hashes are given (the vector of a video's text under one recipe), else the
        newest (latest embedded_at) of the video's rows."""
        ...

    def put_embeddings(self, rows: Iterable[StoredEmbedding]) -> int:
        """Upsert by (video_id, model_id, text_hash); vectors at the model's own dimension."""
        ...

    def iter_embedding_keys(self, before: datetime, batch_size: int = 10_000) -> Iterator[list[EmbeddingKey]]:
        """The keys of every stored embedding embedded before `before`, any model, in batches (pruning)."""
        ...

    def delete_embeddings(self, keys: Iterable[EmbeddingKey]) -> int:
        """Delete these rows of video_embeddings; how many were asked (a retry deletes nothing more)."""
        ...

    def record_promotion(self, promotion: Promotion) -> None: ...

    def promotions(self, alias: str | None = None, limit: int = 100) -> list[Promotion]: ...

    def record_approval(self, approval: Approval) -> None:
        """Upsert by run_id: a retried approval task converges to its last answer."""
        ...

    def approvals(self, alias: str | None = None, limit: int = 50) -> list[Approval]:
        """Newest first."""
        ...

    def iter_embeddings(self, model_id: str, batch_size: int = 4096,
                        statuses: tuple[str, ...] = ("public",)
                        ) -> Iterator[tuple[list[str], list[str], np.ndarray, list[str]]]:
        """(video_ids, catalog languages, float32 vectors, text hashes) of a model's stored
        embeddings of videos with these statuses, in chunks of batch_size (the last
        shorter), in no promised order; memory bounded by batch_size. A video has a row
        per text of it the model embedded: the caller keeps the text it wants (vidvec.truth)."""
        ...

    def embedded_language_counts(self, model_id: str) -> dict[str, int]:
        """Public videos with a stored embedding of this model (any text), per catalog language."""
        ...

    def sample_ids(self, language: str, n: int, seed: int, model_id: str) -> list[str]:
        """A seeded uniform sample of public videos of one language with a stored embedding."""
        ...

    def record_audit(self, rows: Iterable[AuditRow]) -> int: ...

    def audits(self, collection: str | None = None, limit: int = 50, *, kind: str | None = None,
               since: datetime | None = None) -> list[AuditSummary]:
        """Newest first; of one kind (audit | canary) when given, audited at or after `since` when given."""
        ...

    def audit_rows(self, audit_id: str) -> list[AuditRow]: ...

    def close(self) -> None: ...


class CatalogIds:
    """The catalog's video ids as sorted 64-bit fingerprints: 8 bytes a video, not a set of strings.

    A fingerprint collision (about 1 in 10^5 for 20M videos) would make an
    unknown point look known: it is then kept, never wrongly purged.
    """

    def __init__(self):
        self._parts: list[np.ndarray] = []
        self._sorted: np.ndarray | None = None

    def add(self, video_ids: Iterable[str]) -> None:
        self._parts.append(np.fromiter((fingerprint(v) for v in video_ids), dtype=np.int64))

    def freeze(self) -> None:
        self._sorted = np.sort(np.concatenate(self._parts or [np.empty(0, np.int64)]))
        self._parts = []

    def holds(self, video_ids: list[str]) -> np.ndarray:
        """One bool per id: is it a catalog video?"""
        keys = np.fromiter((fingerprint(v) for v in video_ids), dtype=np.int64, count=len(video_ids))
        at = np.searchsorted(self._sorted, keys).clip(max=max(len(self._sorted) - 1, 0))
        return (self._sorted[at] == keys) if len(self._sorted) else np.zeros(len(keys), dtype=bool)


def scan_all(catalog: Catalog, batch_size: int = 1000) -> Iterator[list[Video]]:
    """Every catalog row, any status, in batches: one streaming scan (memory bounded by batch_size)."""
    return catalog.scan_shard(0, 1, as_of=FAR_FUTURE, statuses=STATUSES, batch_size=batch_size)
