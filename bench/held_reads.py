"""The latency a `similar` gains when the sidecar holding the embedded store answers it (vidvec.read_api).

    python -m bench.held_reads [--sizes 7841,100k] [--queries 300] [--dir DIR]

At each size a fresh VIDVEC_HOME under DIR (default $VIDVEC_SCALE_DIR or
/tmp/vidvec-scale) gets a synthetic catalog with stored vectors
(bench/scale_data.py; 7,841 is the demo's size) rebuilt behind the live alias
in mode=reindex. Then, over the same seeded query videos, k=10, titles from
the catalog, in one run and one after the other (the store admits one process
at a time):

- `direct`: what `vidvec similar` does when no process holds the store: open
  the Edge store and the DuckDB file, query, title, close (the command's own
  Python start-up is not counted, the same either way);
- `open`: the same query on a store and catalog already open (the floor);
- `held`: a real `vidvec sidecar` process holds the store; the query goes
  through its read API over loopback HTTP (vidvec.read_client), as `vidvec
  similar` does while the sidecar runs.

- `open` and `HTTP in process`, query by query in turn on one open store: the
  query itself, and the same through the read API's handler on an HTTP server
  in this process (paired differences: what HTTP and JSON add, with the
  machine's load alike for both).

Prints p50 / p99 in ms of each and what `held` adds over `direct`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for sub in ("include", ""):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

from bench.scale_data import build_catalog, scale_dir  # noqa: E402
from bench.similar import _latencies as timed  # noqa: E402  (the same per-call timer)


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * 1000) if text.lower().endswith("k") else int(text)


def rebuild(settings) -> str:
    """The synthetic catalog's stored vectors behind the live alias (mode=reindex: no encoder)."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.embed import get_embedder
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild
    from vidvec.store import open_store

    with open_catalog(settings) as catalog, open_store(settings) as store:
        embedder = get_embedder(settings)
        plan = plan_rebuild(live_alias=settings.live_alias, t0=datetime(2026, 11, 29, 2, tzinfo=timezone.utc),
                            run_id="bench-held-reads", model_id=embedder.model_id, family=embedder.family,
                            dim=embedder.dim, n_shards=1, recipe="v2", mode="reindex")
        create_target(store, plan)
        load_shard(catalog, store, embedder, plan, 0)
        finish(catalog, store, plan)
        store.set_aliases({settings.live_alias: plan.collection, settings.next_alias: None})
    return plan.collection


def in_process(settings, ids, query, direct_ids) -> dict[str, np.ndarray]:
    """direct (open, query, close), then open vs HTTP interleaved query by query on one open store."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.query import titled_answer
    from vidvec.read_api import ReadApi, local_url
    from vidvec.read_client import HeldReads
    from vidvec.store import open_store
    from vidvec.stream.ops import Health, Metrics, OpsServer

    def direct(vid):
        with open_store(settings) as store, open_catalog(settings, read_only=True) as catalog:
            titled_answer(store, catalog, settings.live_alias, vid, query)

    direct(ids[0])  # the page cache warm for every phase
    out = {"direct": timed(direct, direct_ids)}
    with open_store(settings) as store, open_catalog(settings) as catalog, open_catalog(settings) as reader:
        ops = OpsServer(Health(60), Metrics(), "127.0.0.1", 0)
        try:  # the read API in a thread of this process: the handler the sidecar mounts, its own connection
            ops.mount(ReadApi(settings, store, reader, None, "bench"))
            http = HeldReads(local_url("127.0.0.1", ops.port), "bench")
            pairs = [(timed(lambda v: titled_answer(store, catalog, settings.live_alias, v, query), [vid])[0],
                      timed(lambda v: http.similar(settings.live_alias, v, query), [vid])[0]) for vid in ids]
        finally:
            ops.close()
    out["open"], out["http_in_process"] = np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])
    return out


def through_sidecar(settings, home: Path, ids, query) -> np.ndarray:
    from vidvec.read_client import reads_of_holder

    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDVEC_")} | {
        "VIDVEC_HOME": str(home), "VIDVEC_SIDECAR_HTTP_PORT": "0",
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("include", "plugins", "dags"))}
    exe = str(Path(sys.executable).parent / "vidvec")
    log = open(home / "sidecar.log", "w")
    proc = subprocess.Popen([exe, "sidecar"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while (reads := reads_of_holder(settings)) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the sidecar did not start: {(home / 'sidecar.log').read_text()[-2000:]}")
            time.sleep(0.2)
        reads.similar(settings.live_alias, ids[0], query)
        return timed(lambda vid: reads.similar(settings.live_alias, vid, query), ids)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def run_size(n: int, base: Path, queries: int, direct: int) -> dict:
    from vidvec.config import load_settings
    from vidvec.core.query import NeighbourQuery

    home = base / f"held-reads-{n}"
    if not (home / "vidvec.duckdb").exists():
        home.mkdir(parents=True, exist_ok=True)
        build_catalog(home / "vidvec.duckdb", n, log=lambda m: None)
    settings = load_settings(home=home)
    if settings.live_alias not in _aliases(settings):
        rebuild(settings)
    ids = [f"s{i:08d}" for i in random.Random(7).sample(range(n), min(queries, n))]
    query = NeighbourQuery.parse({"k": 10})
    ms = in_process(settings, ids, query, ids[:direct]) | {"held": through_sidecar(settings, home, ids, query)}
    figures = {name: {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99))}
               for name, v in ms.items()}
    added = {q: figures["held"][q] - figures["direct"][q] for q in ("p50_ms", "p99_ms")}
    extra = ms["http_in_process"] - ms["open"]
    paired = {"p50_ms": float(np.median(extra)), "p99_ms": float(np.percentile(extra, 99))}
    return {"videos": n, "queries": len(ids), "direct_queries": min(direct, len(ids)), **figures,
            "held_minus_direct": added, "http_minus_open_paired": paired,
            "held_over_direct_p50": figures["held"]["p50_ms"] / figures["direct"]["p50_ms"]}


def _aliases(settings) -> dict:
    from vidvec.store import open_store

    with open_store(settings) as store:
        return store.aliases()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="7841,100k")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--direct-queries", type=int, default=100, help="direct opens the store every time: slow")
    parser.add_argument("--dir", type=Path, default=scale_dir())
    args = parser.parse_args()
    print("| videos | direct | held (sidecar) | held - direct | open | HTTP in process | HTTP - open, paired |\n"
          "|---|---|---|---|---|---|---|", flush=True)
    for size in args.sizes.split(","):
        r = run_size(parse_size(size), args.dir, args.queries, args.direct_queries)
        cell = "{p50_ms:.2f} / {p99_ms:.2f}".format
        print(f"| {r['videos']:,} | {cell(**r['direct'])} | {cell(**r['held'])} | {cell(**r['held_minus_direct'])} "
              f"| {cell(**r['open'])} | {cell(**r['http_in_process'])} | {cell(**r['http_minus_open_paired'])} |",
              flush=True)
        print(json.dumps(r), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
