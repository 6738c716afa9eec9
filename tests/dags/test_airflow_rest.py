"""Real-client smoke test of the Airflow side: `airflow standalone` + the REST API v2.

Starts standalone in a temp AIRFLOW_HOME on a free port, logs in with the
generated admin password (SimpleAuthManager's POST /auth/token), triggers
vidvec_full_rebuild with a conf, polls the run to success, stops standalone
with SIGINT to its parent (SIGTERM leaves children), then reads the result back
from the store: the collection this run created, its metadata and points.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import with_status
from tests.emulators import free_port

DAG_ID = "vidvec_full_rebuild"
LOGICAL = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)


class Api:
    def __init__(self, base: str):
        self.base, self.token = base, None

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")

    def wait(self, what: str, check, timeout_s: float, proc: subprocess.Popen, log: Path):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"airflow standalone exited ({proc.returncode}) waiting for {what}:\n{tail(log)}")
            try:
                if result := check():
                    return result
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                pass
            time.sleep(2)
        pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}:\n{tail(log)}")


def tail(log: Path, n: int = 4000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else "(no log)"


def stop_standalone(proc: subprocess.Popen) -> None:
    """SIGINT to the parent stops every component; the whole group is checked afterwards."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("airflow standalone did not stop within 90 s of SIGINT")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # anything left in its process group?
        except ProcessLookupError:
            return
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("children of airflow standalone were still running 30 s after it stopped")


def _default_sigint() -> None:
    """A job started in the background (CI, `cmd &`) inherits SIGINT ignored, and Python then
    never raises KeyboardInterrupt: standalone would not stop. Give it the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def launch(tmp_path: Path, settings, **extra_env):
    """A running `airflow standalone` (own AIRFLOW_HOME, free ports, the test's VIDVEC_HOME)."""
    home, port = tmp_path / "airflow", free_port()
    bin_dir = str(Path(sys.executable).parent)  # standalone starts its components as `airflow ...`
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
           "AIRFLOW_HOME": str(home), "AIRFLOW__API__PORT": str(port), "AIRFLOW__CORE__PARALLELISM": "4",
           "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
           "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # other Airflows may run here
           "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
           "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the runs this test triggers
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
           "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
           "VIDVEC_HOME": str(settings.home), **extra_env}
    airflow = str(Path(bin_dir) / "airflow")
    for cmd in (["db", "migrate"], ["pools", "set", "vidvec_store", "1", "embedded store"]):
        done = subprocess.run([airflow, *cmd], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "standalone.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([airflow, "standalone"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=tmp_path, start_new_session=True, preexec_fn=_default_sigint)
    try:
        yield Api(f"http://127.0.0.1:{port}"), proc, log, home
    finally:
        stop_standalone(proc)


def log_in(api: Api, proc, log: Path, home: Path, dag_ids=(DAG_ID,)) -> str:
    """Wait until standalone is healthy and has parsed dag_ids; log the API in; the admin's password."""
    def healthy():
        health = api.call("GET", "/api/v2/monitor/health")
        return all(health[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "dag_processor"))

    api.wait("a healthy api-server, scheduler and dag-processor", healthy, 240, proc, log)
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    api.token = api.call("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]
    for dag_id in dag_ids:
        api.wait(f"{dag_id} to be parsed", lambda d=dag_id: api.call("GET", f"/api/v2/dags/{d}")["dag_id"],
                 180, proc, log)
    return password


@pytest.fixture
def standalone(tmp_path, settings):
    with launch(tmp_path, settings) as running:
        yield running


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_trigger_the_rebuild_through_the_rest_api(standalone, settings, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    api, proc, log, home = standalone
    videos = with_status(sample_slice[:36], 6, "private")
    public = sorted(v.video_id for v in videos if v.status == "public")
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(videos)

    log_in(api, proc, log, home)
    assert api.call("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})["is_paused"] is False

    run = api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns",
                   {"logical_date": LOGICAL.isoformat(), "conf": {"shards": 3, "batch_size": 8}})
    run_id = run["dag_run_id"]
    assert run["conf"] == {"shards": 3, "batch_size": 8}

    def finished():
        state = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        return state if state in ("success", "failed") else None

    state = api.wait(f"run {run_id} to finish", finished, 480, proc, log)
    tasks = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    summary = sorted((t["task_id"], t["map_index"], t["state"]) for t in tasks)
    assert state == "success", f"{summary}\n{tail(log)}"
    assert [t for t in summary if t[0] == "load_shard"] == [("load_shard", i, "success") for i in range(3)]
    # Its logical time is days old: the run passed its deadline (the default 6 h) as it began, and the
    # scheduler raised the alert (the triggerer ran rebuild_deadline_missed), `dags test` or not.
    from vidvec.ui.state import read_alerts

    (alert,) = api.wait("the deadline alert", lambda: [a for a in read_alerts(settings.home)
                                                       if a.get("run_id") == run_id], 120, proc, log)
    assert alert["kind"] == "deadline_missed" and "at its deadline 2026-11-29 09:00:00" in alert["message"]
    stop_standalone(proc)  # releases the embedded store before this process opens it

    with open_store(settings) as store:
        mine = [c for c in store.collections() if c.metadata.get("run_id") == run_id]
        assert len(mine) == 1, [(c.name, c.metadata) for c in store.collections()]
        collection = mine[0]
        assert collection.name.endswith("__20261129T030000Z")
        assert collection.metadata["t0"] == LOGICAL.isoformat() and collection.metadata["state"] == "ready"
        points = [vid for batch in store.scroll(collection.name) for vid, _, _ in batch]
    assert sorted(points) == public
