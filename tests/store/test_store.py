"""The store interface on every engine (tests/store/conftest.py), reading points back."""

from datetime import datetime, timezone

import numpy as np
import pytest

from tests.store.helpers import payload_index_keys
from vidvec.core.ids import point_id
from vidvec.core.points import payload, tombstone
from vidvec.core.types import PointToWrite, to_micros
from vidvec.errors import NotFound, VidvecError
from vidvec.store import CollectionSpec, VectorStore

SPEC = CollectionSpec(dim=8)
INDEXED = {"video_id", "language", "owner_id", "category", "status", "published_at", "updated_at"}


def vec(i: int) -> list[float]:
    v = np.zeros(8, dtype=np.float32)
    v[i % 8] = 1.0
    v[(i + 1) % 8] = 0.5
    return v.tolist()


def point(video_id: str, updated: int, i: int = 0, **extra) -> PointToWrite:
    body = {"video_id": video_id, "status": "public", "language": "en", "updated_at": updated} | extra
    return PointToWrite(video_id, vec(i), body)


def test_every_engine_is_a_vector_store(store):
    assert isinstance(store, VectorStore)
    caps = store.capabilities
    assert caps.label == f"{caps.engine} {'exact' if caps.exact else 'hnsw'}"


def test_create_sets_metadata_indexes_and_is_retry_safe(store):
    store.create_collection("c1", SPEC, {"state": "building", "family": "f"})
    store.create_collection("c1", SPEC, {"state": "other"})  # a retried task
    assert store.metadata("c1") == {"state": "building", "family": "f"}
    assert payload_index_keys(store, "c1") == (INDEXED if store.capabilities.payload_indexes else set())
    store.update_metadata("c1", state="ready")
    assert store.metadata("c1") == {"state": "ready", "family": "f"}  # merged, not replaced
    assert store.exists("c1") and not store.exists("c2")


