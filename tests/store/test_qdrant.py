"""The store on real qdrant-client local mode, reading points back."""

from datetime import datetime, timezone

import numpy as np
import pytest

from vidvec.core.ids import point_id
from vidvec.core.points import payload, tombstone
from vidvec.core.types import PointToWrite, to_micros
from vidvec.errors import NotFound, VidvecError
from vidvec.store import CollectionSpec

SPEC = CollectionSpec(dim=8)


def vec(i: int) -> list[float]:
    v = np.zeros(8, dtype=np.float32)
    v[i % 8] = 1.0
    v[(i + 1) % 8] = 0.5
    return v.tolist()


def point(video_id: str, updated: int, i: int = 0, **extra) -> PointToWrite:
    body = {"video_id": video_id, "status": "public", "language": "en", "updated_at": updated} | extra
    return PointToWrite(video_id, vec(i), body)


def test_create_sets_metadata_indexes_and_is_retry_safe(store):
    store.create_collection("c1", SPEC, {"state": "building", "family": "f"})
    store.create_collection("c1", SPEC, {"state": "other"})  # a retried task
    assert store.metadata("c1") == {"state": "building", "family": "f"}
    info = store.client.get_collection("c1")
    indexed = set() if store.embedded else {"video_id", "language", "owner_id", "category", "status",
                                            "published_at", "updated_at"}
    assert set(info.payload_schema) == indexed  # local mode keeps no payload indexes
    assert info.config.params.vectors.size == 8
    store.update_metadata("c1", state="ready")
    assert store.metadata("c1")["state"] == "ready"


def test_insert_only_never_overwrites(store):
    store.create_collection("c", SPEC, {})
    store.write_if_newer("c", [point("a", 200, i=1)])  # the stream, after T0
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
    assert store.aliases() == {"videos": "c2"}
    states = {s.name: s for s in store.collections()}
    assert states["c2"].aliases == ("videos",) and states["c1"].aliases == ()


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


def test_payload_from_a_catalog_row(sample_slice):
    v = sample_slice[0]
    body = payload(v, "m", "h")
    assert body["updated_at"] == to_micros(v.updated_at)
    assert {k for k, val in body.items() if val in (None, "")} == set()
    assert point_id(v.video_id)  # the id the store uses for it
    assert datetime.fromtimestamp(body["updated_at"] / 1e6, tz=timezone.utc) == v.updated_at
