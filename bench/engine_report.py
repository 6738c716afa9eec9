"""The engines benchmark's figures as table rows, side-by-side ratios, and the issue's targets."""

from __future__ import annotations

import os
import statistics

from bench.engine_data import recall_at_k
from bench.pipeline import row

DEFAULT = "edge"
TARGETS = {  # the targets, checked on the default engine
    "writes": 20.0,  # on disk, new points/s >= 20x local mode's
    "p99_ms": 5.0,  # similar p99 at 100k points, filtered and unfiltered
    "sidecar": 0.8,  # sustained events/s on disk >= 0.8x the encoder's texts/s
    "rebuild": 1.10,  # reembed wall <= 1.10x the encoder's time
}


def recalls(data, key, runs: list[dict]) -> dict:
    """filtered -> recall@10 of the served lists (identical queries in every run: the last run's)."""
    queries = runs[-1]["queries"]
    job_queries = runs[-1].get("query_ids")
    out = {}
    for filtered, name in ((False, "unfiltered"), (True, "filtered")):
        served = queries[name]["served"]
        out[name] = recall_at_k(data, job_queries[:len(served)], served, filtered)
    return out


def _med(runs: list[dict], *path) -> float | None:
    values = []
    for r in runs:
        for p in path:
            r = r.get(p) if isinstance(r, dict) else None
        if r is not None:
            values.append(r)
    return statistics.median(values) if values else None


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def store_rows(engine: str, n: int, runs: list[dict], recall: dict, reps: int) -> list[dict]:
    medium = runs[0].get("medium", "disk")
    tag = f"[{engine}, {n:,} points]"
    how = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    q = runs[0]["queries"]["unfiltered"]
    indexed = runs[0]["indexed"]
    index = f"{indexed:,} of {runs[0]['points']:,} vectors indexed" if indexed is not None else "no index"
    rows = [row(f"{tag} engine ({runs[0]['index']}; {index}; {how}; {len(q['served'])} queries per mode)", n,
                "points")]
    rows.append(row(f"{tag} new points (insert_only), batches of 256, on {medium}", _med(runs, "new_per_s"),
                    "points/s"))
    for key, what in (("overwrite_per_s", "conditional overwrites (write_if_newer, one version newer)"),
                      ("tombstone_per_s", "tombstones (write_if_newer, status deleted)")):
        if _med(runs, key):
            rows.append(row(f"{tag} {what}, on {medium}", _med(runs, key), "points/s"))
    rows.append(row(f"{tag} index build until ready", _med(runs, "build_s"), "s"))
    for mode, label in (("unfiltered", "similar k=10"), ("filtered", "similar k=10, language-filtered")):
        cpu99 = _med(runs, "queries", mode, "cpu_p99_ms")
        rows += [row(f"{tag} {label}, p50", _med(runs, "queries", mode, "p50_ms"), "ms"),
                 row(f"{tag} {label}, p99", _med(runs, "queries", mode, "p99_ms"), "ms"),
                 row(f"{tag}   CPU time per call (all threads of the process), p50",
                     _med(runs, "queries", mode, "cpu_p50_ms"), f"ms (p99 {cpu99:.2f} ms)")]
        rows.append(row(f"{tag} recall@10 vs exact kNN, {mode}", recall[mode], "share"))
    rows.append(row(f"{tag} reopen: open the store + first similar", _med(runs, "reopen_s"), "s"))
    if "recover" in runs[0]:
        rec = runs[0]["recover"]
        rows.append(row(f"{tag} reopen after {runs[0]['churn_writes']:,} more writes (never flushed) and "
                        f"SIGKILL: WAL replay + first similar; {rec['versions_kept']:.0%} of sampled points at "
                        f"their last acknowledged version", rec["recover_s"], "s"))
        rows.append(row(f"{tag}   disk used before that reopen (WAL unflushed) / after", runs[0]["disk_before_kill_mb"],
                        f"MB / {rec['disk_mb']:.0f} MB"))
    if runs[0]["disk_mb"] is not None:
        rows.append(row(f"{tag} disk used after the writes ({medium})", _med(runs, "disk_mb"), "MB"))
    rows.append(row(f"{tag} peak RSS of the store process (before opening: {_med(runs, 'rss_before_mb'):.0f} MB, "
                    f"bench data included)", _med(runs, "peak_rss_mb"), "MB"))
    return rows


def ratio_rows(engines: list[str], stores: dict, n: int) -> list[dict]:
    """Side-by-side ratios of the default engine against each other (same run, same data)."""
    rows = []
    base = stores.get((DEFAULT, n))
    for other in (e for e in engines if e != DEFAULT and (e, n) in stores):
        runs = stores[(other, n)]
        media = {r.get("medium", "disk") for r in runs + base}
        where = "on disk" if media == {"disk"} else f"{other} on {runs[0].get('medium')}, {DEFAULT} on disk"
        for key, what in (("new_per_s", "new points"), ("overwrite_per_s", "overwrites"),
                          ("tombstone_per_s", "tombstones")):
            if _med(runs, key) and _med(base, key):
                rows.append(row(f"{DEFAULT} / {other} write rate, {what}, {n:,} points ({where})",
                                _med(base, key) / _med(runs, key), "x"))
        for mode in ("unfiltered", "filtered"):
            rows.append(row(f"{other} / {DEFAULT} similar p50, {mode}, {n:,} points",
                            _med(runs, "queries", mode, "p50_ms") / _med(base, "queries", mode, "p50_ms"), "x"))
    return rows


