"""Plain types the rest of vidvec speaks (and XCom may carry as dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Self

STATUSES = ("public", "private", "deleted")
# A collection's life (its metadata "state"): loading, finished and verified, or given up.
BUILDING, READY, FAILED = "building", "ready", "failed"
# Collection metadata: ISO version of the oldest event the sidecar could not write into it ("" = none).
STREAM_GAP_KEY = "stream_gap_since"


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


VIDEO_FIELDS = tuple(f.name for f in fields(Video))  # the catalog's columns, in order


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


class XCom:
    """to_xcom() / from_xcom() for a frozen dataclass of JSON-safe values (a step's result between tasks).

    Datetime fields travel as ISO-8601 strings; everything else as is.
    """

    if TYPE_CHECKING:  # every XCom is a dataclass: what fields() asks of it
        __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_xcom(self) -> dict[str, Any]:
        # not asdict(self): its deep copy of a pendulum datetime (Airflow's) drops the time zone
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Self:
        times = {f.name for f in fields(cls) if "datetime" in str(f.type)}
        return cls(**{f.name: (datetime.fromisoformat(data[f.name]) if f.name in times and data[f.name] else
                               data[f.name]) for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class PointToWrite:
    """A point ready for the store: id, vector and vidvec's payload fields."""

    video_id: str
    vector: list[float] | None
    payload: dict


@dataclass(frozen=True)
class StoredPoint:
    """A point as an engine holds it, whoever wrote it: its raw id (a UUID string or an integer)."""

    id: str | int
    payload: dict
    vector: list[float] | None = None

    @property
    def video_id(self) -> str | None:
        return self.payload.get("video_id")


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
