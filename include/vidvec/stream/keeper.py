"""The index keeper: while the sidecar holds a store without a background optimizer, it keeps the index built.

Qdrant Edge indexes nothing by itself, and while the sidecar holds the store no
task can open it to do so: every vector streamed after the nightly build would
wait in an unindexed segment that each search scans in full. So between
batches the keeper asks each target's status (at most every `check_seconds`);
when more than the collection's `indexing_threshold_kb` of vectors wait (status
not green: what a server's optimizer would have planned), it runs
`store.keep_index`. That indexes them in segments of their own of at most
`max_segment_kb` (never merged into the built segment, whose graph would be
rebuilt), and vacuums segments whose deleted share passed `deleted_threshold`
(edits and tombstones replace points: their old versions count as deleted).

The bound on acks: keep_index blocks the sidecar (Edge's optimize holds the
GIL), so the batch behind it waits for one run: indexing what was written since
the last run (about indexing_threshold_kb of vectors in a steady stream, more
after an outage), plus merging stream segments up to max_segment_kb; at the
defaults (1000 KB, 8000 KB: about 500 and 4,000 vectors of 512 floats) that is
the time to index ~4,000 vectors at most (BENCHMARKS.md, "Index keeper").
A vacuum of the built segment (once deleted_threshold of the whole collection was
replaced since the build, 20% by default) rewrites it whole; the nightly rebuild
normally comes first. Every run is logged and counted with its seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from vidvec.store import VectorStore

log = structlog.get_logger("vidvec.sidecar")
PAUSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class IndexKeeper:
    def __init__(self, store: VectorStore, registry: CollectorRegistry, *, max_segment_kb: int,
                 deleted_threshold: float, check_seconds: float, clock=time.monotonic):
        self.store, self.clock = store, clock
        self.max_segment_kb, self.deleted_threshold = max_segment_kb, deleted_threshold
        self.check_seconds = check_seconds
        self.needed = not store.capabilities.background_optimizer and not store.capabilities.exact
        self._checked = float("-inf")
        self.runs = Counter("vidvec_sidecar_index_runs_total", "Index keeper runs by result", ["result"],
                            registry=registry)
        self.pause = Histogram("vidvec_sidecar_index_pause_seconds",
                               "How long one index keeper run held the sidecar (acks waited)",
                               buckets=PAUSE_BUCKETS, registry=registry)

    def tend(self, collections: Iterable[str]) -> list[dict]:
        """Keep each collection's index built if it is due; the runs done (none before check_seconds passed)."""
        if not self.needed or self.clock() - self._checked < self.check_seconds:
            return []
        self._checked = self.clock()
        return [done for name in collections if (done := self._tend_one(name)) is not None]

    def _tend_one(self, name: str) -> dict | None:
        try:
            done = self.store.keep_index(name, self.max_segment_kb, self.deleted_threshold)
        except Exception as exc:  # noqa: BLE001 - the stream goes on; the next check tries again
            self.runs.labels("failed").inc()
            log.warning("index keeper failed", collection=name, error=str(exc)[:300])
            return None
        if not done.get("applied") or not done.get("optimized"):
            self.runs.labels("not_applied" if not done.get("applied") else "idle").inc()
            return None
        self.runs.labels("optimized").inc()
        self.pause.observe(done["seconds"])
        log.info("index kept", collection=name, **done)
        return done | {"collection": name}
