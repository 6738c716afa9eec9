"""The catalog + warehouse interface; DuckDB (embedded) and BigQuery implement it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import farmhash
import numpy as np

from vidvec.core.types import Video
from vidvec.errors import VidvecError


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
    video_id: str
    model_id: str
    text_hash: str
    vector: np.ndarray
    source_updated_at: datetime
    embedded_at: datetime


@dataclass(frozen=True)
class Promotion:
    """One alias move: `previous` is the rollback target."""

    alias: str
    collection: str
    previous: str | None
    promoted_at: datetime
    actor: str
    forced: tuple[str, ...] = ()


class Catalog(Protocol):
    """Catalog reads (source of truth) and the warehouse tables vidvec owns."""

    def upsert_videos(self, videos: Iterable[Video]) -> int: ...

    def get_videos(self, video_ids: Iterable[str]) -> dict[str, Video]: ...

    def scan_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                   statuses: tuple[str, ...] = ("public",),
                   batch_size: int = 256) -> Iterator[list[Video]]:
        """Rows whose updated_at <= as_of, in batches; memory bounded by batch_size."""
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

    def get_embeddings(self, video_ids: Iterable[str], model_id: str) -> dict[str, StoredEmbedding]: ...

    def put_embeddings(self, rows: Iterable[StoredEmbedding]) -> int: ...

    def record_promotion(self, promotion: Promotion) -> None: ...

    def promotions(self, alias: str | None = None, limit: int = 100) -> list[Promotion]: ...

    def close(self) -> None: ...