def audit_rows(audits: dict) -> list[dict]:
    rows = []
    for engine, got in audits.items():
        for label in ("weak", "m16"):
            a = got[label]
            verdict = "PASSED" if a["passed"] else (
                f"FAILED ({len(a['failures'])} thresholds; first: {a['failures'][0]})")
            rows.append(row(f"[{engine}] recall audit, 7,841 real vectors, {a['engine']}: {verdict}", a["recall"],
                            f"recall@10 (filtered {a['filtered']:.3f})"))
    return rows


def pipeline_rows(rebuilds: dict, sidecars: dict) -> list[dict]:
    rows = []
    for (engine, medium, _), r in rebuilds.items():
        how = f"median of {r['runs']}" if r["runs"] > 1 else "one run"
        rows += [row(f"[{engine}] reembed of {r['videos']:,} new videos (2 shards, recipe v2, on {medium}; {how}): "
                     f"wall", r["wall_s"], "s"),
                 row(f"[{engine}]   encoder time inside it", r["encoder_s"], "s"),
                 row(f"[{engine}]   store: writes / create + index build + ready + close", r["store_s"],
                     f"s / {r['fixed_s']:.2f} s"),
                 row(f"[{engine}]   wall / encoder time, on {medium}", r["ratio"], "x")]
    for engine, s in sidecars.items():
        rows += [row(f"[{engine}] encoder alone, {s['events']:,} titles, batch {s['batch']}", s["encoder"], "texts/s"),
                 row(f"[{engine}] store alone, conditional writes of new points, on disk", s["store"], "points/s"),
                 row(f"[{engine}] sidecar sustained, every event encoded, on disk", s["sustained"], "events/s"),
                 row(f"[{engine}]   sustained / encoder (median of {s['runs']} side-by-side pairs)", s["ratio"], "x")]
    return rows


def target_rows(stores: dict, audits: dict, rebuilds: dict, sidecars: dict, sizes: tuple[int, int]) -> list[dict]:
    small, large = sizes
    rows = []
    if ("local", small) in stores:
        ratio = _med(stores[(DEFAULT, small)], "new_per_s") / _med(stores[("local", small)], "new_per_s")
        rows.append(row(f"TARGET on disk the default engine ({DEFAULT}) writes new points at >= 20x local mode's "
                        f"rate ({small:,} points)", ratio, "x", f">= {TARGETS['writes']:.0f}: {_met(ratio >= 20)}"))
    for mode in ("unfiltered", "filtered"):
        p99 = _med(stores[(DEFAULT, large)], "queries", mode, "p99_ms")
        cpu = _med(stores[(DEFAULT, large)], "queries", mode, "cpu_p99_ms")
        rows.append(row(f"TARGET similar p99 at {large:,} points, {mode} ({DEFAULT}; CPU time p99 {cpu:.2f} ms)",
                        p99, "ms", f"<= {TARGETS['p99_ms']:.0f}: {_met(p99 <= TARGETS['p99_ms'])}"))
    s = sidecars[DEFAULT]["ratio"]
    rows.append(row(f"TARGET sidecar sustained on disk / encoder ({DEFAULT})", s, "x",
                    f">= {TARGETS['sidecar']}: {_met(s >= TARGETS['sidecar'])}"))
    got = rebuilds[max(k for k in rebuilds if k[:2] == (DEFAULT, "disk"))]  # the largest rebuild on disk
    r = got["ratio"]
    rows.append(row(f"TARGET rebuild wall / encoder time ({DEFAULT}, {got['videos']:,} videos on disk; "
                    f"store's fixed work {got['fixed_s']:.1f} s of it)", r, "x",
                    f"<= {TARGETS['rebuild']}: {_met(r <= TARGETS['rebuild'])}"))
    weak = audits[DEFAULT]["weak"]
    named = [f for f in weak["failures"] if f.startswith("recall@10 overall")]
    flagged = not weak["passed"] and bool(named)
    rows.append(row(f"TARGET the weak index is flagged by the audit ({weak['engine']}: "
                    f"{named[0] if named else 'no recall threshold failed'})", weak["recall"], "recall@10",
                    f"audit fails naming the recall threshold: {_met(flagged)}"))
    return rows


def rows(engines, stores, recall, audits, rebuilds, sidecars, load: dict, sizes: tuple[int, int],
         reps: int) -> list[dict]:
    out = [row(f"load average (1 min) during the run: start {load['start']:.1f}, end {load['end']:.1f}, "
               f"max {load['max']:.1f}; mean", load["mean"], f"on {os.cpu_count()} cores")]
    for n in sizes:
        for engine in engines:
            if (engine, n) in stores:
                out += store_rows(engine, n, stores[(engine, n)], recall[(engine, n)], reps)
        out += ratio_rows(engines, stores, n)
    return out + audit_rows(audits) + pipeline_rows(rebuilds, sidecars) + target_rows(
        stores, audits, rebuilds, sidecars, sizes)
