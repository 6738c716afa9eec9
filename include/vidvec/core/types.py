"""Plain types the rest of vidvec speaks (and XCom may carry as dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

STATUSES = ("public", "private", "deleted")


def to_micros(ts: datetime) -> int:
    """Epoch microseconds: exact, orderable, and filterable with a Range in Qdrant."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return int(ts.timestamp() * 1_000_000)


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)


@dataclass(frozen=True)
class Video:
    """One catalog row (the source of truth)."""

    video_id: str
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    transcript: str | None = None
    language: str = ""
    owner_id: str = ""
    category: str = ""
    status: str = "public"
    published_at: datetime | None = None
    updated_at: datetime = field(default_factory=lambda: datetime(1970, 1, 1, tzinfo=timezone.utc))


@dataclass(frozen=True)
class PointToWrite:
    """A point ready for the store: id, vector and vidvec's payload fields."""

    video_id: str
    vector: list[float] | None
    payload: dict


@dataclass(frozen=True)
class Hit:
    video_id: str
    score: float
    payload: dict


@dataclass(frozen=True)
class CollectionState:
    name: str
    aliases: tuple[str, ...]
    points: int
    status: str
    metadata: dict
    engine: str = ""  # which engine and index answer it (IndexState.describe)
    indexed_vectors: int | None = None  # vectors in indexed segments; None where the engine keeps no index
