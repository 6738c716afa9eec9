"""The rebuild's encode stage: vectors made durable before the store is opened.

encode (one task per shard, in parallel, no store, the catalog read-only) ->
ingest (one step: parts into `video_embeddings`) -> load (rebuild.load_shard,
from stored vectors only, holding the store). An encode task reads its shard
as of T0 with the stored vectors joined, encodes every text whose (model id,
text hash) has no stored vector, and writes those vectors as one part
(parts.py). Its rows carry embedded_at = T0 (never now()), so a rerun writes
the same rows and the same vectors over the same part; once a part is
ingested a rerun finds the vectors stored and encodes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidvec.apply import Plan, encode_plan, plan_embeddings
from vidvec.catalog.base import Catalog, StoredEmbedding
from vidvec.core.types import XCom
from vidvec.embed.base import Embedder
from vidvec.parts import PartsRoot, read_part, write_part
from vidvec.progress import Progress

if TYPE_CHECKING:
    from vidvec.rebuild import RebuildPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardEncoded(XCom):
    shard: int
    rows: int  # the shard's public videos as of T0
    encoded: int  # texts without a stored vector: encoded now, in the part
    reused: int
    part: str | None  # the part's path on its filesystem; None when nothing was encoded


def _fresh_rows(todo: Plan, vectors, embedder: Embedder, plan: RebuildPlan) -> list[StoredEmbedding]:
    return [StoredEmbedding(todo.videos[i].video_id, embedder.model_id, todo.hashes[i], v,
                            todo.videos[i].updated_at, plan.t0) for i, v in zip(todo.todo, vectors, strict=True)]


def _encoded_batches(catalog: Catalog, embedder: Embedder, plan: RebuildPlan, shard: int, batch_size: int,
                     counts: dict) -> Iterator[list[StoredEmbedding]]:
    """The shard's new vectors, a batch at a time, in order; the next batch is read while this one is encoded."""
    scan = iter(catalog.scan_shard_with_embeddings(shard, plan.n_shards, as_of=plan.t0,
                                                   model_id=embedder.model_id, batch_size=batch_size))
    progress = Progress(f"encode shard {shard}/{plan.n_shards}", total=None, log=log)

    def submit(encoder: ThreadPoolExecutor) -> tuple[Plan, Future] | None:
        batch = next(scan, None)
        if batch is None:
            return None
        videos, stored = batch
        todo = plan_embeddings(videos, catalog, embedder, plan.recipe, stored=stored)
        return todo, encoder.submit(encode_plan, todo, embedder)

    # Two batches with the encoder at once: a parallel encoder's workers start on batch i+1 while the
    # last chunks of batch i finish (no idle core at each batch's end); an embedder of one core takes
    # them in turn (its lock). Results are still taken in the scan's order.
    with ThreadPoolExecutor(2, thread_name_prefix="vidvec-encoder") as encoder:
        pending = submit(encoder)
        while pending:
            following = submit(encoder)
            todo, fresh = pending
            counts["rows"] += len(todo.videos)
            counts["encoded"] += len(todo.todo)
            progress.update(len(todo.videos))
            yield _fresh_rows(todo, fresh.result(), embedder, plan)
            pending = following
    progress.done()


def encode_shard(catalog: Catalog, embedder: Embedder, plan: RebuildPlan, shard: int, where: PartsRoot,
                 batch_size: int = 256) -> ShardEncoded:
    """Encode one shard's texts that have no stored vector into its part (never opens the store)."""
    if not plan.encode:  # reindex: stored vectors only, the encoder never runs
        return ShardEncoded(shard, 0, 0, 0, None)
    counts = {"rows": 0, "encoded": 0}
    path = where.path(plan.collection, shard, plan.n_shards)
    written = write_part(where, path, _encoded_batches(catalog, embedder, plan, shard, batch_size, counts))
    return ShardEncoded(shard, counts["rows"], written, counts["rows"] - written, path if written else None)


def ingest_parts(catalog: Catalog, where: PartsRoot, encoded: list[ShardEncoded], batch_size: int = 4096) -> int:
    """The parts into `video_embeddings` (one writer); upserts by (video, model, text hash): reruns change nothing."""
    rows = 0
    for shard in encoded:
        if shard.part:
            for batch in read_part(where, shard.part, batch_size):
                rows += catalog.put_embeddings(batch)
    return rows
