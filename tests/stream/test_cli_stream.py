"""`vidvec catalog load` -> events, `vidvec events publish`, `vidvec sidecar` and
`python -m vidvec.stream` as a user runs them (subprocesses), SIGTERM included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.stream.conftest import free_port, make_target, wait_for
from vidvec.store import open_store
from vidvec.stream.local import LocalLog
from vidvec.stream.settings import load_sidecar_settings

VIDVEC = str(Path(sys.executable).parent / "vidvec")
CSV_HEAD = "video_id,title,description,tags,transcript,language,owner_id,category,status,published_at,updated_at\n"


def env(home, **extra):
    return os.environ | {"VIDVEC_HOME": str(home)} | {f"VIDVEC_SIDECAR_{k.upper()}": str(v) for k, v in extra.items()}


def run(*args, home, **extra):
    return subprocess.run([VIDVEC, *args], capture_output=True, text=True, env=env(home, **extra), timeout=300)


def backlog(settings) -> int:
    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    try:
        return log.backlog()
    finally:
        log.close()


@pytest.mark.slow
def test_catalog_load_publishes_changes_and_drain_applies_them(settings, embedder, tmp_path):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    csv = tmp_path / "c.csv"
    csv.write_text(CSV_HEAD + "v1,Violin,,,,en,o,c,public,,2026-11-01T00:00:00Z\n"
                              "v2,Vinyl,,,,en,o,c,public,,2026-11-01T00:00:00Z\n")
    assert run("catalog", "load", str(csv), home=settings.home).returncode == 0
    assert backlog(settings) == 2
    csv.write_text(CSV_HEAD + "v1,Violin,,,,en,o,c,public,,2026-11-01T00:00:00Z\n"  # unchanged: no event
                              "v2,Vinyl,,,,en,o,c,deleted,,2026-11-02T00:00:00Z\n")
    assert run("catalog", "load", str(csv), home=settings.home).returncode == 0
    assert backlog(settings) == 3

    done = run("sidecar", "--drain", home=settings.home, http_port=0)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {line["event"] for line in lines} >= {"started", "batch", "drained", "stopped"}
    assert sum(line.get("applied", 0) for line in lines if line["event"] == "batch") == 2  # v2 superseded
    with open_store(settings) as store:
        got = store.get_points("live1", ["v1", "v2"])
    assert got["v1"]["payload"]["status"] == "public" and got["v2"]["payload"]["status"] == "deleted"
    assert backlog(settings) == 0

    events = tmp_path / "e.jsonl"
    events.write_text('{"video_id": "v1", "op": "delete", "updated_at": "2026-11-03T00:00:00Z"}\nnot json\n')
    published = run("events", "publish", str(events), home=settings.home)
    assert published.returncode == 1 and "published 1 events, 1 bad" in published.stdout  # 1: a bad line
    assert f"{events}:2: malformed JSON" in published.stderr
    one = run("events", "publish", "--video-id", "v3", "--title", "Volcano", home=settings.home)
    assert one.returncode == 0 and backlog(settings) == 2
    bad_id = run("events", "publish", "--video-id", "bad id", home=settings.home)
    assert bad_id.returncode == 2 and bad_id.stderr.count("\n") == 1 and "invalid video id" in bad_id.stderr

    done = subprocess.run([sys.executable, "-m", "vidvec.stream", "--drain"], capture_output=True, text=True,
                          env=env(settings.home, http_port=0), timeout=300)
    assert done.returncode == 0, done.stderr
    with open_store(settings) as store:
        got = store.get_points("live1", ["v1", "v3"])
    assert got["v1"]["payload"]["status"] == "deleted" and got["v3"]["payload"]["status"] == "public"


@pytest.mark.slow
def test_sigterm_stops_promptly_and_cleanly(settings, embedder):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    port = free_port()
    proc = subprocess.Popen([VIDVEC, "sidecar"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(settings.home, http_port=port, max_batch_seconds=0.05))
    try:
        def live():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1).status == 200
            except OSError:
                return False

        assert wait_for(live, timeout=60)
        assert run("events", "publish", "--video-id", "s1", "--title", "Sailing", home=settings.home).returncode == 0
        assert wait_for(lambda: backlog(settings) == 0, timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)  # the stop event wakes every wait at once
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events[-2:] == ["stopping", "stopped"]
    with open_store(settings) as store:
        assert store.get_points("live1", ["s1"])["s1"]["payload"]["status"] == "public"


def batches(done) -> list[dict]:
    return [line for line in map(json.loads, done.stdout.splitlines()) if line["event"] == "batch"]


@pytest.mark.slow
def test_a_status_change_at_the_same_updated_at_lands_and_the_counts_say_so(settings, embedder, tmp_path):
    """Issue 11 item 1, as reported: reloaded private/deleted at the same T, then drained."""
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    rows = {"v1": "Violin lessons", "v2": "Vinyl records", "v3": "Violin concerts"}
    csv = tmp_path / "c.csv"
    csv.write_text(CSV_HEAD + "".join(f"{v},{t},,,,en,o,c,public,,2026-11-01T00:00:00Z\n" for v, t in rows.items()))
    assert run("catalog", "load", str(csv), home=settings.home).returncode == 0
    first = run("sidecar", "--drain", home=settings.home, http_port=0)
    assert first.returncode == 0, first.stderr
    assert [(b["written"], b["tombstoned"], b["skipped"]) for b in batches(first)] == [(3, 0, 0)]
    csv.write_text(CSV_HEAD + "v1,Violin lessons,,,,en,o,c,private,,2026-11-01T00:00:00Z\n"
                              "v2,Vinyl records,,,,en,o,c,deleted,,2026-11-01T00:00:00Z\n")
    assert run("catalog", "load", str(csv), home=settings.home).returncode == 0
    done = run("sidecar", "--drain", home=settings.home, http_port=0)
    assert done.returncode == 0, done.stderr
    assert [(b["written"], b["tombstoned"], b["skipped"]) for b in batches(done)] == [(0, 2, 0)]
    with open_store(settings) as store:
        got = store.versions("live1", ["v1", "v2", "v3"])
        hits = store.similar("live1", "v3", k=10)
        v3 = store.get_points("live1", ["v3"])["v3"]["payload"]
    assert {v: s for v, (s, _) in got.items()} == {"v1": "private", "v2": "deleted", "v3": "public"}
    assert hits == []  # neither v1 nor v2 is served any more
    refused = run("similar", "v1", home=settings.home)
    assert refused.returncode == 2 and refused.stderr.strip() == (
        "error: video 'v1' is private in 'live1': not served")
    # The same versions again: a replayed delete, a public upsert at T (even with a new title) change nothing.
    events = tmp_path / "e.jsonl"
    events.write_text('{"video_id": "v2", "op": "delete", "updated_at": "2026-11-01T00:00:00Z"}\n'
                      '{"video_id": "v1", "op": "upsert", "updated_at": "2026-11-01T00:00:00Z", "title": "New"}\n'
                      '{"video_id": "v3", "op": "upsert", "updated_at": "2026-11-01T00:00:00Z", "title": "New"}\n')
    assert run("events", "publish", str(events), home=settings.home).returncode == 0
    again = run("sidecar", "--drain", home=settings.home, http_port=0)
    assert [(b["written"], b["tombstoned"], b["skipped"]) for b in batches(again)] == [(0, 0, 3)]
    with open_store(settings) as store:
        assert store.versions("live1", ["v1", "v2", "v3"]) == got
        assert store.get_points("live1", ["v3"])["v3"]["payload"] == v3  # the old title's text hash
