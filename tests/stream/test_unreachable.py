"""Store unreachable mid-stream: readiness false, nothing acked, all applied once it is back.

Only a remote engine can be unreachable, so this runs the qdrant-client store
(the server path's code): on local mode, its client swapped for a real
QdrantClient pointed at a local port nobody listens on (connection refused,
the error a restarting Qdrant server gives), then swapped back. No fake: both
are qdrant-client, and the sidecar sees its real exceptions.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

from qdrant_client import QdrantClient

from tests.store.helpers import use_client
from tests.stream.conftest import event, free_port, make_target, wait_for
from vidvec.catalog.factory import open_catalog
from vidvec.config import load_settings
from vidvec.store import make_store
from vidvec.stream.local import LocalSource
from vidvec.stream.ops import Health, Metrics, OpsServer
from vidvec.stream.settings import load_sidecar_settings
from vidvec.stream.sidecar import Sidecar
from vidvec.stream.source import DeadLetterFile
from vidvec.stream.targets import TargetMap


def readyz(port: int) -> int:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_store_outage_pauses_intake_and_loses_nothing(settings, embedder, publish):
    sc = load_sidecar_settings()
    store = make_store(load_settings(home=settings.home, store="local"))
    dead = QdrantClient(url=f"http://127.0.0.1:{free_port()}", timeout=1, prefer_grpc=False,
                        check_compatibility=False)
    make_target(store, "live1", embedder)
    metrics, health, stop = Metrics(), Health(60), threading.Event()
    ops = OpsServer(health, metrics, "127.0.0.1", 0)
    source = LocalSource(sc.log_file(settings.home), DeadLetterFile(sc.dead_letter_file(settings.home)))
    with open_catalog(settings) as catalog:
        sidecar = Sidecar(source=source, store=store, catalog=catalog, embedder=embedder,
                          targets=TargetMap(store, ("videos", "videos__next"), 0.05), metrics=metrics,
                          health=health, stop=stop, max_batch_seconds=0.05, max_backoff_seconds=0.3)
        thread = threading.Thread(target=sidecar.run, daemon=True)
        thread.start()
        try:
            publish([event("u1", "upsert", 1, "Ukulele chords")])
            assert wait_for(lambda: metrics.events.labels("applied")._value.get() == 1)
            assert readyz(ops.port) == 200

            local = use_client(store, dead)  # the outage starts
            publish([event(f"u{i}", "upsert", 2, f"Unicycle trick {i}") for i in range(2, 12)])
            publish([event("u1", "delete", 3)])
            assert wait_for(lambda: metrics.store_errors._value.get() >= 3)
            assert readyz(ops.port) == 503 and not health.ready
            assert source.log.acked() == 1 and source.log.backlog() == 11  # nothing acknowledged
            assert metrics.events.labels("applied")._value.get() == 1

            use_client(store, local)  # the store is back
            assert wait_for(lambda: source.log.backlog() == 0, timeout=60)
            assert readyz(ops.port) == 200
        finally:
            stop.set()
            thread.join(30)
            source.close()
            ops.close()
    got = store.get_points("live1", [f"u{i}" for i in range(1, 12)])
    assert len(got) == 11 and got["u1"]["payload"]["status"] == "deleted"
    assert all(got[f"u{i}"]["payload"]["status"] == "public" for i in range(2, 12))
    store.close()
    dead.close()


def test_stop_during_an_outage_nacks_the_batch_in_flight_at_once(settings, embedder, publish):
    sc = load_sidecar_settings()
    store = make_store(load_settings(home=settings.home, store="local"))
    dead = QdrantClient(url=f"http://127.0.0.1:{free_port()}", timeout=1, prefer_grpc=False,
                        check_compatibility=False)
    make_target(store, "live1", embedder)
    metrics, health, stop = Metrics(), Health(60), threading.Event()
    source = LocalSource(sc.log_file(settings.home), DeadLetterFile(sc.dead_letter_file(settings.home)))
    with open_catalog(settings) as catalog:
        sidecar = Sidecar(source=source, store=store, catalog=catalog, embedder=embedder,
                          targets=TargetMap(store, ("videos",), 3600), metrics=metrics, health=health,
                          stop=stop, max_batch_seconds=0.05, max_backoff_seconds=5)
        thread = threading.Thread(target=sidecar.run, daemon=True)
        thread.start()
        assert wait_for(lambda: health.ready)  # targets resolved (and cached) while the store was up
        local = use_client(store, dead)
        publish([event(f"w{i}", "delete", 1) for i in range(3)])
        assert wait_for(lambda: metrics.store_errors._value.get() >= 1)  # the batch is in flight, retrying
        stop.set()  # what SIGTERM does
        thread.join(3)  # the backoff sleep waits on the stop event: no waiting out the 5 s backoff
        assert not thread.is_alive()
        assert metrics.events.labels("nacked")._value.get() == 3
        assert source.log.acked() == 0 and source.log.backlog() == 3
        source.close()
    use_client(store, local)
    store.close()
    dead.close()
