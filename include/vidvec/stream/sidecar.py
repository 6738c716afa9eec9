"""The sidecar loop: pull a micro-batch, validate, keep each video's newest event,
apply to every target collection, dead-letter the bad, then ack.

Order matters for at-least-once: writes (wait=True) and dead letters first,
the ack last. A crash anywhere replays the batch; conditional writes make the
replay harmless. While the store is unreachable the batch is retried with
backoff and nothing new is pulled (intake pauses); readiness is false.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import structlog

from vidvec.apply import apply_videos
from vidvec.catalog.base import Catalog
from vidvec.core.events import BadEvent, Event, newest_per_video, parse_event
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.store.qdrant import VectorStore
from vidvec.stream.ops import Health, Metrics
from vidvec.stream.retry import is_retryable, retrying
from vidvec.stream.source import Message, Source
from vidvec.stream.targets import Target, TargetMap

log = structlog.get_logger("vidvec.sidecar")


@dataclass
class Batch:
    """One micro-batch, split by what will happen to each message."""

    messages: list[Message]
    newest: list[tuple[Event, Message]] = field(default_factory=list)
    superseded: list[Message] = field(default_factory=list)
    bad: list[tuple[Message, str]] = field(default_factory=list)


def split(messages: list[Message], now: datetime) -> Batch:
    """Validate every message; keep each video's newest event (pure, no I/O)."""
    batch = Batch(messages)
    good: list[tuple[Event, Message]] = []
    for msg in messages:
        try:
            good.append((parse_event(msg.data, now), msg))
        except BadEvent as exc:
            batch.bad.append((msg, str(exc)))
    keep = {id(e) for e in newest_per_video([e for e, _ in good])}
    for event, msg in good:
        (batch.newest.append((event, msg)) if id(event) in keep else batch.superseded.append(msg))
    return batch


