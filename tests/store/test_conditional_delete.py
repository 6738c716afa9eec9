"""The bounded purge on real local mode: exactly the points still at or below their bound go."""

from vidvec.core.types import PointToWrite
from vidvec.store import CollectionSpec


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
