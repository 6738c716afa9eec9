"""Service levels at scale: the canary's cost, and served latency with and without the index keeper.

    python -m bench.service_levels [--sizes 100k,1M] [--stream-size 100k] [--markdown FILE]

For each size: the synthetic catalog and a rebuilt, promoted collection on Qdrant Edge (bench/scale_steps.py's
steps, mode=reindex), then the hourly canary (100 queries) timed as its own process: wall and CPU seconds.
At --stream-size, 10% new uploads and 5% deletions go through the sidecar twice from the same copy of the
space, once keeping the index (the default) and once not (VIDVEC_SIDECAR_KEEP_INDEX=false); then, side by
side, `similar` p50/p99 (1,000 queries, unfiltered and language-filtered), the unindexed count and a canary.
Steps run one at a time in fresh processes; the machine is shared, so read medians and ratios of this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 4
UPLOADS, DELETES = 0.10, 0.05
SIMILAR_QUERIES = 1000
BUILT = "bench-built"  # marker: the space under this home was built and promoted


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return int(float(text[:-1]) * {"k": 1_000, "m": 1_000_000}[text[-1]]) if text[-1] in "km" else int(text)


def step(name: str, home: Path, args: dict, log) -> dict:
    """One step in a fresh process (bench/service_levels_steps.py); its result, wall and CPU seconds."""
    env = os.environ | {"VIDVEC_HOME": str(home), "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [str(ROOT / d) for d in ("include", "plugins", "dags")])}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    try:
        with open(home.parent / f"{home.name}.log", "a") as sink:
            sink.write(f"\n=== {name} {json.dumps(args)}\n")
            sink.flush()
            done = subprocess.run([sys.executable, "-m", "bench.service_levels_steps", name, str(home),
                                   json.dumps(args), path], cwd=ROOT, env=env, stdout=sink, stderr=sink)
        if done.returncode != 0:
            raise SystemExit(f"step {name} failed (exit {done.returncode}); see {home.parent / home.name}.log")
        figures = json.loads(Path(path).read_text())
    finally:
        os.unlink(path)
    log(f"  {name} {json.dumps(args)}: {figures['wall_s']:.1f} s wall, {figures['cpu_s']:.1f} s CPU; "
        f"{json.dumps(figures['result'], default=str)[:300]}")
    return figures


def build(n: int, home: Path, log) -> None:
    """The catalog and a promoted collection of n videos (what vidvec_full_rebuild + vidvec_promote leave);
    kept from an earlier run of this script when it finished (its marker file is there)."""
    if (home / BUILT).exists():
        log(f"  reusing the space built in {home}")
        return
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    step("make_catalog", home, {"n": n}, log)
    step("plan_create", home, {"n": n, "shards": SHARDS}, log)
    for shard in range(SHARDS):
        step("load_shard", home, {"n": n, "shard": shard}, log)
    step("catch_up", home, {"n": n}, log)
    step("finish", home, {"n": n}, log)
    step("audit", home, {"n": n, "sample": 200}, log)
    step("promote", home, {"n": n}, log)
    (home / BUILT).write_text(datetime.now(timezone.utc).isoformat())


def canary_cost(n: int, home: Path, log, runs: int = 3) -> dict:
    """The canary, run `runs` times (a fresh process each, like hourly DAG runs): the median run's figures."""
    done = sorted((step("canary", home, {"n": n, "run": i}, log) for i in range(runs)), key=lambda f: f["wall_s"])
    return done[len(done) // 2] | {"walls": [round(f["wall_s"], 1) for f in done]}


def stream_side_by_side(n: int, home: Path, log) -> dict:
    """10% uploads and 5% deletions streamed into two copies of the space, with and without the keeper."""
    step("stream_events", home, {"n": n, "uploads": UPLOADS, "deletes": DELETES}, log)
    off = home.with_name(home.name + "-nokeeper")
    shutil.rmtree(off, ignore_errors=True)
    shutil.copytree(home, off, symlinks=True)
    out = {}
    for label, where, keep in (("kept", home, True), ("not kept", off, False)):
        out[label] = {"sidecar": step("sidecar", where, {"n": n, "keep": keep}, log),
                      "index": step("index_state", where, {"n": n}, log)}
    for label, where in (("kept", home), ("not kept", off)):  # queries after both streams: alike machine state
        out[label]["similar"] = step("similar", where, {"n": n, "queries": SIMILAR_QUERIES}, log)
        out[label]["canary"] = step("canary", where, {"n": n, "run": 10}, log)
    shutil.rmtree(off, ignore_errors=True)
    return out


def render(info: dict, canaries: dict, streamed: dict | None, stream_n: int) -> str:
    lines = [f"Measured {info['date']} on {info['cpus']} shared cores (load average {info['load']} at the start); "
             f"`python -m bench.service_levels {info['argv']}`.", "",
             "| canary (100 queries) at | wall s (median of 3 runs) | CPU s | recall@10 | served p50 / p99 ms | "
             "unindexed share |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for n, c in canaries.items():
        r = c["result"]
        lines.append(f"| {n:,} | {c['wall_s']:.1f} ({', '.join(map(str, c['walls']))}) | {c['cpu_s']:.1f} | "
                     f"{r['recall']:.3f} | {r['served_p50_ms']:.2f} / {r['served_p99_ms']:.2f} | "
                     f"{r['unindexed']:.1%} |")
    if streamed:
        lines += ["", f"After {UPLOADS:.0%} new uploads and {DELETES:.0%} deletions streamed into {stream_n:,}:", "",
                  "| | unindexed vectors (segments) | similar p50 / p99 ms | filtered p50 / p99 ms | "
                  "canary recall@10 | sidecar wall s | keeper runs | keeper pause median / max s |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for label, f in streamed.items():
            idx, sim, sc = f["index"]["result"], f["similar"]["result"], f["sidecar"]["result"]
            pauses = sc["pauses_s"]
            pause = f"{pauses[len(pauses) // 2]:.2f} / {pauses[-1]:.2f}" if pauses else "-"
            lines.append(f"| index {label} | {idx['unindexed']:,} ({idx['segments']}) | "
                         f"{sim['unfiltered']['p50_ms']:.2f} / {sim['unfiltered']['p99_ms']:.2f} | "
                         f"{sim['filtered']['p50_ms']:.2f} / {sim['filtered']['p99_ms']:.2f} | "
                         f"{f['canary']['result']['recall']:.3f} | {f['sidecar']['wall_s']:.0f} | "
                         f"{sc['keeper_runs']} | {pause} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.service_levels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k")
    parser.add_argument("--stream-size", default="100k", help="the size the stream runs at ('' = none)")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("VIDVEC_SCALE_DIR", "/tmp/vidvec-scale")))
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep each size's space (reused by the next run)")
    args = parser.parse_args()
    os.environ["VIDVEC_SCALE_DIR"] = str(args.dir)
    log = lambda m: print(m, flush=True)  # noqa: E731
    info = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
            "load": round(os.getloadavg()[0], 1), "argv": " ".join(sys.argv[1:])}
    stream_n = parse_size(args.stream_size) if args.stream_size else None
    canaries, streamed = {}, None
    for n in sorted(parse_size(s) for s in args.sizes.split(",")):
        home = args.dir / f"slo-{n}"
        started = time.perf_counter()
        log(f"== {n:,} videos in {home}")
        build(n, home, log)
        canaries[n] = canary_cost(n, home, log)
        if n == stream_n:
            streamed = stream_side_by_side(n, home, log)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
        log(f"== {n:,} done in {time.perf_counter() - started:.0f} s")
    text = render(info, canaries, streamed, stream_n or 0)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps({"info": info, "canaries": canaries, "streamed": streamed}, default=str))


if __name__ == "__main__":
    main()
