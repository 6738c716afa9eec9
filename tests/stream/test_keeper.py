"""The sidecar keeps the Edge index built: streamed vectors past the indexing threshold end up indexed,
without a rebuild, read back from the store's own index state."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.stream.conftest import at, drain, event
from vidvec.core.types import to_micros
from vidvec.store import CollectionSpec, open_store

# 40 KB: 20 vectors of 512 floats. The collection's index is built while it is empty, as a rebuild leaves it.
SPEC = CollectionSpec(indexing_threshold_kb=40, full_scan_threshold_kb=10)
TITLES = [f"{topic} lesson {i}" for i, topic in enumerate(["Guitar", "Cooking", "Chess", "Football", "Physics"] * 12)]


@pytest.fixture
def built(settings, embedder):
    with open_store(settings) as store:
        assert not store.capabilities.background_optimizer  # the embedded default: Qdrant Edge
        store.create_collection("live1", SPEC, {"model_id": embedder.model_id, "family": embedder.family,
                                                "dim": embedder.dim, "recipe": "v1", "state": "ready"})
        store.set_aliases({"videos": "live1"})
        store.build_index("live1", SPEC)
    return "live1"


def stream(settings, embedder, publish, first: int, n: int, **sc):
    publish([event(f"v{i}", "upsert", i, TITLES[i % len(TITLES)]) for i in range(first, first + n)])
    return drain(settings, embedder, keep_index_check_seconds=0.05, **sc)


def state(settings, name):
    with open_store(settings) as store:
        return store.index_state(name), store.status(name)


def test_streamed_vectors_past_the_threshold_are_indexed_without_a_rebuild(settings, embedder, publish, built):
    running = stream(settings, embedder, publish, 0, 60)
    index, status = state(settings, built)
    assert index.points == 60 and index.indexed_vectors == 60 and status == ("green", "ok")
    runs = running.metrics.registry.get_sample_value("vidvec_sidecar_index_runs_total", {"result": "optimized"})
    assert runs >= 1 and running.metrics.registry.get_sample_value(  # checks with nothing due cost nothing
        "vidvec_sidecar_index_runs_total", {"result": "idle"}) >= 1
    assert running.metrics.registry.get_sample_value("vidvec_sidecar_index_pause_seconds_count") == runs

    stream(settings, embedder, publish, 60, 30)  # more, and edits of the first ones (old versions deleted)
    publish([event(f"v{i}", "upsert", 100 + i, f"{TITLES[i]}, revised") for i in range(0, 25)])
    stream(settings, embedder, publish, 90, 0)
    index, status = state(settings, built)
    # replaced versions count as indexed until a vacuum: nothing waits once indexed >= points and it is green
    assert index.points == 90 and index.indexed_vectors >= 90 and status == ("green", "ok")
    with open_store(settings) as store:  # the edits are what is served
        assert store.get_points(built, ["v3"])["v3"]["payload"]["updated_at"] == to_micros(
            datetime.fromisoformat(at(103)))
        assert store.count(built, public_only=True) == 90


def test_without_the_keeper_the_streamed_vectors_stay_unindexed(settings, embedder, publish, built):
    running = stream(settings, embedder, publish, 0, 60, keep_index=False)
    index, status = state(settings, built)
    assert index.points == 60 and index.indexed_vectors == 0 and status[0] == "yellow"
    assert running.metrics.registry.get_sample_value("vidvec_sidecar_index_runs_total",
                                                     {"result": "optimized"}) is None
