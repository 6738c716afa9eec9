"""Catalog events the sidecar consumes, validated before anything reaches the store.

An event names a video, an op (upsert | delete) and the video's version
(updated_at). It may carry the catalog fields too: an upsert with a title is
self-contained; one without is looked up in the catalog. A delete needs no
lookup. `parse_event` turns raw bytes into an Event or raises BadEvent with a
reason fit for a dead-letter record.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from vidvec.core.ids import validate_video_id
from vidvec.core.limits import EVENT_BYTES, check_fields
from vidvec.core.types import STATUSES, VIDEO_FIELDS, Video, to_micros
from vidvec.core.versions import Version, supersedes
from vidvec.errors import VidvecError

MAX_CLOCK_SKEW = timedelta(hours=1)  # updated_at may lead our clock by this much
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class BadEvent(VidvecError):
    """An event that can never be applied; its reason goes to the dead-letter sink."""


def _iso_only(value: object) -> str | datetime:
    # Numbers are ambiguous (seconds? micros?): events carry ISO-8601 strings.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO-8601 string")
    return value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _video_id(value: str) -> str:
    try:
        return validate_video_id(value)
    except VidvecError as exc:
        raise ValueError(str(exc)) from None


Timestamp = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_as_utc)]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=False)

    video_id: Annotated[str, AfterValidator(_video_id)]
    op: Literal["upsert", "delete"]
    updated_at: Timestamp
    title: str | None = None
    description: str = ""
    tags: list[str] = []
    transcript: str | None = None
    language: str = ""
    owner_id: str = ""
    category: str = ""
    status: Literal[STATUSES] = "public"  # type: ignore[valid-type]
    published_at: Timestamp | None = None

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        try:
            check_fields(self.__dict__)  # the limits a catalog row has too (core/limits.py)
        except VidvecError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def self_contained(self) -> bool:
        """A delete, or an upsert carrying the text fields: no catalog lookup."""
        return self.op == "delete" or self.title is not None

    @property
    def version(self) -> Version:
        """What the event says of the video: a delete is status deleted (core/versions.py ranks it)."""
        return Version("deleted" if self.op == "delete" else self.status, to_micros(self.updated_at))

    def to_video(self) -> Video:
        """The video this event describes (a delete is a 'deleted' row)."""
        if self.op == "delete":
            return Video(video_id=self.video_id, title="", status="deleted", updated_at=self.updated_at)
        if self.title is None:
            raise VidvecError(f"event for {self.video_id} carries no title: look it up in the catalog")
        return Video(**{name: getattr(self, name) for name in VIDEO_FIELDS} | {"tags": tuple(self.tags)})


def _reason(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        if e["loc"]:
            parts.append(f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
        else:  # the size checks (a model validator) name their field themselves
            parts.append(e["msg"].removeprefix("Value error, "))
    return "; ".join(parts)


def parse_event(raw: bytes, now: datetime, max_skew: timedelta = MAX_CLOCK_SKEW) -> Event:
    """Validate one raw event; BadEvent says why it can never be applied."""
    if len(raw) > EVENT_BYTES:
        raise BadEvent(f"event is {len(raw):,} bytes; the limit is {EVENT_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEvent(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadEvent(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(body, dict):
        raise BadEvent(f"an event is a JSON object, got {type(body).__name__}")
    try:
        event = Event.model_validate(body)
    except ValidationError as exc:
        raise BadEvent(_reason(exc)) from None
    for name in ("updated_at", "published_at"):
        ts = getattr(event, name)
        if ts is not None and ts < EPOCH:
            raise BadEvent(f"{name} {ts.isoformat()} is before 1970")
    if event.updated_at > now + max_skew:
        raise BadEvent(f"updated_at {event.updated_at.isoformat()} is in the future "
                       f"(more than {max_skew} ahead of {now.isoformat()})")
    return event


def encode_event(event: Event) -> bytes:
    """The wire form `parse_event` reads back (fields left at their defaults are omitted)."""
    return event.model_dump_json(exclude_unset=True).encode("utf-8")


def thin_event(video: Video) -> bytes:
    """The event announcing a written catalog row; the sidecar reads the row itself."""
    op = "delete" if video.status == "deleted" else "upsert"
    return encode_event(Event(video_id=video.video_id, op=op, updated_at=video.updated_at))


def newest_per_video(events: list[Event]) -> list[Event]:
    """Keep each video's newest event by the one write rule: at one version a tombstone wins.

    (A thin upsert's status is the catalog's, read later; here it ranks as public.)
    """
    best: dict[str, Event] = {}
    for e in events:
        cur = best.get(e.video_id)
        if cur is None or supersedes(e.version, cur.version):
            best[e.video_id] = e
    return list(best.values())
