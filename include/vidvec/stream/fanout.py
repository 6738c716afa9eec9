"""One batch, every target in its own family: plan per target, encode once per (model, text), finish per target.

Two targets of one model and recipe share each text's vector (one encode);
two recipes of one model are two texts (two hashes), two models two keys.
The vectors go to the warehouse under their own model id, each target's
points carry its own embedder's model id and are written at its own dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vidvec.apply import Plan, Prepared, finish_embeddings, plan_videos
from vidvec.catalog.base import Catalog
from vidvec.core.types import Video
from vidvec.embed.base import Embedder
from vidvec.embed.registry import NoEmbedder
from vidvec.stream.degraded import Unwritable
from vidvec.stream.families import Embedders
from vidvec.stream.targets import Target

TextKey = tuple[str, str]  # (model id, text hash)


@dataclass(frozen=True)
class TargetPlan:
    target: Target
    embedder: Embedder
    plan: Plan

    def key(self, i: int) -> TextKey:
        return self.embedder.model_id, self.plan.hashes[i]


def split_writable(targets: list[Target], embedders: Embedders
                   ) -> tuple[list[tuple[Target, Embedder]], list[Unwritable]]:
    """Each target with the embedder of its family, or unwritable with the reason."""
    writable, failing = [], []
    for t in targets:
        try:
            writable.append((t, embedders.for_target(t)))
        except NoEmbedder as exc:
            failing.append(Unwritable(t, str(exc)))
    return writable, failing


def plan_targets(catalog: Catalog, writable: list[tuple[Target, Embedder]], videos: list[Video]) -> list[TargetPlan]:
    return [TargetPlan(t, e, plan_videos(catalog, e, videos, t.recipe)) for t, e in writable]


def texts_to_encode(plans: list[TargetPlan]) -> dict[TextKey, tuple[str, int | None]]:
    """(model id, text hash) -> (text, token budget): each text once, whatever the number of targets."""
    return {tp.key(i): (tp.plan.texts[i], tp.plan.max_tokens) for tp in plans for i in tp.plan.todo}


def encode_texts(texts: dict[TextKey, tuple[str, int | None]], by_model: dict[str, Embedder]
                 ) -> dict[TextKey, np.ndarray]:
    """One encoder call per (model, budget)."""
    vectors: dict[TextKey, np.ndarray] = {}
    for model_id, budget in {(k[0], b) for k, (_, b) in texts.items()}:
        keys = [k for k, (_, b) in texts.items() if k[0] == model_id and b == budget]
        out = by_model[model_id].encode([texts[k][0] for k in keys], max_tokens=budget)
        vectors.update(zip(keys, out, strict=True))
    return vectors


def finish_targets(plans: list[TargetPlan], vectors: dict[TextKey, np.ndarray], catalog: Catalog,
                   now: datetime) -> list[tuple[TargetPlan, Prepared]]:
    """New vectors stored in the warehouse (per model), and each target's points."""
    return [(tp, finish_embeddings(tp.plan, [vectors[tp.key(i)] for i in tp.plan.todo], catalog, tp.embedder, now))
            for tp in plans]
