"""The space's state (vidvec.ui.state) and the page (vidvec.ui.page) on a real embedded space."""

import json
import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.conftest import build_live

T1 = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AT = datetime(2026, 11, 29, 7, tzinfo=timezone.utc)


@pytest.fixture
def space(settings, sample_slice, embedder):
    """videos on old (promoted from nothing, then to new and rolled back), videos_b on new, new audited."""
    from vidvec.audit import run_audit
    from vidvec.catalog.base import Approval
    from vidvec.catalog.factory import open_catalog
    from vidvec.promote import promote
    from vidvec.report import write_report
    from vidvec.store import open_store

    old = build_live(settings, sample_slice, embedder, t0=T1)
    new = build_live(settings, sample_slice, embedder, t0=T2)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        store.set_aliases({"videos": None, "videos__next": new})
        write_report(run_audit(catalog, store, new, at=AT, sample=16), settings.home / "reports")
        store.delete_points(old, [v.video_id for v in sample_slice[:8]])  # a failing audit of old
        write_report(run_audit(catalog, store, old, at=AT, sample=16), settings.home / "reports")
        kw = {"families": ("muse-multilingual-v3-512",), "force": ("audit", "count")}
        promote(catalog, store, old, alias="videos", at=AT, actor="run-0", **kw)
        promote(catalog, store, new, alias="videos", at=AT + timedelta(hours=1), actor="run-1",
                families=kw["families"])
        catalog.record_approval(Approval("run-1", "videos", new, True, AT + timedelta(minutes=50), "alice", "ok"))
        catalog.record_approval(Approval("run-2", "videos", old, False, AT, "bob", "coverage"))
        promote(catalog, store, new, alias="videos_b", at=AT + timedelta(hours=2), actor="cli",
                families=kw["families"])
    return old, new


def test_state_shows_aliases_rollback_targets_audits_and_history(settings, space):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store
    from vidvec.ui.state import build_state

    old, new = space
    with open_catalog(settings) as catalog, open_store(settings) as store:
        state = build_state(catalog, store, live_alias="videos", home=settings.home, now=AT, written_by="test")
    aliases = {a["alias"]: a for a in state["aliases"]}
    assert set(aliases) == {"videos", "videos_b"}  # promoting new dropped videos__next
    assert aliases["videos"] == {"alias": "videos", "collection": new, "kind": "live", "rollback_to": old,
                                      "moved_outside_vidvec": False}
    assert aliases["videos_b"]["kind"] == "a/b" and aliases["videos_b"]["rollback_to"] is None
    by_name = {c["name"]: c for c in state["collections"]}
    assert by_name[new]["points"] == 64 and by_name[old]["points"] == 56
    assert by_name[new]["metadata"]["t0"] == T2.isoformat() and by_name[new]["metadata"]["recipe"] == "v1"
    assert by_name[new]["state"] == "ready" and "index" in by_name[new]["metadata"]  # whatever it carries
    (good,) = by_name[new]["audits"]
    (bad,) = by_name[old]["audits"]
    assert good["passed"] and good["recall"] == 1.0 and good["failures"] == []
    assert good["chart"] == f"reports/{good['audit_id']}/recall.png"
    assert not bad["passed"] and bad["coverage"] == pytest.approx(56 / 64)
    assert any("coverage" in f for f in bad["failures"])  # the audit's own messages
    assert {s["slice"] for s in good["slices"]} >= {"overall"} and len(good["slices"]) > 2
    assert [(p["alias"], p["collection"], p["previous"], p["forced"]) for p in state["promotions"]] == [
        ("videos_b", new, None, []), ("videos", new, old, []), ("videos", old, None, ["count", "audit"])]
    assert [(a["run_id"], a["approved"]) for a in state["approvals"]] == [("run-1", True), ("run-2", False)]
    json.dumps(state)  # JSON-safe as it is


def test_the_page_reads_the_file_while_a_task_holds_the_stores(settings, space):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store
    from vidvec.ui.page import create_app
    from vidvec.ui.state import load_space, publish

    old, new = space
    with open_catalog(settings) as catalog, open_store(settings) as store:
        publish(settings, catalog, store, written_by="vidvec_promote.swap (run-1)")
        # Still holding both stores (as a running task does): the page must not need them.
        client = TestClient(create_app(load=lambda: load_space(settings), home=settings.home))
        html = unescape(client.get("/").text)
        chart = client.get(f"/reports/{load_space(settings)['collections'][0]['audits'][0]['audit_id']}/recall.png")
    assert "written by <code>vidvec_promote.swap (run-1)</code>" in html and "ago</b>" in html
    assert html.count('class="card collection"') == 2 and f'data-collection="{new}"' in html
    assert '<tr data-alias="videos"><td><code>videos</code> <span class="tag live">live</span>' in html
    assert f"roll back to {old}" in html and '"action": "rollback", "alias": "videos"' in html
    assert f'{{"target": "{new}"}}' in html and f'{{"collection": "{new}", "alias": "videos"}}' in html
    assert 'href="../dags/vidvec_promote" target="_top"' in html
    assert "FAILED" in html and "alice: ok" in html and "bob" in html
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
    assert client.get("/reports/..%2F..%2Fetc/recall.png").status_code == 404
    assert client.get("/state.json").json()["written_by"] == "vidvec_promote.swap (run-1)"


