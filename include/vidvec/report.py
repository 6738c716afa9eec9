"""An audit report a person would rather look at than read: Markdown + one PNG."""

from __future__ import annotations

import json
from pathlib import Path

from vidvec.audit import AuditResult
from vidvec.core.recall import OVERALL


def write_report(result: AuditResult, reports_dir: Path) -> Path:
    """reports_dir/<audit_id>/: report.md, recall.png and audit.json; returns the Markdown path."""
    out = Path(reports_dir) / result.audit_id
    out.mkdir(parents=True, exist_ok=True)
    chart(result, out / "recall.png")
    md = out / "report.md"
    result.report = str(md)
    md.write_text(markdown(result, "recall.png"), encoding="utf-8")
    (out / "audit.json").write_text(json.dumps(result.to_dict(), default=str, indent=1), encoding="utf-8")
    return md


def _engine_note(result: AuditResult) -> str:
    index = result.index
    if index.get("exact"):
        return (f"{result.engine} answered: exact brute force, so the index's own (ANN) recall is 1.0 "
                "by construction. Recall below 1.0 here means the collection's content is wrong "
                "(missing, stale or foreign vectors, wrong payload), not the index.")
    indexed = index.get("indexed_vectors")
    coverage = f"{indexed:,} of {index.get('points', 0):,} vectors indexed" if indexed is not None else ""
    return (f"{result.engine} answered (HNSW; {coverage}): recall below 1.0 includes what the index "
            "loses. Filters matching fewer vectors than the collection's full-scan threshold are "
            "scanned exactly, as Qdrant plans them.")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(result: AuditResult, png: str) -> str:
    verdict = "PASSED" if result.passed else "FAILED"
    c = result.counts
    lines = [
        f"# Recall audit {result.audit_id}: {verdict}", "",
        f"- target `{result.target}` -> collection `{result.collection}`",
        f"- model `{result.model_id}`, engine **{result.engine}**",
        f"- k = {result.k}, {result.sample_size} sampled queries (stratified by language, seed {result.seed}),"
        f" audited at {result.audited_at.isoformat()}",
        f"- coverage {result.coverage:.4f} ({c['covered']} of {c['catalog_public']} public catalog videos served "
        "at vidvec's id, at the catalog's version)",
        f"- foreign points {result.foreign:.4f} ({c.get('foreign', 0)} public points not at vidvec's id, "
        f"{c.get('duplicate', 0)} of them duplicates of catalog videos: compaction removes them)",
        f"- staleness {result.staleness:.4f} ({c['stale']} of {c['public_points']} public points behind the catalog)",
        f"- payload mismatch {result.mismatch:.4f} (language {c['language_mismatch']}, model "
        f"{c['model_mismatch']}, not public in the catalog {c['not_public_in_catalog']})", "",
        f"> {_engine_note(result)}", "",
        f"![recall per language]({png})", "",
        "| slice | queries | recall@k unfiltered | queries | recall@k filtered |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    filtered = {s.slice: s for s in result.slices if s.filtered}
    for s in (s for s in result.slices if not s.filtered):
        f = filtered.get(s.slice)
        lines.append(f"| {s.slice} | {s.queries} | {_fmt(s.recall)} | {f.queries if f else 0} | "
                     f"{_fmt(f.recall if f else None)} |")
    lines += ["", "## Failed thresholds", ""] + ([f"- {m}" for m in result.failures] or ["- none"])
    return "\n".join(lines) + "\n"


def chart(result: AuditResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: runs in workers and CI
    import matplotlib.pyplot as plt

    unf = {s.slice: s for s in result.slices if not s.filtered}
    fil = {s.slice: s for s in result.slices if s.filtered}
    langs = sorted((x for x in unf if x != OVERALL), key=lambda x: (-unf[x].queries, x))
    labels = [OVERALL] + langs
    xs = list(range(len(labels)))
    fig, (ax, side) = plt.subplots(1, 2, figsize=(min(4 + 0.34 * len(labels), 16), 4.8),
                                   gridspec_kw={"width_ratios": [max(len(labels), 6), 4]})
    for offset, series, name, color in ((-0.2, unf, "unfiltered", "#4c72b0"),
                                        (0.2, fil, "filtered to the video's language", "#dd8452")):
        ax.bar([x + offset for x in xs], [_value(series.get(x)) for x in labels], 0.4, label=name, color=color)
    floor = result.thresholds.get("min_language_recall")
    if floor is not None:
        ax.axhline(floor, color="#c44e52", lw=1, ls="--", label=f"language threshold {floor:g}")
    ax.set_xticks(xs, [f"{x.replace('language=', '')}\n{unf[x].queries}" for x in labels], fontsize=7)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel(f"recall@{result.k}")
    ax.set_xlabel("slice (language) and number of sampled queries", fontsize=8)
    ax.legend(loc="upper center", ncol=3, fontsize=7, frameon=False)
    ax.set_title(f"{result.collection}: {result.engine}, {result.sample_size} queries", fontsize=9)
    # A full audit scans the payloads (a canary, which has no report, leaves these None).
    coverage, staleness, mismatch = result.coverage or 0.0, result.staleness or 0.0, result.mismatch or 0.0
    values = [coverage, 1 - staleness, 1 - mismatch]
    t = result.thresholds
    ok = [coverage >= t.get("min_coverage", 0), staleness <= t.get("max_staleness", 1),
          mismatch <= t.get("max_mismatch", 1)]
    bars = side.bar(["coverage", "fresh", "payload ok"], values,
                    color=["#55a868" if good else "#c44e52" for good in ok])
    side.bar_label(bars, [f"{v:.3f}" for v in values], fontsize=7)
    side.set_ylim(0, 1.12)
    side.tick_params(axis="x", labelsize=7)
    side.set_title("PASSED" if result.passed else f"FAILED ({len(result.failures)} thresholds)", fontsize=9,
                   color="#222222" if result.passed else "#c44e52")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _value(s) -> float:
    return s.recall if s is not None and s.recall is not None else 0.0
