"""Session fixtures that run Google service emulators as separate processes.

The BigQuery emulator (local-bigquery) lives in its own Python 3.13 venv,
.venv-bq, which `make bq-emulator` (a prerequisite of `make test`) installs.
Without it the BigQuery tests are skipped with that reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BQ_VENV = Path(os.environ.get("VIDVEC_BQ_EMULATOR_VENV", ROOT / ".venv-bq"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"emulator not listening on {port} after {timeout_s}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


PUBSUB = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")


@pytest.fixture(scope="session")
def pubsub_host(tmp_path_factory):
    """host:port of the official Pub/Sub emulator (Google Cloud SDK), started for the session."""
    if not PUBSUB.exists():
        pytest.skip(f"Pub/Sub emulator not installed ({PUBSUB}; Debian package google-cloud-cli-pubsub-emulator)")
    port, log = free_port(), tmp_path_factory.mktemp("pubsub") / "emulator.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(PUBSUB), "--host=127.0.0.1", f"--port={port}"], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, 90, log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@dataclass(frozen=True)
class BigQueryEmulator:
    rest_url: str  # http://127.0.0.1:PORT
    grpc_address: str  # 127.0.0.1:PORT (Storage Read API)
    project: str = "local"


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory):
    exe = BQ_VENV / "bin" / "local-bigquery"
    if not exe.exists():
        pytest.skip(f"BigQuery emulator not installed ({exe} missing): run `make bq-emulator` "
                    "(needs python3.13)")
    data, log = tmp_path_factory.mktemp("bigquery-emulator"), tmp_path_factory.mktemp("logs") / "bq.log"
    rest, grpc = free_port(), free_port()
    # DuckDB finds the offline extensions `make bq-emulator` installed under this HOME.
    env = {**os.environ, "HOME": str(BQ_VENV / "home")}
    with open(log, "w") as out:
        proc = subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(rest),
                                 "--grpc-port", str(grpc), "--data-dir", str(data)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(rest, proc, 90, log)
        wait_for_port(grpc, proc, 30, log)
        yield BigQueryEmulator(f"http://127.0.0.1:{rest}", f"127.0.0.1:{grpc}")
    finally:
        stop(proc)


@pytest.fixture
def bq_settings(bigquery_emulator, tmp_path, monkeypatch):
    """Settings selecting BigQuery on the emulator, with a fresh dataset per test."""
    from vidvec.config import load_settings

    env = {"VIDVEC_HOME": str(tmp_path / "vidvec"), "VIDVEC_CATALOG": "bigquery",
           "VIDVEC_BIGQUERY_PROJECT": bigquery_emulator.project,
           "VIDVEC_BIGQUERY_DATASET": f"t_{uuid.uuid4().hex[:12]}",
           "VIDVEC_BIGQUERY_ENDPOINT": bigquery_emulator.rest_url,
           "VIDVEC_BIGQUERY_STORAGE_ENDPOINT": bigquery_emulator.grpc_address}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


@pytest.fixture
def bq_catalog(bq_settings):
    """A BigQueryCatalog on its own emulator dataset, tables created, dropped after."""
    from vidvec.catalog.bigquery import open_bigquery

    catalog = open_bigquery(bq_settings)
    catalog.create_schema()
    try:
        yield catalog
    finally:
        catalog.client.delete_dataset(f"{catalog.project}.{catalog.dataset}", delete_contents=True,
                                      not_found_ok=True)
        catalog.close()
