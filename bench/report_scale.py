"""The tables bench/scale.py prints and writes: steps x sizes, the targets, the data's structure."""

from __future__ import annotations

import os
import platform
import shutil
import threading
import time
from pathlib import Path


class LoadSampler:
    """The 1-minute load average every 30 s over the run (the machine is shared)."""

    def __init__(self):
        self.samples: list[float] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            time.sleep(30)

    def summary(self) -> dict:
        s = sorted(self.samples) or [0.0]
        return {"samples": len(s), "mean": round(sum(s) / len(s), 2), "median": s[len(s) // 2], "max": s[-1]}


def machine(data_dir: Path) -> dict:
    import duckdb
    import numpy

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    ram = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(ram / 2**20, 1), "python": platform.python_version(),
            "numpy": numpy.__version__, "duckdb": duckdb.__version__, "data_dir": str(data_dir),
            "free_disk_gb": round(shutil.disk_usage(data_dir).free / 2**30, 1), "load_avg_at_start": os.getloadavg()}


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else ""


def step_table(runs: list[dict]) -> list[str]:
    base = runs[0]
    lines = [f"| step | videos | wall s | CPU s | peak RSS MB (anon) | disk after, MB | wall / {label(base['n'])} "
             f"| CPU / {label(base['n'])} | RSS / {label(base['n'])} |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in base["steps"]:
        for run in runs:
            s, b = run["steps"][name], base["steps"][name]
            rss = f"{s['peak_rss_mb']:,.0f} ({s['peak_anon_mb']:,.0f})" if "peak_rss_mb" in s else ""
            cpu = f"{s['cpu_s']:,.1f}" if "cpu_s" in s else ""
            shown = f"*{name}* (setup)" if s.get("setup") else name
            lines.append(f"| {shown if run is base else ''} | {label(run['n'])} | {s['wall_s']:,.1f} | {cpu} | {rss} "
                         f"| {s['disk_bytes'] / 2**20:,.0f} | {_ratio(s['wall_s'], b['wall_s']) if run is not base else ''} "
                         f"| {_ratio(s.get('cpu_s', 0), b.get('cpu_s')) if run is not base and 'cpu_s' in s else ''} "
                         f"| {_ratio(s.get('peak_rss_mb', 0), b.get('peak_rss_mb')) if run is not base and rss else ''} |")
    return lines


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def to_promoted(run: dict, names: tuple[str, ...]) -> float:
    return sum(run["steps"][n]["wall_s"] for n in names)


def target_lines(runs: list[dict], targets: dict, names: tuple[str, ...]) -> list[str]:
    """Each target against the largest run (and the 100k run for ratios), PASS or MISS."""
    base, top = runs[0], runs[-1]
    worst_ratio = max(((n, top["steps"][n]["wall_s"] / base["steps"][n]["wall_s"]) for n in top["steps"]
                       if not top["steps"][n].get("setup") and base["steps"][n]["wall_s"] > 0), key=lambda x: x[1])
    rss = max((s["peak_rss_mb"], n) for n, s in top["steps"].items() if "peak_rss_mb" in s and not s.get("setup"))
    audit_s = top["steps"]["audit"]["wall_s"]
    sim = top["steps"]["similar x1000, unfiltered + filtered"]["result"]
    p99 = max(sim["unfiltered"]["p99_ms"], sim["filtered"]["p99_ms"])
    checks = [
        (f"{label(top['n'])} reindex to promoted (sum of {', '.join(names)})",
         f"{to_promoted(top, names) / 60:.1f} min", to_promoted(top, names) <= targets["reindex_to_promoted_s"],
         f"<= {targets['reindex_to_promoted_s'] / 60:.0f} min"),
        (f"largest wall ratio {label(top['n'])} / {label(base['n'])} ({worst_ratio[0]})", f"{worst_ratio[1]:.2f}x",
         worst_ratio[1] <= targets["ratio"], f"<= {targets['ratio']:.0f}x"),
        (f"peak RSS of any task at {label(top['n'])} ({rss[1]})", f"{rss[0]:,.0f} MB",
         rss[0] <= targets["rss_mb"], f"<= {targets['rss_mb']:,.0f} MB"),
        (f"audit of {top['steps']['audit']['result']['queries']} queries at {label(top['n'])}", f"{audit_s:.0f} s",
         audit_s < targets["audit_s"], f"< {targets['audit_s']} s"),
        (f"similar p99 at {label(top['n'])} (worse of unfiltered / filtered)", f"{p99:.2f} ms",
         p99 <= targets["p99_ms"], f"<= {targets['p99_ms']:.0f} ms"),
    ]
    lines = ["| target | measured | limit | |", "| --- | ---: | ---: | --- |"]
    lines += [f"| {what} | {value} | {limit} | {'PASS' if ok else 'MISS'} |" for what, value, ok, limit in checks]
    return lines


def detail_lines(runs: list[dict], names: tuple[str, ...]) -> list[str]:
    lines = ["| videos | reindex to promoted | audit recall@10 (filtered) | similar p50 / p99 ms (filtered) "
             "| HNSW segments | compaction purged / repaired / added | sidecar events applied "
             "| exact top-1 / top-10 similarity p50 | top-10 sharing the main parent |",
             "| ---: | ---: | --- | --- | ---: | --- | --- | --- | ---: |"]
    for run in runs:
        s = run["steps"]
        a = s["audit"]["result"]
        sim = s["similar x1000, unfiltered + filtered"]["result"]
        c = s["compaction: reconcile"]["result"]["counts"]
        ev = s["sidecar: 10,000 events"]["result"]["events"]
        st = run["structure"]
        lines.append(
            f"| {label(run['n'])} | {to_promoted(run, names) / 60:.1f} min | {a['recall']:.4f} ({a['filtered_recall']:.4f})"
            f"{'' if a['passed'] else ' FAILED'} | {sim['unfiltered']['p50_ms']:.2f} / {sim['unfiltered']['p99_ms']:.2f} "
            f"({sim['filtered']['p50_ms']:.2f} / {sim['filtered']['p99_ms']:.2f}) "
            f"| {s['finish (count, HNSW, ready)']['result'].get('segments')} "
            f"| {c.get('purged', 0):,} / {c.get('repaired', 0):,} / {c.get('added', 0):,} "
            f"| {', '.join(f'{k} {v:,}' for k, v in sorted(ev.items()) if v)} "
            f"| {st['top1']['p50']} / {st['top10']['p50']} | {st['share_of_top10_with_main_parent']:.3f} |")
    return lines


def render(runs: list[dict], info: dict, targets: dict, names: tuple[str, ...]) -> str:
    head = [f"bench/scale.py on {info['nproc']} cores ({info['cpu']}), {info['ram_gb']} GB RAM; "
            f"load average {info.get('load', {})}; data in {info['data_dir']}", ""]
    return "\n".join(head + step_table(runs) + [""] + target_lines(runs, targets, names) + [""]
                     + detail_lines(runs, names))
