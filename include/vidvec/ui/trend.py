"""Each alias's service levels over the last days: the points the page draws, and their geometry.

An alias's trend is every audit and canary that measured it: those whose
target was the alias, and those of the collection it serves now that did not
measure another alias (audited under its own name, or as `__next` before its
promotion once `__next` is gone). Charts are drawn
server-side as SVG (no script, nothing fetched): recall unfiltered and
filtered, served p50/p99, the unindexed share, one dot per audit, a canary
grey and a full audit dark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TREND_DAYS = 7
MAX_AUDITS = 5000  # a week of hourly canaries on a few aliases, with room


def trends(catalog, aliases: dict[str, str], now: datetime, days: int = TREND_DAYS) -> list[dict]:
    """alias -> its audits of the last `days`, oldest first; JSON-safe, for the page's state."""
    recent = catalog.audits(since=now - timedelta(days=days), limit=MAX_AUDITS)
    out = []
    for alias, collection in sorted(aliases.items()):
        points = [_point(a) for a in reversed(recent)
                  if a.target == alias or (a.collection == collection and a.target not in aliases)]
        if points:
            out.append({"alias": alias, "collection": collection, "days": days, "points": points})
    return out


def _point(a) -> dict:
    return {"audit_id": a.audit_id, "kind": a.kind, "at": a.audited_at.isoformat(), "collection": a.collection,
            "passed": a.passed, "recall": a.recall, "filtered_recall": a.filtered_recall,
            "served_p50_ms": a.served_p50_ms, "served_p99_ms": a.served_p99_ms, "unindexed": a.unindexed}


# -- geometry: what the template draws -----------------------------------------------
WIDTH, HEIGHT, PAD = 300, 110, 24
COLORS = {"recall": "#4c72b0", "filtered_recall": "#dd8452", "served_p50_ms": "#55a868",
          "served_p99_ms": "#c44e52", "unindexed": "#8172b3"}
LABELS = {"recall": "unfiltered", "filtered_recall": "filtered", "served_p50_ms": "p50", "served_p99_ms": "p99",
          "unindexed": "unindexed"}
CHARTS = (("recall@k", ("recall", "filtered_recall"), "{:.3f}", (0.0, 1.0)),
          ("served latency (ms)", ("served_p50_ms", "served_p99_ms"), "{:.2f}", None),
          ("unindexed share", ("unindexed",), "{:.1%}", (0.0, 1.0)))


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    canary: bool
    title: str


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    line: str  # SVG polyline points
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    low: str  # the y axis's labels
    high: str
    newest: str  # the newest value of each series, as the page prints it
    series: tuple[Series, ...]


def charts(trend: dict, now: datetime) -> list[Chart]:
    """The three charts of one alias's trend, x over the last `days` up to now."""
    start = now - timedelta(days=trend["days"])
    return [_chart(trend["points"], title, keys, fmt, bounds, start, now) for title, keys, fmt, bounds in CHARTS]


def _chart(points: list[dict], title: str, keys: tuple[str, ...], fmt: str, bounds, start: datetime,
           end: datetime) -> Chart:
    values = [p[k] for p in points for k in keys if p.get(k) is not None]
    low, high = bounds or (0.0, max(values, default=1.0) * 1.1 or 1.0)
    span = (end - start).total_seconds()

    def xy(p: dict, key: str) -> tuple[float, float]:
        at = (datetime.fromisoformat(p["at"]) - start).total_seconds() / span
        return (round(PAD + min(max(at, 0.0), 1.0) * (WIDTH - 2 * PAD), 1),
                round(HEIGHT - PAD - (p[key] - low) / (high - low) * (HEIGHT - 2 * PAD), 1))

    series = []
    for key in keys:
        kept = [p for p in points if p.get(key) is not None]
        dots = tuple(Dot(*xy(p, key), p["kind"] == "canary",
                         f"{p['kind']} {p['at'][:16].replace('T', ' ')}: {LABELS[key]} {fmt.format(p[key])}")
                     for p in kept)
        series.append(Series(key, COLORS[key], " ".join(f"{d.x},{d.y}" for d in dots), dots))
    newest = ", ".join(f"{LABELS[k]} {fmt.format(v)}" for k in keys
                       if (v := next((p[k] for p in reversed(points) if p.get(k) is not None), None)) is not None)
    return Chart(title, fmt.format(low), fmt.format(high), newest or "-", tuple(series))
