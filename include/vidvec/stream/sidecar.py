"""The sidecar loop: pull a micro-batch, validate, keep each video's newest event,
apply to every target collection, dead-letter the bad, then ack.

Order matters for at-least-once: writes (wait=True) and dead letters first,
the ack last. A crash anywhere replays the batch; conditional writes make the
replay harmless. While the store is unreachable the batch is retried with
backoff and nothing new is pulled (intake pauses); readiness is false.
Batch N+1 is pulled and planned while batch N is encoded (one encoder thread),
and encoded while N is written; acks stay in batch order (see `Sidecar.run`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import structlog

from vidvec.apply import Plan, Prepared, finish_embeddings, plan_videos, write_prepared
from vidvec.catalog.base import Catalog
from vidvec.core.events import BadEvent, Event, newest_per_video, parse_event
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.store import VectorStore
from vidvec.stream.encoding import encode_texts
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


@dataclass
class Pending:
    """A validated, planned batch whose texts are with the encoder thread (future: text hash -> vector)."""

    batch: Batch  # newest = the resolved events; bad includes the unresolvable
    plans: list[tuple[str, Plan]]  # (collection, its plan) per target
    future: Future
    started: float


@dataclass
class Ready:
    """A batch ready to write: what to write where; acked only after every write returned."""

    writes: list[tuple[str, Prepared]]
    counts: dict


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
        """Pull, plan, encode (encoder thread), store vectors, write, ack: N+1 is encoded while N is written.

        The encoder thread only runs the encoder (numpy releases the GIL); this
        thread owns the source, the catalog and the store, and does its work for
        batch N+1 (pull, validate, catalog reads) while N is being encoded, so
        N+1's texts wait in the encoder's queue and the encoder never waits for
        this thread's reads or writes. At most two batches are in flight, acked
        strictly in order, each only after its own writes returned. A failed
        batch takes the one behind it down too (nacked).
        """
        pending: Pending | None = None
        idle_since = time.monotonic()
        with ThreadPoolExecutor(1, thread_name_prefix="vidvec-encoder") as encoder:
            try:
                while not self.stop.is_set() or pending:
                    self.health.beat()
                    if self._io(self._refresh_targets) is None:
                        break  # stopped while the store was down
                    if pending is None:
                        messages = self.source.pull(self.max_batch_events, self.max_batch_seconds, self.stop)
                        if messages:
                            pending = self._submit(encoder, messages)
                            idle_since = time.monotonic()
                        elif self.drain and time.monotonic() - idle_since >= self.source.drain_idle_seconds:
                            log.info("drained", source=self.source.name)
                            break
                        continue
                    current, pending = pending, None
                    pending = self._prefetch(encoder, current)  # planned while current encodes; queued behind it
                    vectors = self._guard(current.batch.messages, current.future.result)
                    if (vectors is None or not self._write(current, vectors)) and pending:
                        self._abandon(pending, "behind a failed batch")  # current: nacked or dead-lettered
                        pending = None
            finally:
                if pending:  # an exception or a stop during an outage: never acked, redelivered
                    self._abandon(pending, "shutdown")

    # -- pipeline steps ----------------------------------------------------
    def _submit(self, encoder: ThreadPoolExecutor, messages: list[Message]) -> Pending | None:
        """Validate, resolve and plan (catalog reads), then hand the texts to encode to the encoder thread."""
        started = time.monotonic()
        batch = split(messages, datetime.now(timezone.utc))
        planned = self._guard(messages, lambda: self._io(lambda: self._plan(batch)))
        if planned is None:  # stopped while the store was down, or failed: nacked already
            return None
        batch, plans = planned
        texts = {p.hashes[i]: (p.texts[i], p.max_tokens) for _, p in plans for i in p.todo}  # once each
        return Pending(batch, plans, encoder.submit(self._encode, texts), started)

    def _plan(self, batch: Batch) -> tuple[Batch, list[tuple[str, Plan]]]:
        """The targets as of now (after the pull), the events resolved, a plan per target."""
        targets = self._refresh_targets()
        videos, kept, unresolved = self._resolve(batch.newest)
        plans = [(t.collection, plan_videos(self.catalog, self.embedder, videos, t.recipe)) for t in targets]
        return Batch(batch.messages, kept, batch.superseded, batch.bad + unresolved), plans

    def _encode(self, texts: dict[str, tuple[str, int | None]]) -> dict[str, np.ndarray]:
        """Encoder thread: the only work done there (no catalog, no store, no source).

        texts: text hash -> (text, the recipe's token budget); one encoder call per budget.
        """
        return encode_texts(self.embedder, texts)

    def _prefetch(self, encoder: ThreadPoolExecutor, current: Pending) -> Pending | None:
        """While N encodes: take what is already waiting (no wait) as N+1, planned now, encoded right after N."""
        if self.stop.is_set():
            return None
        messages = self.source.pull(self.max_batch_events, 0.0, self.stop)
        try:
            return self._submit(encoder, messages) if messages else None
        except VidvecError:
            self._nack(current.batch.messages, "configuration")  # N is not written either
            raise

    def _finish(self, current: Pending, vectors: dict[str, np.ndarray]) -> Ready:
        """Store the new vectors in the catalog and build each target's points."""
        now = datetime.now(timezone.utc)
        writes = [(collection, finish_embeddings(plan, [vectors[plan.hashes[i]] for i in plan.todo],
                                                 self.catalog, self.embedder, now))
                  for collection, plan in current.plans]
        counts = {"encoded": len(vectors), "reused": sum(p.counts["reused"] for _, p in writes),
                  "targets": [c for c, _ in writes]}
        return Ready(writes, counts)

    def _write(self, current: Pending, vectors: dict[str, np.ndarray]) -> bool:
        """Vectors stored, writes (wait=True), dead letters, then the ack; False if the batch was not acked.

        The counts logged are what the store really wrote, summed over the targets.
        """
        def write_all() -> Ready:
            ready = self._finish(current, vectors)
            done = [write_prepared(self.store, collection, prepared, self.embedder.dim).counts
                    for collection, prepared in ready.writes]
            ready.counts |= {k: sum(d[k] for d in done) for k in ("written", "tombstoned", "skipped")}
            return ready

        messages, batch = current.batch.messages, current.batch
        ready = self._guard(messages, lambda: self._io(write_all))
        if ready is None:
            return False
        if self._io(lambda: [self.source.dead_letter(m, reason) for m, reason in batch.bad]) is None:
            self._nack(messages, "shutdown")  # dead letters not all written: ack nothing
            return False
        self.source.ack(messages)
        self._record(batch, ready.counts, time.monotonic() - current.started)
        return True

    def _guard(self, messages: list[Message], fn):
        """fn's result; on a stop (None) or a failure the batch is nacked / dead-lettered and None returned."""
        try:
            result = fn()
        except VidvecError:
            self._nack(messages, "configuration")
            raise  # e.g. a model family mismatch: fail loudly, lose nothing
        except Exception as exc:  # terminal: redelivered, dead-lettered after too many attempts
            self._failed(messages, exc)
            return None
        if result is None:  # stopped while retrying: the next consumer gets them
            self._nack(messages, "shutdown")
        return result

    def _abandon(self, pending: Pending, why: str) -> None:
        """Nack a batch that was pulled (perhaps encoded) but whose predecessor was not acked."""
        try:
            pending.future.result()  # let the encoder thread finish with it first
        except Exception:  # its own failure does not matter: it is redelivered either way
            pass
        self._nack(pending.batch.messages, why)

    # -- steps -------------------------------------------------------------
    def _refresh_targets(self) -> list[Target]:
        targets = self.targets.get()
        for t in targets:
            check_family(self.embedder, t.family, f"collection {t.collection} ({', '.join(t.aliases)})")
        self.metrics.targets.set(len(targets))
        self.health.set_ready(True)
        self.metrics.ready.set(1)
        return targets

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
                 skipped=counts["skipped"], encoded=counts["encoded"], reused=counts["reused"],
                 targets=counts["targets"], seconds=round(seconds, 4),
                 freshness_max=round(max(freshness), 3) if freshness else None)
