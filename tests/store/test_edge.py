"""What vidvec adds around Qdrant Edge: the lock, atomic alias and record files, the index
build, vacuum, snapshots and restore, and no acknowledged write lost to kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.store.helpers import edge_info
from vidvec.core.types import PointToWrite
from vidvec.errors import StoreInUse, VidvecError
from vidvec.store import CollectionSpec
from vidvec.store.edge import EdgeStore

VIDVEC = str(Path(sys.executable).parent / "vidvec")
SPEC = CollectionSpec(dim=512)  # 2 KB a vector: 600 of them pass the 1000 KB indexing threshold


def unit_points(n: int, start: int = 0, version: int = 1, seed: int = 0) -> list[PointToWrite]:
    rng = np.random.default_rng(seed)
    return [PointToWrite(f"p{i}", rng.standard_normal(512).tolist(),
                         {"video_id": f"p{i}", "status": "public", "language": ("en", "fr")[i % 2],
                          "updated_at": version}) for i in range(start, start + n)]


@pytest.fixture
def edge(tmp_path):
    store = EdgeStore(tmp_path / "edge")
    yield store
    store.close()


def test_a_second_process_gets_one_line_naming_the_holder(edge, tmp_path):
    env = os.environ | {"VIDVEC_HOME": str(tmp_path)}
    done = subprocess.run([VIDVEC, "collections"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()  # what holds it (its command line) and what to do
    assert line.startswith(f"error: vector store {tmp_path / 'edge'} is in use by PID {os.getpid()} (")
    assert "pytest" in line and line.endswith("; the embedded store admits one process at a time: wait for it "
                                              "to finish, or stop it")
    with pytest.raises(StoreInUse, match="this process"):
        EdgeStore(tmp_path / "edge")
    edge.close()
    assert subprocess.run([VIDVEC, "collections"], capture_output=True, text=True, env=env,
                          timeout=120).stdout.strip() == "no collections"


def test_aliases_are_one_atomic_file_a_failed_replace_changes_nothing(edge, monkeypatch):
    for name in ("c1", "c2"):
        edge.create_collection(name, SPEC, {})
    edge.set_aliases({"videos": "c1", "videos__next": "c2"})
    path = edge.home.root / "aliases.json"
    assert json.loads(path.read_text()) == {"videos": "c1", "videos__next": "c2"}

    def crash(*_):
        raise OSError("disk gone")  # the process dies before the rename: the old file stays

    monkeypatch.setattr("vidvec.store.edge_files.os.replace", crash)
    with pytest.raises(OSError):
        edge.set_aliases({"videos": "c2", "videos__next": None})
    monkeypatch.undo()
    assert edge.aliases() == {"videos": "c1", "videos__next": "c2"}
    assert json.loads(path.read_text()) == {"videos": "c1", "videos__next": "c2"}
    assert list(edge.home.root.glob(".aliases.json.*.tmp"))  # the half-written temporary
    edge.close()
    reopened = EdgeStore(edge.home.root)
    try:
        assert reopened.aliases() == {"videos": "c1", "videos__next": "c2"}
        assert not list(reopened.home.root.glob(".aliases.json.*.tmp"))  # swept on open
    finally:
        reopened.close()


def test_a_create_that_crashed_before_its_record_is_redone(edge):
    leftover = edge.home.shard_dir("x")
    leftover.mkdir(parents=True)
    (leftover / "junk").write_text("half a shard")
    assert not edge.exists("x")
    edge.create_collection("x", CollectionSpec(dim=4), {"state": "building"})
    edge.insert_only("x", [PointToWrite("a", [1.0, 0, 0, 0], {"video_id": "a", "status": "public",
                                                              "updated_at": 1})], dim=4)
    assert edge.metadata("x") == {"state": "building"} and edge.count("x") == 1


def test_payload_indexes_exist_before_the_first_point_and_hnsw_waits_for_the_build(edge):
    edge.create_collection("c", SPEC, {})
    info = edge_info(edge, "c")
    assert info.points_count == 0
    assert set(info.payload_schema) == {"video_id", "language", "owner_id", "category", "status",
                                        "published_at", "updated_at"}
    edge.insert_only("c", unit_points(600), dim=512)
    assert edge.index_state("c").m == 0 and edge.index_state("c").indexed_vectors == 0
    assert edge.status("c") == ("yellow", "HNSW not built: 600 vectors unindexed until build_index")
    edge.build_index("c", SPEC)
    info = edge_info(edge, "c")
    assert info.indexed_vectors_count == info.points_count == 600  # every vector is in the graph
    assert edge.status("c") == ("green", "ok")
    edge.close()
    reopened = EdgeStore(edge.home.root)  # the index and its settings persist
    try:
        state = reopened.index_state("c")
        assert (state.m, state.indexed_vectors, state.points) == (16, 600, 600)
    finally:
        reopened.close()


def test_only_filtered_fields_get_hnsw_links_and_vectors_are_mapped_from_disk(edge):
    """Links for every payload index cost 1.8x the build CPU (BENCHMARKS.md, Scale); in-RAM vectors
    would be read whole into every task's process that opens the shard."""
    from vidvec.store.base import FILTERED_FIELDS

    edge.create_collection("c", SPEC, {})
    schema = edge_info(edge, "c").payload_schema
    linked = {k for k, v in schema.items() if v.params.enable_hnsw}
    assert linked == set(FILTERED_FIELDS) == {"language", "status", "category"}
    config = json.loads((edge.home.shard_dir("c") / "edge_config.json").read_text())
    assert config["vectors"][""]["on_disk"] is True
    edge.create_collection("ram", CollectionSpec(dim=512, on_disk=False), {})  # asked for: in RAM
    assert json.loads((edge.home.shard_dir("ram") / "edge_config.json").read_text())["vectors"][""]["on_disk"] is False


