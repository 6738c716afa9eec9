"""What every engine does the same way on top of its own primitives."""

from __future__ import annotations

import time
from collections.abc import Sequence

from vidvec.core.ids import at_vidvec_id
from vidvec.core.naming import validate_name
from vidvec.core.types import CollectionState, Hit
from vidvec.errors import NotFound, NotServed, VidvecError
from vidvec.store.base import SERVED_STATUS

READY = ("green", "ok")
WRITE_CHUNK = 256  # points per read-decide-write step


def chunks(items: Sequence, size: int = WRITE_CHUNK) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def placeholder_vector(dim: int) -> list[float]:
    """A tombstone written before the video was ever indexed still needs a vector; never served."""
    return [1.0] + [0.0] * (dim - 1)


def check_k(k: int) -> None:
    if not 1 <= k <= 1000:
        raise VidvecError(f"k must be in 1..1000, got {k}")


class StoreCommon:
    """resolve, similar, scroll, count_served, wait_ready and collections() over an engine's primitives."""

    def resolve(self, name: str) -> str:
        validate_name(name, "alias or collection")
        target = self.aliases().get(name)
        if target:
            return target
        if self.exists(name):
            return name
        raise NotFound(f"no alias or collection named {name!r}")

    def similar(self, name: str, video_id: str, k: int = 10, language: str | None = None,
                hnsw_ef: int | None = None) -> list[Hit]:
        check_k(k)
        found = self.get_points(name, [video_id], with_vectors=True)
        if video_id not in found:
            raise NotFound(f"video {video_id!r} is not in {name!r}")
        status, vector = found[video_id]["payload"].get("status"), found[video_id]["vector"]
        if status != SERVED_STATUS:
            said = f"is {status}" if isinstance(status, str) and status else "has no status"
            raise NotServed(f"video {video_id!r} {said} in {name!r}: not served")
        if not vector:
            raise NotServed(f"video {video_id!r} has no vector in {name!r}: not served")
        return self.search(name, vector, k, language, exclude=video_id, hnsw_ef=hnsw_ef)

    def scroll(self, name: str, batch: int = 1000, with_vectors: bool = False):
        for page in self.scroll_points(name, batch=batch, with_vectors=with_vectors):
            yield [(p.video_id, p.payload, p.vector) for p in page]

    def count_served(self, name: str) -> int:
        return sum(p.payload.get("status") == SERVED_STATUS and at_vidvec_id(p.id, p.video_id)
                   for page in self.scroll_points(name, fields=("video_id", "status")) for p in page)

    def wait_ready(self, name: str, timeout_s: float = 600, poll_s: float = 1.0) -> None:
        deadline = time.monotonic() + timeout_s
        while (state := self.status(name)) != READY:
            if time.monotonic() > deadline:
                raise VidvecError(f"{name} not ready after {timeout_s:.0f}s: status {state[0]}, "
                                  f"optimizer {state[1]}")
            time.sleep(poll_s)

    def _check_targets(self, mapping: dict[str, str | None]) -> None:
        """As Qdrant checks them: an alias names no collection and points at a collection, not an alias."""
        aliases = self.aliases()
        for alias, target in mapping.items():
            validate_name(alias, "alias")
            if alias not in aliases and self.exists(alias):
                raise VidvecError(f"an alias cannot take the name of collection {alias!r}")
            if target is None:
                continue
            validate_name(target, "collection name")
            if target in aliases:
                raise VidvecError(f"cannot point alias {alias!r} at {target!r}: that is an alias, not a collection")
            if not self.exists(target):
                raise NotFound(f"cannot point alias {alias!r} at missing collection {target!r}")

    def _state(self, name: str, by_target: dict[str, list[str]]) -> CollectionState:
        index = self.index_state(name)
        return CollectionState(
            name=name, aliases=tuple(sorted(by_target.get(name, []))), points=self.count(name),
            status=self.status(name)[0], metadata=self.metadata(name), engine=index.describe(),
            indexed_vectors=index.indexed_vectors)

    def _states(self, names: list[str]) -> list[CollectionState]:
        by_target: dict[str, list[str]] = {}
        for alias, target in self.aliases().items():
            by_target.setdefault(target, []).append(alias)
        return sorted((self._state(n, by_target) for n in names), key=lambda s: s.name)
