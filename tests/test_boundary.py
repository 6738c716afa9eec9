"""The CLI's error boundary (vidvec.boundary.explain): every branch, each with a real exception of the kind it names.

Each exception is raised by the library that raises it in use (a refused
connection, a held file, a real retry running out), not built by hand where
the library can produce it; Google's status errors come from api_core's own
factory, as its clients build them from a response.
"""

import http.server
import os
import socket
import sqlite3
import subprocess
import sys
import threading

import pytest

from vidvec.boundary import explain


def raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the exception is the point
        return exc
    raise AssertionError(f"{call} raised nothing")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def status_server():
    """An HTTP server answering every request with 503 (an overloaded Qdrant behind a proxy)."""

    class Busy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_vidvec_error_is_its_own_message(settings):
    from vidvec.errors import NotFound
    from vidvec.store import open_store

    with open_store(settings) as store:
        exc = raised(lambda: store.resolve("nope"))
    assert isinstance(exc, NotFound) and explain(exc) == str(exc) == "no alias or collection named 'nope'"


def test_a_usage_error_names_the_command_help():
    from vidvec.cli import app

    exc = raised(lambda: app(["collections", "--kk", "3"], standalone_mode=False))
    assert explain(exc).startswith("No such option: --kk") and explain(exc).endswith(" collections --help)")


def test_a_path_that_cannot_be_used(tmp_path):
    exc = raised(lambda: open(tmp_path / "missing" / "x.csv"))
    assert explain(exc) == f"No such file or directory: {tmp_path / 'missing' / 'x.csv'} " \
                           "(check VIDVEC_HOME and the paths given)"


def test_the_event_log_cannot_be_opened(tmp_path):
    exc = raised(lambda: sqlite3.connect(str(tmp_path / "no" / "events.sqlite")).execute("SELECT 1"))
    assert isinstance(exc, sqlite3.OperationalError)
    assert explain(exc).startswith("cannot use the local event log: unable to open database file")


def test_an_unreachable_qdrant_server_over_rest_and_grpc(monkeypatch):
    from qdrant_client import QdrantClient

    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("VIDVEC_QDRANT_URL", url)
    rest = raised(lambda: QdrantClient(url=url, prefer_grpc=False, timeout=5).get_collections())
    assert explain(rest) == (f"the Qdrant server at {url} cannot be reached (ResponseHandlingException): "
                             "start it, or fix VIDVEC_QDRANT_URL (unset = embedded)")
    grpc_port = closed_port()
    grpc = raised(lambda: QdrantClient(host="127.0.0.1", grpc_port=grpc_port, prefer_grpc=True,
                                       timeout=5).get_collections())
    assert explain(grpc).startswith(f"the Qdrant server at {url} cannot be reached (UNAVAILABLE)")
    monkeypatch.delenv("VIDVEC_QDRANT_URL")
    assert explain(rest).startswith("the vector store cannot be reached")


def test_a_qdrant_server_answering_503_is_unreachable_and_a_404_is_not(status_server):
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    busy = raised(lambda: QdrantClient(url=status_server, prefer_grpc=False, timeout=5).get_collections())
    assert isinstance(busy, UnexpectedResponse) and busy.status_code == 503
    assert "cannot be reached (UnexpectedResponse)" in explain(busy)


def test_the_catalog_file_held_by_another_process_or_missing(tmp_path):
    import duckdb

    path = tmp_path / "vidvec.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        held = raised(lambda: duckdb.connect(str(path), read_only=True))
    finally:
        holder.kill()
        holder.wait()
    assert isinstance(held, duckdb.IOException)
    assert explain(held).startswith("cannot open the catalog file: ")
    assert explain(held).endswith("(another process holds it: a sidecar or a DAG task?)")
    missing = raised(lambda: duckdb.connect(str(tmp_path / "no" / "x.duckdb")))
    assert isinstance(missing, duckdb.IOException) and explain(missing).endswith("(check VIDVEC_CATALOG_PATH)")


@pytest.mark.parametrize("status", [503, 429, 500, "DEADLINE_EXCEEDED"])
def test_a_transient_google_api_error(status):
    """The retryable tuple (RETRYABLE_OTHER) joined with more classes: this branch once raised a TypeError."""
    import grpc
    from google.api_core import exceptions as gexc

    from vidvec.stream.retry import RETRYABLE_OTHER

    exc = (gexc.from_grpc_status(getattr(grpc.StatusCode, status), "backend busy") if isinstance(status, str)
           else gexc.from_http_status(status, "backend busy"))
    assert isinstance(exc, RETRYABLE_OTHER)
    code = 504 if isinstance(status, str) else status
    assert explain(exc).startswith(f"a Google Cloud API cannot be reached: {code} backend busy: check VIDVEC_")


def test_a_google_retry_that_ran_out_and_a_refused_connection():
    import requests
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry, if_exception_type

    def busy():
        raise gexc.ServiceUnavailable("busy")

    retry = Retry(predicate=if_exception_type(gexc.ServiceUnavailable), initial=0.01, maximum=0.01, timeout=0.05)
    ran_out = raised(lambda: retry(busy)())
    assert isinstance(ran_out, gexc.RetryError)
    assert explain(ran_out).startswith("a Google Cloud API cannot be reached: Timeout of ")
    refused = raised(lambda: requests.get(f"http://127.0.0.1:{closed_port()}/bigquery/v2", timeout=5))
    assert isinstance(refused, requests.ConnectionError)
    assert explain(refused).startswith("a Google Cloud API cannot be reached: ")


def test_refused_google_credentials(tmp_path, monkeypatch):
    import google.auth
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import DefaultCredentialsError

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "key.json"))
    no_key = raised(google.auth.default)
    assert isinstance(no_key, DefaultCredentialsError)
    assert explain(no_key).startswith("Google Cloud refused the credentials: File ")
    for status in (401, 403):
        assert explain(gexc.from_http_status(status, "nope")) == f"Google Cloud refused the credentials: {status} nope"


def test_a_bug_keeps_its_traceback():
    for exc in (raised(lambda: {}["k"]), raised(lambda: 1 / 0), raised(lambda: int("x")), RuntimeError("edge")):
        assert explain(exc) is None


def test_a_damaged_file_is_a_vidvec_error_naming_it(settings):
    from vidvec.errors import DamagedFile
    from vidvec.store import open_store

    aliases = settings.edge_dir / "aliases.json"
    aliases.parent.mkdir(parents=True)
    aliases.write_text('{"videos": ')
    exc = raised(lambda: open_store(settings).__enter__())
    assert isinstance(exc, DamagedFile)
    assert explain(exc).startswith(f"{aliases} is not valid JSON (Expecting value: line 1 column 12")
    assert os.path.getsize(aliases) == 11
