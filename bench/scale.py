"""How each job's cost grows with the catalog: 100k, 300k and 1M videos on this machine.

    python -m bench.scale [--sizes 100k,300k,1M] [--dir DIR] [--markdown FILE] [--json FILE] [--keep]
    make bench-scale      # the same, all three sizes, tables under $VIDVEC_HOME

At each size, a fresh VIDVEC_HOME under DIR (default $VIDVEC_SCALE_DIR or
/tmp/vidvec-scale; never the repository) gets a synthetic catalog with stored
vectors (bench/scale_data.py says how they are made), then every step runs
in its own process (bench/scale_steps.py), through the functions the DAG
tasks call: the rebuild in mode=reindex with 4 shards (plan + create, 4 load
tasks, catch-up of 0.1% changed after T0, finish: count, HNSW, ready), the
audit (1,000 queries, k=10, unfiltered and language-filtered), promote,
`similar` latency through the live alias, compaction (survey, reconcile
after 1% injected drift, vacuum) and the sidecar draining 10,000 events
against the live collection. Setup steps (making the data, injecting the
drift, publishing the events) are timed too and marked as setup.

Per step: wall time, CPU seconds (user + system: on a shared machine the
steadier figure), peak RSS of the process and its anonymous part, disk used
by VIDVEC_HOME after it, and the ratio of wall time and RSS to the 100k run.
The table is printed and written as Markdown and JSON, with the targets
checked and the load average over the run. Each size's data is deleted
after its run unless --keep.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARDS = 4
AUDIT_QUERIES = 1000
WIDER_EF = 200  # the audit once more with this search-time ef (what a wider search buys), not a pipeline step
SIMILAR_QUERIES = 1000
TARGETS = {"reindex_to_promoted_s": 20 * 60, "ratio": 11.0, "rss_mb": 2.5 * 1024, "audit_s": 120, "p99_ms": 10.0}
# What "reindex to promoted" adds up: the rebuild's tasks, the audit and the promotion.
TO_PROMOTED = ("plan + create", "load shards (4 tasks)", "catch-up", "finish (count, HNSW, ready)", "audit",
               "promote")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def du(path: Path) -> int:
    """Bytes on disk under path (allocated blocks, as `du` counts them)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def du_files(home: Path, pattern: str) -> int:
    return sum(p.stat().st_blocks * 512 for p in home.glob(pattern))


def run_step(step: str, home: Path, args: dict, log) -> dict:
    """One step in a fresh process; its own figures plus the disk under home after it."""
    env = os.environ | {"VIDVEC_HOME": str(home), "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [str(ROOT / d) for d in ("include", "plugins", "dags")])}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    try:
        with open(home.parent / f"{home.name}.log", "a") as sink:
            sink.write(f"\n=== {step} {json.dumps(args)}\n")
            sink.flush()
            done = subprocess.run([sys.executable, "-m", "bench.scale_steps", step, str(home), json.dumps(args), path],
                                  cwd=ROOT, env=env, stdout=sink, stderr=sink)
        if done.returncode != 0:
            raise SystemExit(f"step {step} failed (exit {done.returncode}); see {home.parent / home.name}.log")
        figures = json.loads(Path(path).read_text())
    finally:
        os.unlink(path)
    figures["disk_bytes"] = du(home)
    figures["disk_parts"] = {"edge": du(home / "edge"), "duckdb": du_files(home, "vidvec.duckdb*"),
                             "events": du_files(home, "events.sqlite*")}
    log(f"    {step}{'' if not args.get('shard') and args.get('shard') != 0 else ' ' + str(args['shard'])}: "
        f"{figures['wall_s']:.1f} s wall, {figures['cpu_s']:.1f} s CPU, {figures['peak_rss_mb']:.0f} MB peak RSS")
    return figures


def run_size(n: int, base: Path, keep: bool, log) -> dict:
    """Every step at one size; name -> figures (the load tasks merged into one row)."""
    from bench.scale_data import neighbour_structure

    home = base / f"n{label(n)}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log(f"== {label(n)} videos in {home}")
    steps: dict[str, dict] = {}
    started = time.perf_counter()
    one = lambda name, step, **args: steps.__setitem__(name, run_step(step, home, args | {"n": n}, log))  # noqa: E731
    one("make the catalog and stored vectors", "make_catalog")
    steps["make the catalog and stored vectors"]["setup"] = True
    one("plan + create", "plan_create", shards=SHARDS)
    loads = [run_step("load_shard", home, {"shard": s, "n": n}, log) for s in range(SHARDS)]
    steps["load shards (4 tasks)"] = merge_tasks(loads)
    one("change 0.1% after T0", "change_after_t0")
    steps["change 0.1% after T0"]["setup"] = True
    one("catch-up", "catch_up")
    one("finish (count, HNSW, ready)", "finish")
    one("audit", "audit", sample=AUDIT_QUERIES)
    one(f"audit at hnsw_ef={WIDER_EF}", "audit", sample=AUDIT_QUERIES, hnsw_ef=WIDER_EF)
    steps[f"audit at hnsw_ef={WIDER_EF}"]["extra"] = True
    one("promote", "promote")
    one("similar x1000, unfiltered + filtered", "similar", queries=SIMILAR_QUERIES)
    one("inject 1% drift", "inject_drift")
    steps["inject 1% drift"]["setup"] = True
    one("compaction: survey", "compaction_survey")
    one("compaction: reconcile", "compaction_reconcile")
    one("compaction: vacuum", "compaction_vacuum")
    one("publish 10,000 events", "publish_events")
    steps["publish 10,000 events"]["setup"] = True
    one("sidecar: 10,000 events", "sidecar")
    structure = neighbour_structure(n)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return {"n": n, "steps": steps, "structure": structure, "seconds": time.perf_counter() - started}


def merge_tasks(tasks: list[dict]) -> dict:
    """Mapped tasks run one after the other (the embedded store's pool of 1): times add, peaks are the max."""
    return {"wall_s": sum(t["wall_s"] for t in tasks), "cpu_s": sum(t["cpu_s"] for t in tasks),
            "peak_rss_mb": max(t["peak_rss_mb"] for t in tasks), "peak_anon_mb": max(t["peak_anon_mb"] for t in tasks),
            "disk_bytes": tasks[-1]["disk_bytes"], "result": [t["result"] for t in tasks],
            "tasks": [{k: t[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "peak_anon_mb")} for t in tasks]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,300k,1M")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("VIDVEC_SCALE_DIR", "/tmp/vidvec-scale")))
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep each size's VIDVEC_HOME")
    args = parser.parse_args()
    os.environ["VIDVEC_SCALE_DIR"] = str(args.dir)  # the sample vectors' cache lives there too
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    args.dir.mkdir(parents=True, exist_ok=True)
    from bench.report_scale import LoadSampler, machine, render

    info, load = machine(args.dir), LoadSampler()
    log = lambda m: print(m, flush=True)  # noqa: E731
    log(f"machine: {json.dumps(info)}")
    runs = [run_size(n, args.dir, args.keep, log) for n in sizes]
    info["load"] = load.summary()
    text = render(runs, info, TARGETS, TO_PROMOTED)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "runs": runs}, indent=1, default=str))


if __name__ == "__main__":
    main()