def test_insert_only_never_overwrites(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", 200, i=1)], dim=8)  # the stream, after T0
    store.insert_only("c", [point("a", 100, i=2), point("b", 100, i=3)], dim=8)
    got = store.get_points("c", ["a", "b"], with_vectors=True)
    assert got["a"]["payload"]["updated_at"] == 200
    assert np.allclose(got["a"]["vector"], np.array(vec(1)) / np.linalg.norm(vec(1)))
    assert got["b"]["payload"]["updated_at"] == 100


def test_conditional_writes_keep_the_newest_per_point(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", 100), point("b", 300)], dim=8)
    store.write_if_newer("c", [point("a", 200, lang="x"), point("b", 250, lang="y"),
                               point("c", 1)], dim=8)
    got = store.get_points("c", ["a", "b", "c"])
    assert {k: v["payload"]["updated_at"] for k, v in got.items()} == {"a": 200, "b": 300, "c": 1}
    store.write_if_newer("c", [point("a", 200, lang="again")], dim=8)  # equal: a retry, no change
    assert store.get_points("c", ["a"])["a"]["payload"]["lang"] == "x"


def test_versions_one_microsecond_apart_are_told_apart(store):
    """Real versions are ~1.8e15 microseconds: the comparison must stay exact at that size."""
    t = to_micros(datetime(2026, 11, 29, 12, 0, 0, 1, tzinfo=timezone.utc))
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", t, tag="first")], dim=8)
    store.write_if_newer("c", [point("a", t, tag="same version")], dim=8)
    assert store.versions("c", ["a"]) == {"a": ("public", t)}
    assert store.get_points("c", ["a"])["a"]["payload"]["tag"] == "first"
    store.write_if_newer("c", [point("a", t + 1, tag="one microsecond later")], dim=8)
    assert store.versions("c", ["a"]) == {"a": ("public", t + 1)}
    store.delete_if_not_newer("c", {"a": t})  # planned before that write: the newer point survives
    assert store.count("c") == 1
    store.delete_if_not_newer("c", {"a": t + 1})
    assert store.count("c") == 0


def test_tombstones_hide_and_are_not_resurrected(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", 100, i=0), point("b", 100, i=0)], dim=8)
    store.write_if_newer("c", [tombstone("a", "deleted", 150), tombstone("z", "deleted", 150)], dim=8)
    store.write_if_newer("c", [point("a", 120), point("z", 149)], dim=8)  # late, older updates
    got = store.get_points("c", ["a", "z"])
    assert got["a"]["payload"]["status"] == "deleted" and got["z"]["payload"]["status"] == "deleted"
    assert [h.video_id for h in store.search("c", vec(0), k=10)] == ["b"]
    assert store.count("c") == 3 and store.count("c", public_only=True) == 1
    store.write_if_newer("c", [point("a", 151)], dim=8)  # re-published later
    assert store.count("c", public_only=True) == 2


def test_delete_if_not_newer_across_chunks(store):
    store.create_collection("c", CollectionSpec(dim=4), {})
    points = [PointToWrite(f"v{i}", [1.0, 0, 0, 0], {"video_id": f"v{i}", "status": "public", "updated_at": 100 + i})
              for i in range(20)]
    store.write_if_newer("c", points, dim=4)
    # Bounds: even ids at their version (go), odd ids one below it (a newer write: stays),
    # v18/v19 not asked at all (stay), and an id that is not there (nothing happens).
    bounds = {f"v{i}": 100 + i - (i % 2) for i in range(18)} | {"absent": 10**9}
    store.delete_if_not_newer("c", bounds, chunk=4)
    left = sorted(int(k[1:]) for k in store.get_points("c", [f"v{i}" for i in range(20)]))
    assert left == [i for i in range(20) if i % 2 or i >= 18]
    store.delete_if_not_newer("c", {})  # nothing to do is fine
    assert store.count("c") == len(left)
    store.delete_points("c", ["v1", "v3"])
    assert store.count("c") == len(left) - 2


def test_aliases_move_in_one_call_and_report_previous(store):
    for name in ("c1", "c2"):
        store.create_collection(name, SPEC, {})
    assert store.set_aliases({"videos": "c1"}) == {"videos": None}
    assert store.set_aliases({"videos": "c2", "videos__next": None}) == {"videos": "c1", "videos__next": None}
    assert store.aliases() == {"videos": "c2"}
    assert store.resolve("videos") == "c2" and store.resolve("c1") == "c1"
    with pytest.raises(NotFound):
        store.resolve("nope")
    with pytest.raises(NotFound):
        store.set_aliases({"videos": "missing"})
    with pytest.raises(VidvecError):
        store.set_aliases({"bad alias!": "c1"})
    with pytest.raises(VidvecError, match="that is an alias"):
        store.set_aliases({"other": "videos"})
    with pytest.raises(VidvecError, match="cannot take the name of collection 'c1'"):
        store.set_aliases({"c1": "c2"})
    assert store.aliases() == {"videos": "c2"}
    assert store.exists("videos") and store.metadata("videos") == store.metadata("c2")  # aliases resolve
    states = {s.name: s for s in store.collections()}
    assert states["c2"].aliases == ("videos",) and states["c1"].aliases == ()
    assert states["c1"].engine.startswith(store.capabilities.label)
    store.drop_collection("c1")
    assert not store.exists("c1") and [s.name for s in store.collections()] == ["c2"]


def test_similar_excludes_self_filters_language_and_status(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", 1, i=0, language="fr"), point("b", 1, i=0, language="en"),
                               point("c", 1, i=0, language="fr"), point("d", 1, i=4, language="fr"),
                               point("p", 1, i=0, language="fr", status="private")], dim=8)
    hits = store.similar("c", "a", k=10)
    assert [h.video_id for h in hits][:2] in (["b", "c"], ["c", "b"])
    assert "a" not in [h.video_id for h in hits] and "p" not in [h.video_id for h in hits]
    assert [h.video_id for h in store.similar("c", "a", k=10, language="fr")] == ["c", "d"]
    with pytest.raises(NotFound):
        store.similar("c", "zzz")
    with pytest.raises(VidvecError, match="k must be"):
        store.similar("c", "a", k=0)


def test_scroll_and_versions_cover_every_point(store):
    store.create_collection("c", SPEC, {})
    store.insert_only("c", [point(f"s{i}", 10 + i, i=i) for i in range(25)], dim=8)
    pages = list(store.scroll("c", batch=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = {vid: body["updated_at"] for page in pages for vid, body, vector in page}
    assert seen == {f"s{i}": 10 + i for i in range(25)}
    assert all(vector is None for page in pages for _, _, vector in page)
    with_vectors = [v for page in store.scroll("c", batch=100, with_vectors=True) for _, _, v in page]
    assert len(with_vectors) == 25 and all(len(v) == 8 for v in with_vectors)
    assert store.versions("c", ["s3", "nope"]) == {"s3": ("public", 13)}
    assert store.versions("c", []) == {} and store.get_points("c", []) == {}


def test_build_index_then_ready_and_index_state(store):
    store.create_collection("c", SPEC, {"state": "building"})
    store.insert_only("c", [point(f"r{i}", 1, i=i) for i in range(30)], dim=8)
    store.build_index("c", SPEC)
    store.wait_ready("c", timeout_s=60, poll_s=0.05)
    assert store.status("c") == ("green", "ok")
    index = store.index_state("c")
    assert index.points == 30 and index.engine == store.capabilities.label
    if store.capabilities.exact:
        assert index.describe() == store.capabilities.label and index.indexed_vectors is None
    else:
        assert (index.m, index.ef_construct, index.hnsw_ef) == (16, 100, 100)
        assert index.describe() == f"{store.capabilities.label} m=16 ef_construct=100 hnsw_ef=100"


def test_payload_from_a_catalog_row(sample_slice):
    v = sample_slice[0]
    body = payload(v, "m", "h")
    assert body["updated_at"] == to_micros(v.updated_at)
    assert {k for k, val in body.items() if val in (None, "")} == set()
    assert point_id(v.video_id)  # the id the store uses for it
    assert datetime.fromtimestamp(body["updated_at"] / 1e6, tz=timezone.utc) == v.updated_at


def test_at_one_version_a_tombstone_wins_and_the_write_says_what_it_wrote(store):
    """Issue 11 item 1: the tie rule of core/versions.py, on every engine, with honest results."""
    store.create_collection("c", SPEC, {})
    t = to_micros(datetime(2026, 11, 29, 12, tzinfo=timezone.utc))
    assert store.write_if_newer("c", [point(v, t, tag="first") for v in "abcde"], dim=8) == set("abcde")
    assert store.write_if_newer("c", [point(v, t, tag="again") for v in "abcde"], dim=8) == set()  # a retry
    got = store.write_if_newer("c", [tombstone("a", "private", t), tombstone("b", "deleted", t),
                                     tombstone("c", "private", t - 1), point("d", t + 1, tag="newer")], dim=8)
    assert got == {"a", "b", "d"}  # c: an older version, whatever its status
    assert store.write_if_newer("c", [tombstone("a", "deleted", t), tombstone("b", "private", t),
                                      point("a", t), point("b", t)], dim=8) == {"a"}  # private -> deleted only
    assert store.versions("c", list("abcd")) == {"a": ("deleted", t), "b": ("deleted", t), "c": ("public", t),
                                                 "d": ("public", t + 1)}
    assert store.get_points("c", ["c"])["c"]["payload"]["tag"] == "first"  # same version: content stays
    assert sorted(h.video_id for h in store.search("c", vec(0), k=10)) == ["c", "d", "e"]
    assert store.write_if_newer("c", [tombstone("e", "private", t), tombstone("e", "deleted", t)], dim=8) == {"e"}
    assert store.versions("c", ["e"]) == {"e": ("deleted", t)}


def test_similar_refuses_a_video_that_is_not_served(store):
    """Issue 11 item 2: a tombstone's placeholder vector is never a query."""
    from vidvec.errors import NotServed

    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point(v, 1, i=i) for i, v in enumerate("abcd")], dim=8)
    store.write_if_newer("c", [tombstone("b", "deleted", 2), tombstone("c", "private", 2),
                               tombstone("never", "deleted", 2)], dim=8)
    for video_id, status in (("b", "deleted"), ("c", "private"), ("never", "deleted")):
        with pytest.raises(NotServed, match=f"video '{video_id}' is {status} in 'c': not served"):
            store.similar("c", video_id)
    with pytest.raises(NotFound):  # NotServed is a NotFound: callers that skip unknown ids skip these too
        store.similar("c", "b")
    assert [h.video_id for h in store.similar("c", "a", k=10)] == ["d"]


def test_foreign_points_are_visible_by_raw_id_never_served_as_vidvec_and_deletable(store):
    """Issue 11 items 5 and 6: points vidvec did not write, at other ids, with any payload."""
    from tests.store.helpers import write_raw

    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point(v, 1, i=0) for v in ("a", "b")] + [tombstone("z", "deleted", 1)], dim=8)
    foreign = [(7, vec(0), {"status": "public", "title": "no video_id"}),
               ("2f1c0b7e-9a4d-4c3e-8b2a-1d0e9f8c7b6a", vec(0), {"video_id": "a", "status": "public",
                                                                 "updated_at": 1}),  # a duplicate of a
               ("0b7e2f1c-4d9a-4e3c-8a2b-0e9f1d8c7b6a", vec(0), {"video_id": "b c", "status": "public"})]
    write_raw(store, "c", foreign)
    pages = list(store.scroll_points("c", batch=2))
    seen = {p.id: p.video_id for page in pages for p in page}
    assert seen == {point_id(v): v for v in ("a", "b", "z")} | {7: None, foreign[1][0]: "a", foreign[2][0]: "b c"}
    assert [len(p) for p in pages] == [2, 2, 2]
    assert store.count("c", public_only=True) == 4  # public points naming a video, whoever wrote them
    assert store.count_served("c") == 2  # at vidvec's id: a and b
    hits = store.similar("c", "b", k=10)  # the duplicate of a is served, but nothing without a video_id
    assert sorted(h.video_id for h in hits) == ["a", "a", "b c"]
    assert "a" not in [h.video_id for h in store.similar("c", "a", k=10)]  # nor the query's own duplicate
    store.delete_ids("c", [7, foreign[1][0]])
    assert {p.id for page in store.scroll_points("c") for p in page} == {
        point_id(v) for v in ("a", "b", "z")} | {foreign[2][0]}
    assert [p.payload for page in store.scroll_points("c", fields=["status"]) for p in page if p.id == 7] == []
    assert {p.payload.get("status") for page in store.scroll_points("c", fields=["status"]) for p in page} == {
        "public", "deleted"} and all(set(p.payload) <= {"status"} for pg in store.scroll_points(
            "c", fields=["status"]) for p in pg)


