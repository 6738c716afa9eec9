"""The embedded default streams and serves at once: reads go through the sidecar holding the store.

A real `vidvec sidecar` process holds a real Edge store (and the DuckDB
file); `vidvec similar` / `vidvec collections` from another process give the
answers and errors they give without it, a write is refused in one line
naming the holder, an upload is served within seconds, and callers other than
loopback are refused unless they bring the token set on the sidecar.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.conftest import build_live
from tests.stream.conftest import free_port, wait_for
from tests.test_cli import VIDVEC, run

TOKEN = "a-read-token-of-some-length"


def queries(videos) -> list[list[str]]:
    """`vidvec similar` invocations covering every query option, and errors."""
    fr = next(v for v in videos if v.language == "fr")
    other = next(v for v in videos if v.owner_id != fr.owner_id)
    ask = [fr.video_id]
    return [
        [*ask, "--json"], ask, [*ask, "--k", "5", "--json", "--language", "fr"],
        [*ask, "--json", "--category", fr.category, "--category", other.category, "--other-owners"],
        [*ask, "--json", "--exclude-owner", other.owner_id, "--min-score", "0.3", "--k", "20"],
        [*ask, "--json", "--published-after", "2015-01-01", "--published-before", "2030-01-01T00:00:00+00:00"],
        [*ask, "--json", "--not", other.video_id, "--strategy", "average_vector"],
        [*ask, "--json", "--not", other.video_id, "--min-score", "0.1"],
        [*ask, "--json", "--diverse", "0.5", "--candidates", "30"], [*ask, "--json", "--max-per-owner", "1"],
        [*ask, "--alias", "videos", "--json"],
        ["noSuchVideo"], [*ask, "--alias", "nope"], [*ask, "--k", "0"], ["bad id!"],
        [*ask, "--not", fr.video_id],
    ]


def outputs(home, videos) -> list[tuple]:
    runs = [run("similar", *args, home=home) for args in queries(videos)]
    runs += [run("collections", home=home), run("collections", "--json", home=home)]
    return [(d.returncode, d.stdout, d.stderr) for d in runs]


@pytest.fixture
def sidecar(settings):
    """`vidvec sidecar` in its own process, holding the store; yields (pid, its read URL)."""
    env = os.environ | {"VIDVEC_HOME": str(settings.home), "VIDVEC_SIDECAR_HTTP_PORT": str(free_port()),
                        "VIDVEC_SIDECAR_READ_TOKEN": TOKEN, "VIDVEC_SIDECAR_MAX_BATCH_SECONDS": "0.05"}
    log = open(settings.home / "sidecar.log", "w")
    proc = subprocess.Popen([VIDVEC, "sidecar"], env=env, stdout=log, stderr=subprocess.STDOUT)
    holder = settings.edge_dir / "HOLDER.json"
    try:
        assert wait_for(lambda: holder.exists() or proc.poll() is not None, timeout=120), "no HOLDER.json"
        assert proc.poll() is None, (settings.home / "sidecar.log").read_text()
        yield proc.pid, json.loads(holder.read_text())["url"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert not holder.exists()  # withdrawn as it let go of the store


def test_similar_and_collections_answer_the_same_through_the_sidecar(settings, sample_slice, embedder, request):
    build_live(settings, sample_slice, embedder)
    alone = outputs(settings.home, sample_slice)
    assert [rc for rc, _, _ in alone].count(0) == 13 and [rc for rc, _, _ in alone].count(2) == 5
    pid, _ = request.getfixturevalue("sidecar")
    held = outputs(settings.home, sample_slice)
    for args, without, through in zip([*queries(sample_slice), ["collections"], ["collections", "--json"]],
                                      alone, held, strict=True):
        assert through == without, args

    refused = run("promote", "videos", home=settings.home)  # a write: one line naming the holder
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert f"in use by PID {pid} (vidvec sidecar, serving reads at http://127.0.0.1:" in refused.stderr
    assert "to write, stop it (SIGTERM" in refused.stderr


def test_an_upload_is_served_within_seconds_while_the_sidecar_streams(settings, sample_slice, embedder, request):
    build_live(settings, sample_slice, embedder)
    request.getfixturevalue("sidecar")
    title = sample_slice[0].title + " (re-upload)"
    published = run("events", "publish", "--video-id", "newUpload1", "--title", title, home=settings.home)
    assert published.returncode == 0, published.stderr

    def served():
        done = run("similar", "newUpload1", "--json", "--k", "3", home=settings.home)
        return done.returncode == 0 and json.loads(done.stdout)
    assert wait_for(served, timeout=60, every=0.5)
    hits = served()["hits"]
    assert hits[0]["video_id"] == sample_slice[0].video_id  # its nearest neighbour: the original


def non_loopback_address() -> str | None:
    """This machine's IPv4 address on its default route (the port listens on 0.0.0.0, IPv4)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("198.51.100.1", 9))  # no packet is sent: the kernel only picks the source address
            host = s.getsockname()[0]
    except OSError:
        return None
    return None if host.startswith("127.") else host


def get(url: str, token: str | None = None) -> tuple[int, dict | bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        response = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        body = response.read()
        return response.status, json.loads(body) if response.headers.get_content_type() == "application/json" else body


def test_reads_answer_loopback_and_others_only_with_the_token(settings, sample_slice, embedder, request):
    build_live(settings, sample_slice, embedder)
    _, url = request.getfixturevalue("sidecar")
    port = url.rsplit(":", 1)[1]
    assert get(f"{url}/v1/collections")[0] == 200
    host = non_loopback_address()
    if host is None:
        pytest.skip("this machine has no address but loopback")
    remote = f"http://{host}:{port}"
    assert get(f"{remote}/livez")[0] == 200  # probes answer everyone (0.0.0.0)
    status, body = get(f"{remote}/v1/collections")
    assert status == 403 and "VIDVEC_SIDECAR_READ_TOKEN" in body["error"]
    assert get(f"{remote}/v1/collections", token="wrong-token-of-some-length")[0] == 403
    status, body = get(f"{remote}/v1/similar?video_id={sample_slice[0].video_id}&k=2", token=TOKEN)
    assert status == 200 and len(body["answer"]["hits"]) == 2
    post = urllib.request.Request(f"{url}/v1/similar", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:  # nothing but GET: no write
        urllib.request.urlopen(post, timeout=10)
    assert refused.value.code == 501


def test_the_vidvec_page_reads_live_through_the_sidecar(settings, sample_slice, embedder, request):
    from fastapi.testclient import TestClient

    from vidvec.store import open_store
    from vidvec.ui.page import create_app
    from vidvec.ui.state import load_space, write_state

    name = build_live(settings, sample_slice, embedder)
    with open_store(settings) as store:
        points = store.count(name)
    write_state(settings.home, {"written_at": "2026-01-01T00:00:00+00:00", "written_by": "old", "collections": []})
    pid, _ = request.getfixturevalue("sidecar")
    state = load_space(settings)
    assert state["live"] is True and state["written_by"] == f"vidvec sidecar (PID {pid})"
    (collection,) = state["collections"]
    assert collection["name"] == name and collection["points"] == points
    html = TestClient(create_app(load=lambda: load_space(settings), home=settings.home)).get("/").text
    assert f"through\n <code>vidvec sidecar (PID {pid})</code>, which holds the embedded store" in html