def test_writes_after_the_build_make_an_optimization_pending_and_wait_ready_runs_it(edge):
    edge.create_collection("c", SPEC, {})
    edge.insert_only("c", unit_points(600), dim=512)
    edge.build_index("c", SPEC)
    edge.write_if_newer("c", unit_points(200, start=600), dim=512)  # 400 KB unindexed: still ready
    assert edge.status("c") == ("green", "ok")
    edge.write_if_newer("c", unit_points(400, start=800), dim=512)
    assert edge.status("c") == ("yellow", "optimization pending: 600 of 1200 vectors unindexed")
    edge.wait_ready("c")
    assert edge.status("c") == ("green", "ok") and edge_info(edge, "c").indexed_vectors_count == 1200


def test_vacuum_rewrites_deleted_points_and_keeps_the_index(edge):
    edge.create_collection("c", SPEC, {})
    edge.insert_only("c", unit_points(1500), dim=512)
    edge.build_index("c", SPEC)
    edge.delete_points("c", [f"p{i}" for i in range(0, 1500, 3)])
    assert edge_info(edge, "c").indexed_vectors_count == 1500  # deleted points still in the segment
    done = edge.vacuum("c", deleted_threshold=0.01)
    assert done["applied"] and done["optimized"] and done["segments"] >= 1
    info = edge_info(edge, "c")
    assert info.points_count == info.indexed_vectors_count == 1000  # rewritten, still in an HNSW graph
    assert edge.index_state("c").m == 16


def test_fsync_writes_flushes_after_every_write(tmp_path):
    class Counting:
        def __init__(self, shard):
            self.shard, self.flushes = shard, 0

        def flush(self):
            self.flushes += 1
            self.shard.flush()

        def __getattr__(self, name):
            return getattr(self.shard, name)

    for fsync, want in ((True, 3), (False, 0)):
        store = EdgeStore(tmp_path / f"edge-{fsync}", fsync_writes=fsync)
        try:
            store.create_collection("c", CollectionSpec(dim=512), {})
            counting = store._shards["c"] = Counting(store._shard("c"))
            store.write_if_newer("c", unit_points(600), dim=512)  # three chunks of <= 256
            assert counting.flushes == want and store.count("c") == 600
        finally:
            store.close()


def test_a_snapshot_restores_as_a_new_collection(edge, tmp_path):
    edge.create_collection("c", SPEC, {"state": "ready", "family": "f"})
    edge.insert_only("c", unit_points(40), dim=512)
    edge.set_aliases({"videos": "c"})
    snap = edge.snapshot("videos")
    assert snap["created"] and Path(snap["location"]).is_file() and snap["size"] > 0
    edge.write_if_newer("c", unit_points(5, start=40), dim=512)  # after the snapshot
    before = edge.get_points("c", [f"p{i}" for i in range(40)], with_vectors=True)
    done = edge.restore_snapshot(snap["location"], "c_restored")
    assert done["points"] == 40 and done["from"] == "c"
    assert edge.count("c_restored") == 40 and edge.count("c") == 45
    assert edge.metadata("c_restored") == {"state": "ready", "family": "f"}
    restored = edge.get_points("c_restored", list(before), with_vectors=True)
    assert {k: v["payload"] for k, v in restored.items()} == {k: v["payload"] for k, v in before.items()}
    assert all(np.allclose(restored[k]["vector"], before[k]["vector"]) for k in before)
    assert edge.aliases() == {"videos": "c"}  # restoring moves no alias
    edge.insert_only("c_restored", unit_points(2, start=90), dim=512)  # a live collection like any other
    assert edge.count("c_restored") == 42
    with pytest.raises(VidvecError, match="exists"):
        edge.restore_snapshot(snap["location"], "c")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(VidvecError, match="not a readable snapshot"):
        edge.restore_snapshot(str(junk), "c_junk")
    assert not edge.exists("c_junk")


def test_only_the_newest_snapshots_are_kept(edge):
    edge.create_collection("c", CollectionSpec(dim=4), {})
    taken = [edge.snapshot("c") for _ in range(5)]
    assert taken[3]["pruned"] == [taken[0]["name"]] and taken[4]["pruned"] == [taken[1]["name"]]
    assert sorted(p.name for p in (edge.home.snapshots_dir / "c").iterdir()) == [t["name"] for t in taken[2:]]


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_acknowledged_write(tmp_path):
    """A writer subprocess is SIGKILLed at random moments (writes, index builds, vacuums) and
    restarted; afterwards every acknowledged point is there, at its acknowledged version or newer."""
    root, rng = tmp_path / "edge", random.Random(20261201)
    acked: dict[str, int] = {}
    tried: dict[str, set[int]] = defaultdict(set)
    for round_ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "tests.store.edge_writer", str(root), str(round_)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        acks = [0]

        def read(out=proc.stdout, acks=acks):
            for line in out:
                kind, vid, version = line.split()
                if kind == "try":
                    tried[vid].add(int(version))
                else:
                    acked[vid] = max(acked.get(vid, 0), int(version))
                    acks[0] += 1

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 120
        while acks[0] < 200 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(rng.uniform(0, 0.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        reader.join(30)
        proc.stderr.close()
    store = EdgeStore(root)
    try:
        stored = store.versions("c", list(tried))
        assert store.count("c") == len(stored)
    finally:
        store.close()
    assert len(acked) > 300
    lost = {vid: v for vid, v in acked.items() if vid not in stored or stored[vid][1] < v}
    assert lost == {}
    assert all(version in tried[vid] for vid, (_, version) in stored.items())  # nothing invented
