"""`vidvec similar` latency on the embedded store (Qdrant Edge; `settings_in(home, store=...)` picks another).

The sample catalog is rebuilt behind the live alias (titles recipe: latency does
not depend on the recipe), then: in-process `VectorStore.similar` (the serving
call: fetch the video's vector, then a filtered top-k query), unfiltered and
language-filtered, p50/p99 over QUERIES random videos; and the `vidvec similar`
command end to end (a new process: imports, opening the local store, query).
`python -m bench.similar [--quick]`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.pipeline import ROOT, build, row, sample_videos, settings_in
from vidvec.embed.usem3 import Usem3Embedder
from vidvec.store import open_store

QUERIES = 200
CLI_RUNS = 7


def _latencies(call, ids) -> np.ndarray:
    out = []
    for vid in ids:
        start = time.perf_counter()
        call(vid)
        out.append(time.perf_counter() - start)
    return 1e3 * np.asarray(out)


def _cli(home: str, ids) -> np.ndarray:
    exe = shutil.which("vidvec", path=str(Path(sys.executable).parent)) or "vidvec"
    env = os.environ | {"VIDVEC_HOME": home,
                        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("include", "plugins", "dags"))}
    env = {k: v for k, v in env.items() if not k.startswith("VIDVEC_") or k == "VIDVEC_HOME"}

    def call(vid):
        subprocess.run([exe, "similar", vid, "--k", "10", "--json"], env=env, check=True,
                       capture_output=True)
    return _latencies(call, ids)


def run(quick: bool = False) -> list[dict]:
    videos = sample_videos(every=4 if quick else 1)
    rng = random.Random(0)
    ids = [v.video_id for v in rng.sample(videos, min(QUERIES, len(videos)))]
    lang = {v.video_id: v.language for v in videos}
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-") as home:
        settings = settings_in(Path(home))
        name, _ = build(settings, videos, Usem3Embedder(threads=1), "titles-v1", alias=settings.live_alias)
        with open_store(settings) as store:
            plain = _latencies(lambda vid: store.similar(name, vid, k=10), ids)
            filtered = _latencies(lambda vid: store.similar(name, vid, k=10, language=lang[vid]), ids)
        cli = _cli(home, ids[:CLI_RUNS])
    rows = [row("points in the collection", len(videos), "points")]
    for label, ms in (("similar k=10", plain), ("similar k=10, same-language filter", filtered)):
        rows += [row(f"{label}, in process, p50", np.percentile(ms, 50), "ms"),
                 row(f"{label}, in process, p99", np.percentile(ms, 99), "ms", "< 300 (serving budget)")]
    rows += [row("`vidvec similar` command end to end, p50", np.percentile(cli, 50), "ms"),
             row("`vidvec similar` command end to end, max", cli.max(), "ms")]
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['figure']:<70} {r['value']:>10.4f} {r['unit']:<14} {r['target'] or ''}")
