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
    base = label(runs[0]["n"])
    lines = [f"| step | videos | wall s | CPU s | peak RSS MB (anon) | disk after, MB | wall / {base} | CPU / {base} "
             f"| RSS / {base} |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in runs[0]["steps"]:
        for run in runs:
            lines.append(_step_row(name, run, runs[0]))
    return lines


def _step_row(name: str, run: dict, base_run: dict) -> str:
    s, b = run["steps"][name], base_run["steps"][name]
    first = run is base_run
    kind = " (setup)" if s.get("setup") else " (extra)" if s.get("extra") else ""
    shown = "" if not first else f"*{name}*{kind}" if kind else name
    rss = f"{s['peak_rss_mb']:,.0f} ({s['peak_anon_mb']:,.0f})" if "peak_rss_mb" in s else ""
    ratios = ["" if first else _ratio(s.get(k, 0), b.get(k)) for k in ("wall_s", "cpu_s", "peak_rss_mb")]
    return (f"| {shown} | {label(run['n'])} | {s['wall_s']:,.1f} | {s.get('cpu_s', 0):,.1f} | {rss} "
            f"| {s['disk_bytes'] / 2**20:,.0f} | {' | '.join(ratios)} |")


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def to_promoted(run: dict, names: tuple[str, ...]) -> float:
    return sum(run["steps"][n]["wall_s"] for n in names)


def target_lines(runs: list[dict], targets: dict, names: tuple[str, ...]) -> list[str]:
    """Each target against the largest run (and the 100k run for ratios), PASS or MISS."""
    base, top = runs[0], runs[-1]
    measured = [n for n, s in top["steps"].items() if not s.get("setup") and not s.get("extra")]
    worst_ratio = max(((n, top["steps"][n]["wall_s"] / base["steps"][n]["wall_s"]) for n in measured
                       if base["steps"][n]["wall_s"] > 0), key=lambda x: x[1])
    rss = max((top["steps"][n]["peak_rss_mb"], n) for n in measured)
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
    wider = next((n for n in runs[0]["steps"] if n.startswith("audit at hnsw_ef=")), None)
    lines = [f"| videos | reindex to promoted | audit recall@10 (filtered) | {wider or ''} recall (filtered) "
             "| similar p50 / p99 ms (filtered; cold: first pass) | HNSW segments "
             "| compaction purged / repaired / added "
             "| sidecar events | exact top-1 / top-10 similarity p50 | top-10 sharing the main parent |",
             "| ---: | ---: | --- | --- | --- | ---: | --- | --- | --- | ---: |"]
    return lines + [_detail(run, names, wider) for run in runs]


def _recall(result: dict | None) -> str:
    if not result:
        return ""
    return f"{result['recall']:.4f} ({result['filtered_recall']:.4f}){'' if result['passed'] else ' FAILED'}"


def _detail(run: dict, names: tuple[str, ...], wider: str | None) -> str:
    s, st = run["steps"], run["structure"]
    sim = s["similar x1000, unfiltered + filtered"]["result"]
    c = s["compaction: reconcile"]["result"]["counts"]
    events = s["sidecar: 10,000 events"]["result"]["events"]
    latency = (f"{sim['unfiltered']['p50_ms']:.2f} / {sim['unfiltered']['p99_ms']:.2f} "
               f"({sim['filtered']['p50_ms']:.2f} / {sim['filtered']['p99_ms']:.2f})")
    cold = sim.get("cold")
    latency += f"; cold {cold['p50_ms']:.2f} / {cold['p99_ms']:.2f}" if cold else ""
    return (f"| {label(run['n'])} | {to_promoted(run, names) / 60:.1f} min | {_recall(s['audit']['result'])} "
            f"| {_recall(s[wider]['result'] if wider else None)} | {latency} "
            f"| {s['finish (count, HNSW, ready)']['result'].get('segments')} "
            f"| {c.get('purged', 0):,} / {c.get('repaired', 0):,} / {c.get('added', 0):,} "
            f"| {', '.join(f'{k} {v:,}' for k, v in sorted(events.items()) if v)} "
            f"| {st['top1']['p50']} / {st['top10']['p50']} | {st['share_of_top10_with_main_parent']:.3f} |")


def render(runs: list[dict], info: dict, targets: dict, names: tuple[str, ...]) -> str:
    head = [f"bench/scale.py on {info['nproc']} cores ({info['cpu']}), {info['ram_gb']} GB RAM; "
            f"load average {info.get('load', {})}; data in {info['data_dir']}", ""]
    return "\n".join(head + step_table(runs) + [""] + target_lines(runs, targets, names) + [""]
                     + detail_lines(runs, names))
