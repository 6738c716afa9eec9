"""A comparison report (`vidvec compare`): Markdown + one PNG, beside the audit reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from vidvec.compare import Comparison
from vidvec.core.naming import COMPARE_PREFIX


def write_report(c: Comparison, reports_dir: Path) -> Path:
    """reports_dir/compare-<stamp>-<a>-vs-<b>/: report.md, compare.png, compare.json; the Markdown path."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{c.a.target}-vs-{c.b.target}")
    out = Path(reports_dir) / f"{COMPARE_PREFIX}{c.compared_at.strftime('%Y%m%dT%H%M%SZ')}-{slug}"
    out.mkdir(parents=True, exist_ok=True)
    chart(c, out / "compare.png")
    md = out / "report.md"
    md.write_text(markdown(c, "compare.png"), encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(c.to_dict() | {"report": str(md)}, indent=1), encoding="utf-8")
    return md


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def table(c: Comparison) -> list[str]:
    lines = [f"| slice | queries | overlap@{c.k} | precision@{c.k} A | precision@{c.k} B | recall@{c.k} A | "
             f"recall@{c.k} B |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    return lines + [f"| {r.slice} | {r.queries} | {_fmt(r.overlap)} | {_fmt(r.precision_a)} | {_fmt(r.precision_b)} "
                    f"| {_fmt(r.recall_a)} | {_fmt(r.recall_b)} |" for r in c.rows]


def markdown(c: Comparison, png: str) -> str:
    lines = [f"# Compare {c.a.target} (A) with {c.b.target} (B)", ""]
    for name, s in (("A", c.a), ("B", c.b)):
        lines.append(f"- {name}: `{s.target}` -> `{s.collection}`: family `{s.family}`, model `{s.model_id}`, "
                     f"recipe `{s.recipe}`")
    lines += [f"- k = {c.k}, up to {c.per_language} videos per language (seed {c.seed}), neighbours from other "
              f"channels as a recommender asks; {c.skipped} sampled videos not served by one side; "
              f"compared at {c.compared_at.isoformat()}",
              "- overlap: share of the two top-k lists in common; precision: neighbours in the video's category "
              "(core/quality.py); recall: the newest audit of each collection", "",
              f"![overlap and precision per language]({png})", "", *table(c)]
    return "\n".join(lines) + "\n"


def chart(c: Comparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: runs in workers and CI
    import matplotlib.pyplot as plt

    rows = c.rows
    xs = list(range(len(rows)))
    fig, ax = plt.subplots(figsize=(min(4 + 0.5 * len(rows), 16), 4.6))
    for offset, values, label, color in (
            (-0.27, [r.overlap for r in rows], f"overlap@{c.k}", "#8172b3"),
            (0.0, [r.precision_a for r in rows], f"precision A ({c.a.target})", "#4c72b0"),
            (0.27, [r.precision_b for r in rows], f"precision B ({c.b.target})", "#dd8452")):
        ax.bar([x + offset for x in xs], [v or 0.0 for v in values], 0.27, label=label, color=color)
    ax.set_xticks(xs, [f"{r.slice.replace('language=', '')}\n{r.queries}" for r in rows], fontsize=7)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("slice (language) and number of queries", fontsize=8)
    ax.legend(loc="upper center", ncol=3, fontsize=7, frameon=False)
    ax.set_title(f"{c.a.family} vs {c.b.family}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
