"""Vacuum and snapshots need a Qdrant server, which cannot run here: a small fake REST
server answers the real qdrant-client (REST), and the test checks what was asked of it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as m

from vidvec.store import CollectionSpec, store_on_client


class FakeQdrant(BaseHTTPRequestHandler):
    calls: list = []
    threshold = 0.2
    busy_reads = 0  # GET /collections/c answers yellow this many times after an update

    def log_message(self, *args):
        pass

    def _reply(self, result):
        body = json.dumps({"result": result, "status": "ok", "time": 0.0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        self.calls.append(("GET", self.path))
        if self.path.rstrip("/") in ("", "/"):
            return self._root()
        cls = type(self)
        status = "yellow" if cls.busy_reads > 0 else "green"
        cls.busy_reads = max(cls.busy_reads - 1, 0)
        info = m.CollectionInfo(
            status=status, optimizer_status=m.OptimizersStatusOneOf.OK, segments_count=3, payload_schema={},
            config=m.CollectionConfig(
                params=m.CollectionParams(vectors=m.VectorParams(size=8, distance=m.Distance.COSINE)),
                hnsw_config=m.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10000),
                optimizer_config=m.OptimizersConfig(deleted_threshold=cls.threshold, vacuum_min_vector_number=1000,
                                                    default_segment_number=0, flush_interval_sec=5)))
        self._reply(json.loads(info.model_dump_json()))

    def _root(self):
        body = json.dumps({"title": "qdrant", "version": "1.16.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PATCH(self):
        body = self._body()
        self.calls.append(("PATCH", self.path, body))
        type(self).threshold = body["optimizers_config"].get("deleted_threshold", type(self).threshold)
        type(self).busy_reads = 2  # the optimizer works for a while
        self._reply(True)

    def do_POST(self):
        self.calls.append(("POST", self.path))
        self._reply({"name": "c-snap-1.snapshot", "creation_time": "2026-11-29T04:00:00", "size": 12345})

    def do_PUT(self):
        self.calls.append(("PUT", self.path, self._body()))
        self._reply(True)


@pytest.fixture
def server_store(monkeypatch):
    monkeypatch.setattr("vidvec.store.common.time.sleep", lambda s: None)  # wait_ready's polling
    FakeQdrant.calls, FakeQdrant.threshold, FakeQdrant.busy_reads = [], 0.2, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeQdrant)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = QdrantClient(url=f"http://127.0.0.1:{httpd.server_port}", prefer_grpc=False, timeout=5,
                          check_compatibility=False)
    store = store_on_client(client, local=False)
    yield store
    store.close()
    httpd.shutdown()


def test_vacuum_lowers_the_threshold_waits_until_green_and_restores_it(server_store):
    result = server_store.vacuum("c", deleted_threshold=0.01, timeout_s=5)
    patches = [c[2]["optimizers_config"] for c in FakeQdrant.calls if c[0] == "PATCH"]
    assert patches == [{"deleted_threshold": 0.01}, {"deleted_threshold": 0.2}]
    assert FakeQdrant.threshold == 0.2 and FakeQdrant.busy_reads == 0  # restored, and waited until green
    assert result["applied"] is True and result["deleted_threshold"] == 0.01 and result["segments"] == 3
    reads = [c for c in FakeQdrant.calls if c[0] == "GET" and c[1].startswith("/collections/c")]
    assert len(reads) >= 8  # the config, then polling past two yellow reads after each update, the segments


def test_a_small_purge_only_wakes_the_optimizer(server_store):
    server_store.vacuum("c", deleted_threshold=1.0, timeout_s=5)
    patches = [c[2]["optimizers_config"] for c in FakeQdrant.calls if c[0] == "PATCH"]
    assert patches == [{"deleted_threshold": 0.2}]  # an update with the same value still starts them


def test_snapshot_on_a_server(server_store):
    snap = server_store.snapshot("c")
    assert snap == {"created": True, "name": "c-snap-1.snapshot", "size": 12345,
                    "creation_time": "2026-11-29T04:00:00"}
    assert ("POST", "/collections/c/snapshots?wait=true") in FakeQdrant.calls


def test_local_mode_says_what_does_not_apply(settings):
    from vidvec.config import load_settings
    from vidvec.errors import VidvecError
    from vidvec.store import open_store

    with open_store(load_settings(home=settings.home, store="local")) as store:
        store.create_collection("c", CollectionSpec(dim=4), {})
        assert store.vacuum("c", 0.01) == {"applied": False, "why": "qdrant-local keeps no segments: nothing to vacuum"}
        assert store.snapshot("c")["why"].startswith("qdrant-local has no snapshots")
        with pytest.raises(VidvecError, match="no snapshots to restore"):
            store.restore_snapshot("file:///x.snapshot", "d")


def test_compaction_vacuums_after_purges_only_and_never_a_build(server_store):
    from vidvec.compaction import Reconciled, vacuum
    from vidvec.params import CompactOptions

    def rec(name, purged, points=1000, state="ready"):
        return Reconciled(name, state, False, {"points": points}, {}, {"purged": purged}, 0, {}, "")

    done = vacuum(server_store, [rec("c", 50), rec("c", 0), rec("c", 50, state="building"), rec("c", 5)],
                  CompactOptions())
    assert [d.applied for d in done] == [True, False, False, True]
    assert done[1].why == "nothing purged" and "being built" in done[2].why
    patches = [c[2]["optimizers_config"]["deleted_threshold"] for c in FakeQdrant.calls if c[0] == "PATCH"]
    assert patches == [0.01, 0.2, 0.2]  # a 5% purge drives it (then restores); a 0.5% one only wakes it
    assert [d.applied for d in vacuum(server_store, [rec("c", 50)], CompactOptions(dry_run=True))] == [False]


def test_restore_asks_the_server_to_recover_the_snapshot_under_a_new_name(server_store, monkeypatch):
    monkeypatch.setattr(server_store, "exists", lambda name: False)
    monkeypatch.setattr(server_store, "count", lambda name: 7)
    done = server_store.restore_snapshot("file:///qdrant/snapshots/c/c-snap-1.snapshot", "c_restored")
    assert done == {"restored": True, "collection": "c_restored", "points": 7}
    puts = [c for c in FakeQdrant.calls if c[0] == "PUT"]
    assert puts == [("PUT", "/collections/c_restored/snapshots/recover?wait=true",
                     {"location": "file:///qdrant/snapshots/c/c-snap-1.snapshot"})]
