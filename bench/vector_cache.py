"""Encoder outputs cached on disk, so that one slow encode (e5 over the sample catalog takes
tens of CPU-minutes) feeds every figure computed from it.

`python -m bench.vector_cache EMBEDDER RECIPE BUDGET [EVERY [catalog|sib200 [WORKER/WORKERS]]]`
fills the cache (several workers share one encode, chunk by chunk); `encoded` reads it, encoding
what is missing. A chunk is keyed by the embedder's model id, the recipe, the token budget and
its texts, and records the CPU seconds its encode took, so a texts/s figure comes with the vectors.
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
CHUNK = 128


def _encode_chunk(embedder, texts: list[str], recipe: str, budget: int | None, fill: bool = True):
    """(vectors, CPU seconds) of one chunk: from the cache, else encoded and stored (None if not fill)."""
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{embedder.model_id}-{recipe}-{budget}-{digest}.npy"
    if path.exists():
        return np.load(path), json.loads(path.with_suffix(".json").read_text())["cpu_seconds"]
    if not fill:
        return None
    start = time.process_time()
    vectors = embedder.encode(texts, max_tokens=budget)
    seconds = time.process_time() - start
    CACHE.mkdir(exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), vectors)
    path.with_suffix(".json").write_text(json.dumps({"cpu_seconds": seconds, "texts": len(texts)}))
    path.with_suffix(".tmp.npy").rename(path)  # whole or absent: another worker may read it
    return vectors, seconds


def cached(embedder, videos: list, recipe: str, budget: int | None) -> tuple[np.ndarray, float] | None:
    """What `encoded` gives when every chunk is in the cache already; else None (nothing is encoded)."""
    texts = [build_text(v, get_recipe(recipe)) for v in videos]
    done = [_encode_chunk(embedder, texts[i:i + CHUNK], recipe, budget, fill=False)
            for i in range(0, len(texts), CHUNK)]
    if any(d is None for d in done):
        return None
    return np.concatenate([d[0] for d in done]), sum(d[1] for d in done)


def encoded(embedder, videos: list, recipe: str, budget: int | None, every: int = 1,
            worker: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, float]:
    """(vectors in videos' order, CPU seconds their encodes took): cached chunks, the rest encoded now.
    `worker` (k, n): encode share k of n first (`-k/n` on the command line: from its end).

    `every` is kept for the callers' labels (the texts themselves key the cache)."""
    texts = [build_text(v, get_recipe(recipe)) for v in videos]
    chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
    index, workers = worker  # index -k-1: share k from its end (two workers on one share meet halfway)
    share = [i for i in range(len(chunks)) if i % workers == (-index - 1 if index < 0 else index)]
    for i in reversed(share) if index < 0 else share:  # then whatever is still missing, below
        _encode_chunk(embedder, chunks[i], recipe, budget)
    done = [_encode_chunk(embedder, chunk, recipe, budget) for chunk in chunks]
    return np.concatenate([d[0] for d in done]), sum(d[1] for d in done)


def embedder_named(name: str):
    if name == "usem3":
        from vidvec.embed.usem3 import Usem3Embedder
        return Usem3Embedder(threads=1)
    from vidvec.embed.e5 import E5Embedder
    return E5Embedder(threads=1)


def dataset(name: str, every: int) -> list:
    """The sample catalog, or SIB-200's sentences as videos (bench/crosslingual.py), every n-th; or
    "quality": every n-th video of the catalog and every video outside MUSE v3's languages."""
    if name == "sib200":
        from bench.crosslingual import load

        return load(every)
    if name == "quality":
        from bench.families import MUSE_LANGS

        return [v for i, v in enumerate(sample_videos()) if i % every == 0 or v.language not in MUSE_LANGS]
    return sample_videos(every)


if __name__ == "__main__":
    name, recipe, budget = sys.argv[1], sys.argv[2], sys.argv[3]
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    data = sys.argv[5] if len(sys.argv) > 5 else "catalog"
    spec = sys.argv[6] if len(sys.argv) > 6 else "0/1"
    share, workers = spec.split("/")
    part = (-int(share) - 1 if share.startswith("-") else int(share), int(workers))
    budget_value = None if budget == "none" else int(budget)
    vectors, seconds = encoded(embedder_named(name), dataset(data, every), recipe, budget_value, every, part)
    print(f"{name} {data} {recipe} budget={budget} every={every}: {len(vectors)} texts, "
          f"{len(vectors) / seconds:.2f}/s/core")
