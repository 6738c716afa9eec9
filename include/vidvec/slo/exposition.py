"""The figures as Prometheus metrics: text exposition, a textfile for node_exporter, a Pushgateway push.

Names are `vidvec_*`; labels name the alias, collection, family, engine,
audit kind, slice and filter mode, never a video. Ratios end `_ratio`, times
`_seconds`, totals `_total`. One collector turns a `Figures` into metric
families, so the three outputs cannot disagree.

Alert on `time() - vidvec_audit_timestamp_seconds`, not on
`vidvec_audit_age_seconds`: the age is as of when the figures were read (a
push or a textfile keeps it until the next one).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from vidvec.core.recall import OVERALL
from vidvec.slo.figures import AuditFigures, Figures, read_figures

BASE = ("alias", "collection", "family", "engine")
SLICE = (*BASE, "kind", "slice", "filtered")
PUSH_JOB = "vidvec"  # the Pushgateway group: one, replaced whole by each push (dropped collections vanish)


def _gauge(name: str, doc: str, labels: tuple[str, ...]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class FiguresCollector:
    """A prometheus_client collector over one Figures (register it in a registry of its own)."""

    def __init__(self, figures: Figures):
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        yield from self._per_slice()
        yield from self._per_audit()
        yield from self._per_alias()
        promotions = CounterMetricFamily("vidvec_promotions", "Alias moves recorded (promotions and rollbacks)",
                                         labels=["alias"])
        for alias, n in sorted(f.promotions.items()):
            promotions.add_metric([alias], n)
        approvals = CounterMetricFamily("vidvec_approvals", "Answers to promotion approval requests",
                                        labels=["alias", "decision"])
        for (alias, decision), n in sorted(f.approvals.items()):
            approvals.add_metric([alias, decision], n)
        deadline = _gauge("vidvec_rebuild_deadline_timestamp_seconds",
                          "When a rebuild still building passes its deadline (T0 + VIDVEC_REBUILD_DEADLINE_HOURS)",
                          ("collection", "family"))
        for r in f.rebuilds:
            deadline.add_metric([r.collection, r.family], r.deadline.timestamp())
        read = _gauge("vidvec_figures_timestamp_seconds", "When these figures were read", ())
        read.add_metric([], f.read_at.timestamp())
        yield from (promotions, approvals, deadline, read)

    def _audits(self) -> Iterator[tuple[AuditFigures, list[str]]]:
        for a in self.figures.aliases:
            for audit in a.audits:
                yield audit, [a.alias, a.collection, a.family, a.engine, audit.kind]

    def _per_slice(self) -> Iterator[Metric]:
        recall = _gauge("vidvec_recall", "recall@k of what the collection serves against exact kNN", SLICE)
        queries = _gauge("vidvec_recall_queries", "Sampled queries with something to find", SLICE)
        passed = _gauge("vidvec_recall_slice_passed", "1 when the slice met its threshold", SLICE)
        latency = _gauge("vidvec_served_latency_seconds", "Latency of the audit's served queries (overall slice)",
                         (*BASE, "kind", "filtered", "quantile"))
        for audit, labels in self._audits():
            for s in audit.slices:
                at = [*labels, s.slice, _bool(s.filtered)]
                if s.recall is not None:
                    recall.add_metric(at, s.recall)
                queries.add_metric(at, s.queries)
                passed.add_metric(at, float(s.passed))
                if s.slice == OVERALL:
                    for q, ms in (("0.5", s.served_p50_ms), ("0.99", s.served_p99_ms)):
                        if ms is not None:
                            latency.add_metric([*labels, _bool(s.filtered), q], ms / 1000)
        yield from (recall, queries, passed, latency)

    def _per_audit(self) -> Iterator[Metric]:
        kinds = (*BASE, "kind")
        passed = _gauge("vidvec_audit_passed", "1 when the newest audit of this kind passed", kinds)
        streak = _gauge("vidvec_audit_failing_streak", "Audits of this kind in a row that failed, newest first",
                        kinds)
        stamp = _gauge("vidvec_audit_timestamp_seconds", "When the newest audit of this kind ran", kinds)
        age = _gauge("vidvec_audit_age_seconds", "Age of the newest audit of this kind when read", kinds)
        ratios = {name: _gauge(f"vidvec_{name}_ratio", doc, BASE) for name, doc in (
            ("coverage", "Public catalog videos served at vidvec's id at the catalog's version (full audit)"),
            ("staleness", "vidvec's public points behind the catalog's updated_at (full audit)"),
            ("mismatch", "Points whose language, model or status disagree with the catalog (full audit)"),
            ("foreign", "Public points not at vidvec's id, over all public points (full audit)"))}
        for audit, labels in self._audits():
            passed.add_metric(labels, float(audit.passed))
            streak.add_metric(labels, audit.failing_streak)
            stamp.add_metric(labels, audit.audited_at.timestamp())
            age.add_metric(labels, max((self.figures.read_at - audit.audited_at).total_seconds(), 0.0))
            values = {"coverage": audit.coverage, "staleness": audit.staleness, "mismatch": audit.mismatch,
                      "foreign": audit.foreign}
            for name, value in values.items():
                if value is not None:
                    ratios[name].add_metric(labels[:-1], value)
        yield from (passed, streak, stamp, age, *ratios.values())

    def _per_alias(self) -> Iterator[Metric]:
        info = _gauge("vidvec_alias_info", "1 per alias: the collection it serves and its role (live, next, a/b)",
                      (*BASE, "role"))
        points = _gauge("vidvec_points", "Points in the collection behind the alias", BASE)
        indexed = _gauge("vidvec_indexed_points", "Vectors in indexed (HNSW) segments", BASE)
        unindexed = _gauge("vidvec_unindexed_ratio", "Vectors outside an HNSW index (each query scans them)", BASE)
        for a in self.figures.aliases:
            labels = [a.alias, a.collection, a.family, a.engine]
            info.add_metric([*labels, a.role], 1)
            points.add_metric(labels, a.points)
            share = a.unindexed
            if a.indexed is not None and share is not None:
                indexed.add_metric(labels, a.indexed)
                unindexed.add_metric(labels, share)
        yield from (info, points, indexed, unindexed)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def registry_for(figures: Figures) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return registry


def render(figures: Figures) -> bytes:
    """The text exposition format (what `vidvec metrics` prints)."""
    return generate_latest(registry_for(figures))


def write_textfile(figures: Figures, path: Path) -> None:
    """For node_exporter's textfile collector: written beside the target and renamed (never half a file)."""
    write_to_textfile(str(path), registry_for(figures))


def push(figures: Figures, gateway: str, timeout_s: float = 10) -> None:
    """Replace the vidvec group on a Pushgateway (PUT): what the figures no longer hold disappears."""
    push_to_gateway(gateway, job=PUSH_JOB, registry=registry_for(figures), timeout=timeout_s)


def publish(settings, catalog, store, now: datetime) -> bool:
    """Push the figures where VIDVEC_PUSHGATEWAY_URL says; False (nothing done) when it is unset."""
    if not settings.pushgateway_url:
        return False
    push(read_figures(catalog, store, now=now, live_alias=settings.live_alias,
                      deadline_hours=settings.rebuild_deadline_hours), settings.pushgateway_url)
    return True
