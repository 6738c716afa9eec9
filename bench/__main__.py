"""`make bench` = `python -m bench [--quick|--full] [NAME ...] [--only a,b] [--markdown FILE] [--json FILE]`.

Runs each bench module that exists, each in its own subprocess (clean peak-RSS
figures, no state shared between benchmarks), and prints one table. Modules
from other work streams that are not there yet are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODULES = ("quality", "crosslingual", "encoder", "similar", "queries", "rebuild", "audit_knn", "stream", "long_text",
           "engines", "encode_cores", "encode_stage")
# Quality figures are deterministic and their encode rates are CPU time, so these two
# share the machine's 2 cores; the speed and latency modules then run alone.
TOGETHER = ("quality", "crosslingual")
# Full-size runs of these take 3-13 minutes each on 2 cores; `make bench` runs
# them at their quick size to stay within 15 minutes, `--full` (or naming them) at full size.
SHORTENED = ("rebuild", "stream", "queries", "engines", "encode_cores", "encode_stage")


def machine() -> dict:
    import numpy

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    ram = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(ram / 2**20, 1),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "load_avg_at_start": os.getloadavg()}


def start_module(name: str, quick: bool, out: str) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [str(ROOT / d) for d in ("include", "plugins", "dags")])}
    cmd = [sys.executable, "-m", "bench._one", name, out] + (["--quick"] if quick else [])
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def run_modules(names: list[str], quick: bool) -> dict:
    """Run names at the same time, each in its own process; name -> result."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {n: start_module(n, quick, f"{tmp}/{n}.json") for n in names}
        results = {}
        for name, proc in procs.items():
            _, err = proc.communicate()
            results[name] = (json.loads(Path(f"{tmp}/{name}.json").read_text()) if proc.returncode == 0
                             else {"error": err.strip().splitlines()[-1:] or ["failed"], "seconds": 0})
        return results


def table(results: dict) -> list[str]:
    lines = ["| module | figure | value | unit | target |", "| --- | --- | ---: | --- | --- |"]
    for name, res in results.items():
        if "error" in res:
            lines.append(f"| {name} | FAILED: {res['error'][0]} | | | |")
            continue
        for r in res["rows"]:
            value = r["value"]
            shown = f"{value:.0f}" if abs(value) >= 100 else f"{value:.4g}" if value else "0"
            lines.append(f"| {name} | {r['figure']} | {shown} | {r['unit']} | {r.get('target') or ''} |")
        size = " (quick size)" if res.get("quick") else ""
        lines.append(f"| {name} | module wall time; peak RSS{size} | {res['seconds']:.0f} s; "
                     f"{res['peak_rss_mb']:.0f} MB | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run)")
    parser.add_argument("--full", action="store_true", help=f"run {', '.join(SHORTENED)} at full size too")
    parser.add_argument("names", nargs="*", metavar="NAME", help="modules to run at full size, e.g. engines")
    parser.add_argument("--only", help="comma-separated modules, e.g. encoder,quality")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--json", help="also write all rows to this file")
    args = parser.parse_args()
    wanted = args.names or (args.only.split(",") if args.only else MODULES)
    full = args.full or bool(args.names)  # a module named on its own runs at its full size
    info, results, start = machine(), {}, time.perf_counter()
    print("machine:", json.dumps(info), flush=True)
    present = []
    for name in wanted:
        if (HERE / f"{name}.py").exists():
            present.append(name)
        else:
            print(f"note: bench/{name}.py is not there (yet); skipped", flush=True)
    together = [n for n in present if n in TOGETHER]
    for group in ([together] if together else []) + [[n] for n in present if n not in TOGETHER]:
        print(f"running {' + '.join(group)} ...", flush=True)
        quick = args.quick or (not full and all(n in SHORTENED for n in group))
        done = run_modules(group, quick)
        for name in done:
            done[name]["quick"] = quick
        results.update(done)
        print("\n".join(table(done)[2:]), flush=True)
    lines = [f"machine: {json.dumps(info)}; total {time.perf_counter() - start:.0f} s", ""] + table(results)
    print("\n" + "\n".join(lines))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "results": results}, indent=1))


if __name__ == "__main__":
    main()
