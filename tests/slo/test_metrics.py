"""The service-level figures as Prometheus reads them, from a real audit, canary and promotion history.

Each figure is read back from the exposition text and compared with the
warehouse rows and the store's own state, not with constants.
"""

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import build_live
from tests.test_cli import run
from vidvec.audit import run_audit
from vidvec.canary import run_canary
from vidvec.catalog.base import Approval, Promotion
from vidvec.core.types import PointToWrite
from vidvec.slo.exposition import render
from vidvec.slo.figures import read_figures

AT = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)
NOW = AT + timedelta(hours=3)


def samples(text: str) -> dict[tuple, float]:
    """(metric name, frozenset of labels) -> value, for every sample of the exposition text."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    hits = [v for (n, got), v in found.items() if n == name and set(labels.items()) <= got]
    assert len(hits) == 1, f"{name} {labels}: {len(hits)} samples"
    return hits[0]


@pytest.fixture
def live(settings, sample_slice, embedder):
    return build_live(settings, sample_slice, embedder)


def test_audit_canary_and_history_read_back_as_metrics(live, catalog, store, embedder):
    audit = run_audit(catalog, store, "videos", at=AT, sample=64, seed=1)
    canary = run_canary(catalog, store, "videos", at=AT + timedelta(hours=1), sample=24)
    catalog.record_promotion(Promotion("videos", live, None, AT, "test"))
    catalog.record_approval(Approval("run-1", "videos", live, False, AT, None, timed_out=True))
    found = samples(render(read_figures(catalog, store, now=NOW)).decode())

    base = {"alias": "videos", "collection": live, "family": embedder.family, "engine": "qdrant-edge hnsw"}
    rows = {(r.slice, r.filtered): r for r in catalog.audit_rows(audit.audit_id)}
    for (slice_, filtered), row in rows.items():
        at = base | {"kind": "audit", "slice": slice_, "filtered": str(filtered).lower()}
        assert value(found, "vidvec_recall", **at) == row.recall
        assert value(found, "vidvec_recall_queries", **at) == row.queries
    overall = rows[("overall", False)]
    latency = value(found, "vidvec_served_latency_seconds", **base, kind="audit", filtered="false", quantile="0.99")
    assert latency == pytest.approx(overall.served_p99_ms / 1000) and latency > 0
    assert value(found, "vidvec_coverage_ratio", **base) == audit.coverage == 1.0
    assert value(found, "vidvec_foreign_ratio", **base) == audit.foreign
    assert value(found, "vidvec_audit_timestamp_seconds", **base, kind="audit") == AT.timestamp()
    assert value(found, "vidvec_audit_age_seconds", **base, kind="audit") == 3 * 3600

    (canary_row,) = [r for r in catalog.audit_rows(canary.audit_id) if r.slice == "overall" and not r.filtered]
    assert canary_row.kind == "canary" and canary_row.coverage is None and canary_row.target == "videos"
    assert value(found, "vidvec_recall", **base, kind="canary", slice="overall", filtered="false") == \
        canary_row.recall
    assert value(found, "vidvec_audit_age_seconds", **base, kind="canary") == 2 * 3600
    assert not [k for k in found if k[0] == "vidvec_coverage_ratio" and ("kind", "canary") in k[1]]

    state = store.index_state(live)
    assert value(found, "vidvec_points", **base) == state.points == 64
    assert value(found, "vidvec_indexed_points", **base) == state.indexed_vectors
    assert value(found, "vidvec_unindexed_ratio", **base) == canary.unindexed == 1 - state.indexed_vectors / 64
    assert value(found, "vidvec_alias_info", **base, role="live") == 1
    assert value(found, "vidvec_promotions_total", alias="videos") == 1
    assert value(found, "vidvec_approvals_total", alias="videos", decision="timed_out") == 1
    assert not any("video_id" in dict(labels) for _, labels in found)


def test_failing_canaries_in_a_row_count_as_a_streak(live, catalog, store, sample_slice):
    run_canary(catalog, store, "videos", at=AT, sample=24)
    # every vector replaced by one far from its truth: served neighbours are wrong, recall drops
    store.write_if_newer(live, [PointToWrite(v.video_id, [1.0] * 512 if i % 2 else [-1.0] * 512,
                                             {"video_id": v.video_id, "language": v.language, "status": "public",
                                              "updated_at": 2**62, "model_id": "m"})
                                for i, v in enumerate(sample_slice)])
    for hour in (1, 2):
        assert not run_canary(catalog, store, "videos", at=AT + timedelta(hours=hour), sample=24).passed
    figures = read_figures(catalog, store, now=NOW)
    (canary,) = [a for a in figures.aliases[0].audits if a.kind == "canary"]
    assert canary.failing_streak == 2 and not canary.passed


def test_a_rebuild_still_building_has_a_deadline(live, catalog, store):
    store.update_metadata(live, state="building", t0=AT.isoformat())
    figures = read_figures(catalog, store, now=NOW, deadline_hours=6)
    assert [(r.collection, r.deadline) for r in figures.rebuilds] == [(live, AT + timedelta(hours=6))]
    assert read_figures(catalog, store, now=NOW, deadline_hours=0).rebuilds == ()


def test_vidvec_metrics_prints_the_figures_with_no_service(live, settings):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings) as catalog, open_store(settings) as store:
        audit = run_audit(catalog, store, "videos", at=AT, sample=32, seed=1)
    done = run("metrics", home=settings.home)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    overall = next(s for s in audit.slices if s.slice == "overall" and not s.filtered)
    assert value(found, "vidvec_recall", alias="videos", kind="audit", slice="overall", filtered="false") == \
        overall.recall
    out = settings.home / "textfile" / "vidvec.prom"
    out.parent.mkdir()
    assert run("metrics", "--out", str(out), home=settings.home).returncode == 0
    assert samples(out.read_text()) == found | {k: v for k, v in samples(out.read_text()).items()
                                                if k[0] in ("vidvec_audit_age_seconds",
                                                            "vidvec_figures_timestamp_seconds")}


def test_the_figures_are_pushed_as_one_group_replaced_whole(live, catalog, store, settings):
    """What a task leaves on the Pushgateway: an HTTP PUT of the whole text to /metrics/job/vidvec."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from vidvec.slo.exposition import publish

    got = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - http.server's name
            got.append((self.path, self.rfile.read(int(self.headers["Content-Length"])).decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    run_audit(catalog, store, "videos", at=AT, sample=16, seed=1)
    assert not publish(settings, catalog, store, NOW)  # no gateway configured: nothing to do
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        assert publish(settings.model_copy(update={"pushgateway_url": f"127.0.0.1:{server.server_port}"}),
                       catalog, store, NOW)
    finally:
        server.server_close()
    ((path, body),) = got
    assert path == "/metrics/job/vidvec"
    assert value(samples(body), "vidvec_points", alias="videos") == 64
