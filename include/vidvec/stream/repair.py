"""Replay what a target missed while it was not writable (its `stream_gap_since` mark).

The mark is the oldest version of an event the target missed. The catalog is
the source of truth, so replaying `changes_since(mark)` through the one write
path (apply.apply_videos: conditional on versions, tombstones included) brings
the target level with the catalog. A self-contained event of a video the
catalog does not (yet) hold is not replayed; compaction converges the
collection to the catalog whatever. The mark is cleared only after the replay
returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import structlog

from vidvec.apply import apply_videos
from vidvec.catalog.base import Catalog
from vidvec.embed.base import Embedder
from vidvec.store import VectorStore
from vidvec.stream.degraded import gap_since
from vidvec.stream.targets import GAP_KEY, Target

log = structlog.get_logger("vidvec.sidecar")


def repair_gaps(catalog: Catalog, store: VectorStore, writable: list[tuple[Target, Embedder]]) -> list[str]:
    """Replay the catalog into each writable target that carries a gap mark; the collections repaired."""
    repaired = []
    for target, embedder in writable:
        since = gap_since({GAP_KEY: target.gap_since})
        if since is None:
            continue
        counts = {"written": 0, "tombstoned": 0, "encoded": 0}
        # changes_since is strict (updated_at > t): one microsecond earlier includes the mark's own version
        for videos in catalog.changes_since(since - timedelta(microseconds=1)):
            done = apply_videos(catalog, store, embedder, target.collection, videos, target.recipe,
                                datetime.now(timezone.utc))
            counts = {k: counts[k] + done.counts[k] for k in counts}
        store.update_metadata(target.collection, **{GAP_KEY: ""})
        log.info("target repaired from the catalog", target=target.label, collection=target.collection,
                 since=since.isoformat(), **counts)
        repaired.append(target.collection)
    return repaired
