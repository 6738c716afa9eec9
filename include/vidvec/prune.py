"""Compaction's warehouse step: drop the stored vectors no collection needs any more.

`video_embeddings` keeps a row per (video, model, text): every recipe and model
ever built leaves rows behind, and every edit of a video leaves its old text's
vector. A row is *needed* when some existing collection (any alias or none, any
state: a rollback target or a retained collection may still be reindexed or
audited) would use it: the vector, by that collection's model, of a public
catalog video's current text under that collection's recipe. Everything else
is pruned: old texts, recipes or models no collection uses any more, videos no
longer public. Rows embedded within PRUNE_GRACE of the run's time are kept
whatever they are: a rebuild stores its vectors before its collection exists,
and the stream stores a text's vector before it writes the point.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from vidvec.catalog.base import Catalog, EmbeddingKey
from vidvec.core.types import XCom
from vidvec.params import CompactOptions
from vidvec.store import VectorStore
from vidvec.truth import CurrentTexts, collection_recipe

log = logging.getLogger(__name__)
PRUNE_GRACE = timedelta(hours=48)


@dataclass(frozen=True)
class Pruned(XCom):
    """prune: what was (in a dry run: would be) deleted from video_embeddings, per model."""

    dry_run: bool
    examined: int  # rows older than the grace period
    pruned: dict  # model_id -> rows deleted
    needed: list  # "model_id recipe" pairs the existing collections use


def needed_texts(catalog: Catalog, store: VectorStore) -> dict[str, list[CurrentTexts]]:
    """model_id -> the current texts of each recipe a collection of that model uses (one catalog scan a recipe)."""
    uses: dict[str, set[str]] = {}
    for state in store.collections():
        if state.metadata.get("model_id"):
            uses.setdefault(state.metadata["model_id"], set()).add(collection_recipe(state.metadata).version)
    texts = {recipe: CurrentTexts(catalog, collection_recipe({"recipe": recipe}))
             for recipe in {r for recipes in uses.values() for r in recipes}}
    return {model: [texts[r] for r in sorted(recipes)] for model, recipes in uses.items()}


def _unneeded(batch: list[EmbeddingKey], needed: dict[str, list[CurrentTexts]]) -> list[EmbeddingKey]:
    out = []
    for model in {k.model_id for k in batch}:
        rows = [k for k in batch if k.model_id == model]
        keep = [False] * len(rows)
        for texts in needed.get(model, []):
            held = texts.holds([k.video_id for k in rows], [k.text_hash for k in rows])
            keep = [a or bool(b) for a, b in zip(keep, held, strict=True)]
        out += [k for k, kept in zip(rows, keep, strict=True) if not kept]
    return out


def prune(catalog: Catalog, store: VectorStore, now: datetime, opts: CompactOptions) -> Pruned:
    """Delete the unneeded rows older than PRUNE_GRACE (not in a dry run); a second run deletes nothing."""
    needed = needed_texts(catalog, store)
    examined, doomed = 0, []
    for batch in catalog.iter_embedding_keys(now - PRUNE_GRACE):
        examined += len(batch)
        doomed += _unneeded(batch, needed)
    if doomed and not opts.dry_run:  # after the scan: its cursor is closed
        catalog.delete_embeddings(doomed)
    log.info("prune: %s of %s stored vectors %s", len(doomed), examined, "unneeded" if opts.dry_run else "deleted")
    return Pruned(opts.dry_run, examined, dict(Counter(k.model_id for k in doomed)),
                  sorted(f"{m} {len(t)} recipe(s)" for m, t in needed.items()))