class Sidecar:
    def __init__(self, *, source: Source, store: VectorStore, catalog: Catalog, embedder: Embedder,
                 targets: TargetMap, metrics: Metrics, health: Health, stop: threading.Event,
                 max_batch_events: int = 256, max_batch_seconds: float = 0.2, drain: bool = False,
                 max_backoff_seconds: float = 30.0, max_delivery_attempts: int | None = None,
                 on_acked=None):
        self.source, self.store, self.catalog, self.embedder = source, store, catalog, embedder
        self.targets, self.metrics, self.health, self.stop = targets, metrics, health, stop
        self.max_batch_events, self.max_batch_seconds, self.drain = max_batch_events, max_batch_seconds, drain
        self.max_delivery_attempts = max_delivery_attempts  # None: the source's own policy decides
        self.on_acked = on_acked  # test/bench hook: called with each acked batch's freshness seconds
        self._retry = retrying(stop, max_backoff_seconds, self._on_retry)

    # -- the loop ----------------------------------------------------------
    def run(self) -> None:
        idle_since = time.monotonic()
        while not self.stop.is_set():
            self.health.beat()
            if not self._io(self._refresh_targets):
                break  # stopped while the store was down
            messages = self.source.pull(self.max_batch_events, self.max_batch_seconds, self.stop)
            if messages:
                self.process(messages)
                idle_since = time.monotonic()
            elif self.drain and time.monotonic() - idle_since >= self.source.drain_idle_seconds:
                log.info("drained", source=self.source.name)
                break

    def process(self, messages: list[Message]) -> None:
        started = time.monotonic()
        batch = split(messages, datetime.now(timezone.utc))
        try:
            counts = self._io(lambda: self._apply(batch))
        except VidvecError:
            self._nack(messages, "configuration")
            raise  # e.g. a model family mismatch: fail loudly, lose nothing
        except Exception as exc:  # terminal: redelivered, dead-lettered after too many attempts
            self._failed(messages, exc)
            return
        if counts is None:  # stopped while retrying: the next consumer gets them
            self._nack(messages, "shutdown")
            return
        if self._io(lambda: [self.source.dead_letter(m, reason) for m, reason in batch.bad]) is None:
            self._nack(messages, "shutdown")  # dead letters not all written: ack nothing
            return
        self.source.ack(messages)
        self._record(batch, counts, time.monotonic() - started)

    # -- steps -------------------------------------------------------------
    def _refresh_targets(self) -> list[Target]:
        targets = self.targets.get()
        for t in targets:
            check_family(self.embedder, t.family, f"collection {t.collection} ({', '.join(t.aliases)})")
        self.metrics.targets.set(len(targets))
        self.health.set_ready(True)
        self.metrics.ready.set(1)
        return targets

    def _apply(self, batch: Batch) -> dict:
        """Resolve and write; the batch's fields change only once every write returned."""
        videos, kept, unresolved = self._resolve(batch.newest)
        counts = {"written": 0, "tombstoned": 0, "encoded": 0, "reused": 0}
        targets = self._refresh_targets()
        now = datetime.now(timezone.utc)
        for target in targets:
            done = apply_videos(self.catalog, self.store, self.embedder, target.collection, videos,
                                target.recipe, now)
            counts = {k: counts[k] + done[k] for k in counts}
        counts["targets"] = [t.collection for t in targets]
        batch.newest, batch.bad = kept, batch.bad + unresolved
        return counts

    def _resolve(self, newest: list[tuple[Event, Message]]):
        """Events -> videos; thin upserts read the catalog, which must be at least as new."""
        thin = [e.video_id for e, _ in newest if not e.self_contained]
        rows = self.catalog.get_videos(thin) if thin else {}
        videos, kept, bad = [], [], []
        for event, msg in newest:
            row = None if event.self_contained else rows.get(event.video_id)
            if event.self_contained:
                videos.append(event.to_video())
            elif row is None:
                bad.append((msg, f"video {event.video_id} is not in the catalog and the event has no title"))
                continue
            elif row.updated_at < event.updated_at:
                bad.append((msg, f"catalog holds {event.video_id} as of {row.updated_at.isoformat()}, "
                                 f"older than the event ({event.updated_at.isoformat()})"))
                continue
            else:
                videos.append(row)
            kept.append((event, msg))
        return videos, kept, bad

    def _io(self, fn):
        """Run fn with retries on the retryable set; None if stop was requested meanwhile."""
        try:
            return self._retry(fn)
        except Exception as exc:
            if self.stop.is_set() and is_retryable(exc):
                return None
            raise

    def _on_retry(self, exc: BaseException, attempt: int) -> None:
        self.health.beat()  # waiting on the store is alive, not stuck
        self.health.set_ready(False, f"store unreachable: {type(exc).__name__}")
        self.metrics.ready.set(0)
        self.metrics.store_errors.inc()
        log.warning("store unreachable; intake paused", error=str(exc)[:300], attempt=attempt)

    def _nack(self, messages: list[Message], why: str) -> None:
        self.source.nack(messages)
        self.metrics.events.labels("nacked").inc(len(messages))
        log.warning("nacked", events=len(messages), why=why)

    def _failed(self, messages: list[Message], exc: Exception) -> None:
        reason = f"failed {messages[0].attempt} time(s): {type(exc).__name__}: {exc}"[:1000]
        log.error("batch failed", error=reason)
        self.targets.invalidate()  # a vanished collection: the next attempt resolves afresh
        limit = self.max_delivery_attempts
        if limit is None or min(m.attempt for m in messages) < limit:
            self._nack(messages, "error")
            return
        for m in messages:
            self.source.dead_letter(m, reason)
        self.source.ack(messages)
        self.metrics.events.labels("dead_lettered").inc(len(messages))

    def _record(self, batch: Batch, counts: dict, seconds: float) -> None:
        now = time.time()
        freshness = [now - m.published_at for _, m in batch.newest] + [now - m.published_at for m in batch.superseded]
        result = "applied" if counts["targets"] else "no_target"
        self.metrics.events.labels(result).inc(len(batch.newest))
        self.metrics.events.labels("superseded").inc(len(batch.superseded))
        self.metrics.events.labels("dead_lettered").inc(len(batch.bad))
        self.metrics.encoded.inc(counts["encoded"])
        self.metrics.batch.observe(seconds)
        for f in freshness:
            self.metrics.freshness.observe(f)
        if self.on_acked:
            self.on_acked(freshness)
        log.info("batch", events=len(batch.messages), applied=len(batch.newest), superseded=len(batch.superseded),
                 dead_lettered=len(batch.bad), written=counts["written"], tombstoned=counts["tombstoned"],
                 encoded=counts["encoded"], reused=counts["reused"], targets=counts["targets"],
                 seconds=round(seconds, 4), freshness_max=round(max(freshness), 3) if freshness else None)
