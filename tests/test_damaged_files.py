"""A damaged file vidvec owns: one line naming it, what is wrong and what to do, exit 2, the file untouched.

Run as a user runs vidvec (the console script in a subprocess) on a real
Edge store and event log, each file truncated as a full disk or a bad copy
leaves it.
"""

import pytest

from tests.conftest import build_live
from tests.test_cli import run


def truncate(path, keep: float = 0.5) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path.read_bytes()


def refused(done, path, wrong: str, todo: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith(f"error: {path} {wrong}") and todo in lines[0], lines[0]


@pytest.fixture
def live(settings, sample_slice, embedder):
    name = build_live(settings, sample_slice, embedder)
    return name, sample_slice[0].video_id


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_a_damaged_alias_file(settings, live, keep):
    _, video = live
    path = settings.edge_dir / "aliases.json"
    original = path.read_bytes()
    damaged = truncate(path, keep)
    wrong = "is not valid JSON" if keep else "is empty (0 bytes)"
    for args in (["similar", video], ["collections"], ["promote", live[0]]):
        refused(run(*args, home=settings.home), path, wrong, "or delete it to drop every alias")
        assert path.read_bytes() == damaged  # never rewritten behind the user's back
    path.write_bytes(original)
    assert run("similar", video, home=settings.home).returncode == 0


def test_an_alias_file_of_the_wrong_shape(settings, live):
    path = settings.edge_dir / "aliases.json"
    path.write_text('["videos"]')
    refused(run("collections", home=settings.home), path, "is JSON but not an object of alias -> collection name",
            "delete it")
    assert path.read_text() == '["videos"]'


def test_a_damaged_collection_record(settings, live):
    name, video = live
    path = settings.edge_dir / "collections" / name / "collection.json"
    original = path.read_bytes()
    damaged = truncate(path)
    for args in (["similar", video], ["collections"]):
        refused(run(*args, home=settings.home), path, "is not valid JSON",
                f"or move its directory out of {path.parent.parent} to open the store without that collection")
        assert path.read_bytes() == damaged
    path.write_text('{"metadata": {}, "spec": {"dim": 512, "hnsw_mm": 3}}')
    refused(run("collections", home=settings.home), path, "holds an invalid spec", "repair it")
    path.write_bytes(original)
    assert run("collections", home=settings.home).returncode == 0


def test_a_damaged_event_log(settings):
    from vidvec.stream.local import LocalLog
    from vidvec.stream.settings import load_sidecar_settings

    path = load_sidecar_settings().log_file(settings.home)
    log = LocalLog(path)
    log.publish(b'{"video_id": "v%d", "op": "delete", "updated_at": "2026-01-01T00:00:00Z"}' % i for i in range(3000))
    log.close()
    damaged = truncate(path)
    todo = "move it away to start an empty log"
    publish = ["events", "publish", "--video-id", "v1", "--op", "delete"]
    refused(run(*publish, home=settings.home), path, "is not a readable SQLite database", todo)
    refused(run("sidecar", "--drain", home=settings.home), path, "is not a readable SQLite database", todo)
    assert path.read_bytes() == damaged
    path.write_bytes(b"")
    refused(run(*publish, home=settings.home), path, "is empty (0 bytes)", todo)
    assert path.read_bytes() == b""
    path.unlink()  # what the message says to do: a new log starts
    assert run(*publish, home=settings.home).returncode == 0
