"""Embedded mode: `vidvec sidecar --drain`, then `vidvec compact`: no drained event is undone.

The sidecar and compaction both open the embedded store, so they run one after
the other, as users run them (subprocesses, the real local event log).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import build_live

VIDVEC = str(Path(sys.executable).parent / "vidvec")
COLUMNS = ["video_id", "title", "description", "tags", "transcript", "language", "owner_id", "category",
           "status", "published_at", "updated_at"]


def run(*args, home):
    env = os.environ | {"VIDVEC_HOME": str(home), "VIDVEC_SIDECAR_HTTP_PORT": "0"}
    done = subprocess.run([VIDVEC, *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def row(v, **changes):
    base = {c: getattr(v, c) for c in COLUMNS}
    base["tags"] = "|".join(v.tags)
    base["transcript"] = v.transcript or ""
    for key in ("published_at", "updated_at"):
        base[key] = base[key].isoformat() if base[key] else ""
    return base | changes


def state(settings, ids):
    from vidvec.store import open_store

    with open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        return {k: v["payload"] for k, v in store.get_points(live, ids).items()}


@pytest.mark.slow
def test_compaction_right_after_a_drain_loses_no_event(settings, sample_slice, embedder, tmp_path):
    videos = sample_slice[:24]
    build_live(settings, videos, embedder)
    # Catalog changes through `vidvec catalog load` (each changed row becomes an event):
    edits = [row(v, title=v.title + " (director's cut)", updated_at="2026-11-28T10:00:00+00:00") for v in videos[:4]]
    deletes = [row(v, status="deleted", updated_at="2026-11-28T11:00:00+00:00") for v in videos[4:7]]
    new = [row(videos[7], video_id="brandNewVid", title="A brand new upload about football",
               updated_at="2026-11-28T12:00:00+00:00")]
    path = tmp_path / "changes.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(edits + deletes + new)
    run("catalog", "load", str(path), home=settings.home)
    # ...and an upload the catalog has not caught up with yet (the stream is ahead).
    run("events", "publish", "--video-id", "aheadOfCatalog", "--title", "Live: the match tonight",
        "--updated-at", "2026-11-28T13:00:00+00:00", home=settings.home)

    run("sidecar", "--drain", home=settings.home)
    changed = [r["video_id"] for r in edits + deletes + new] + ["aheadOfCatalog"]
    drained = state(settings, changed)
    assert {k: p["status"] for k, p in drained.items()} == (
        {r["video_id"]: "public" for r in edits + new} | {r["video_id"]: "deleted" for r in deletes}
        | {"aheadOfCatalog": "public"})

    summary = json.loads(run("compact", "--json", "--as-of", "2026-11-29T04:00:00+00:00", home=settings.home))
    assert summary  # the run reported its steps
    after = state(settings, changed)
    assert after == drained  # every drained write survived compaction, tombstones included