def test_the_page_says_when_there_is_nothing_yet_and_shows_errors(settings, tmp_path):
    from vidvec.ui.page import create_app

    empty = TestClient(create_app(load=lambda: None, home=tmp_path))
    assert "Nothing to show yet" in empty.get("/").text

    def broken():
        raise OSError("disk on fire")

    html = TestClient(create_app(load=broken, home=tmp_path, pending=broken)).get("/").text
    assert "the space&#39;s state could not be read: OSError: disk on fire" in html
    assert "approvals waiting in Airflow could not be read" in html


def test_state_file_is_replaced_atomically(tmp_path):
    from vidvec.ui.state import read_state, write_state

    write_state(tmp_path, {"n": 0})
    seen, stop = set(), threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(read_state(tmp_path)["n"])  # never a half-written file

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(1, 200):
        write_state(tmp_path, {"n": n, "pad": "x" * 20_000})
    stop.set()
    thread.join()
    assert read_state(tmp_path)["n"] == 199 and len(seen) > 1
    assert [p.name for p in tmp_path.iterdir()] == ["space.json"]  # no temp files left


def test_alerts_newest_first_and_a_torn_line_is_skipped(tmp_path):
    from vidvec.ui.state import read_alerts, record_alert

    for i in range(3):
        record_alert(tmp_path, {"n": i})
    with open(tmp_path / "alerts.jsonl", "a") as out:
        out.write('{"n": 3, "mess')
    assert [a["n"] for a in read_alerts(tmp_path, limit=2)] == [2, 1]


def test_a_task_that_cannot_write_the_state_still_succeeds(settings, caplog):
    from vidvec_airflow import stores

    (settings.home / "space.json").mkdir(parents=True)  # os.replace onto a directory fails
    logging.getLogger("vidvec_airflow").addHandler(caplog.handler)  # Airflow's logging may not propagate
    with stores() as (_, catalog, store):
        catalog.count()
    logging.getLogger("vidvec_airflow").removeHandler(caplog.handler)
    assert "could not write the space state" in caplog.text
    assert not os.path.isfile(settings.home / "space.json")


def test_each_alias_shows_its_trend_of_audits_and_canaries(settings, space):
    from vidvec.canary import run_canary
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store
    from vidvec.ui.page import render
    from vidvec.ui.state import build_state

    old, new = space
    now = AT + timedelta(hours=6)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        canaries = [run_canary(catalog, store, "videos", at=AT + timedelta(hours=h), sample=16) for h in (3, 4, 5)]
        run_canary(catalog, store, "videos", at=AT - timedelta(days=8), sample=16)  # older than the trend's days
        state = build_state(catalog, store, live_alias="videos", home=settings.home, now=now, written_by="test")
    trends = {t["alias"]: t for t in state["trends"]}
    videos = trends["videos"]
    # the canaries of the alias and the audit of the collection it serves (as videos__next, before promotion)
    assert [(p["kind"], p["at"]) for p in videos["points"]] == [("audit", AT.isoformat())] + [
        ("canary", c.audited_at.isoformat()) for c in canaries]
    assert videos["points"][-1]["served_p99_ms"] == next(
        s.served_p99_ms for s in canaries[-1].slices if s.slice == "overall" and not s.filtered)
    assert [p["kind"] for p in trends["videos_b"]["points"]] == ["audit"]  # no canary ran on videos_b
    by_name = {c["name"]: c for c in state["collections"]}
    assert [a["audit_id"] for a in by_name[new]["audits"]] == [videos["points"][0]["audit_id"]]  # canaries: trend only

    html = render(state, now=now)
    card = html[html.index('trend" data-alias="videos"'):html.index('trend" data-alias="videos_b"')]
    assert card.count('<circle class="canary"') == 3 * 5  # 3 canaries x (recall x2, p50, p99, unindexed)
    assert card.count('<circle class="audit"') == 5
    assert f"newest: canary <code>{canaries[-1].audit_id}</code>" in card
    assert "recall@k: <b>unfiltered " in card and "unindexed share: <b>unindexed 100.0%</b>" in card