def test_conditional_purge_returns_what_it_deleted(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point(v, 10) for v in "abc"], dim=8)
    assert store.delete_if_not_newer("c", {"a": 10, "b": 9, "absent": 99}) == {"a"}
    assert store.delete_if_not_newer("c", {}) == set()
    assert sorted(store.versions("c", list("abc"))) == ["b", "c"]


def test_the_update_filter_alone_enforces_the_rule(store):
    """A server decides with each point's update_filter even when a racing writer beats the pre-read."""
    if store.capabilities.engine == "qdrant-edge":
        pytest.skip("Edge never receives a conditional operation (decided under its lock)")
    from qdrant_client import models

    from tests.core.test_versions import TIES
    from vidvec.core.versions import replace_bound
    from vidvec.store.qdrant import _version

    store.create_collection("c", SPEC, {})
    cases = {f"t{i}": case for i, case in enumerate(TIES)}
    store.write_if_newer("c", [tombstone(v, old[0], old[1]) if old[0] != "public" else point(v, old[1])
                               for v, (_, old, _) in cases.items()], dim=8)
    racing = {v: tombstone(v, new[0], new[1]) if new[0] != "public" else point(v, new[1], tag="new")
              for v, (new, _, _) in cases.items()}
    store.client.batch_update_points("c", [models.UpsertOperation(upsert=models.PointsList(
        points=[store._point(p, 8)], update_filter=_version(replace_bound(p)))) for p in racing.values()],
        wait=True)
    got = store.versions("c", list(cases))
    assert {v: got[v] == (new[0], new[1]) for v, (new, _, _) in cases.items()} == {
        v: lands or new == old for v, (new, old, lands) in cases.items()}
