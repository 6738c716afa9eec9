"""What every engine does the same way on top of its own primitives."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, cast

from vidvec.core.ids import at_vidvec_id, point_id
from vidvec.core.naming import validate_name
from vidvec.core.query import NeighbourQuery, Scope
from vidvec.core.types import CollectionState, Hit
from vidvec.errors import NotFound, NotServed, VidvecError
from vidvec.store.base import SERVED_STATUS

if TYPE_CHECKING:  # the primitives StoreCommon calls are the protocol's, which every engine defines
    from vidvec.store.base import VectorStore as _Primitives
else:
    _Primitives = object

READY = ("green", "ok")
WRITE_CHUNK = 256  # points per read-decide-write step


def chunks(items: Sequence, size: int = WRITE_CHUNK) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def placeholder_vector(dim: int) -> list[float]:
    """A tombstone written before the video was ever indexed still needs a vector; never served."""
    return [1.0] + [0.0] * (dim - 1)


def scored_hit(point, score: float) -> Hit:
    """An engine's scored point as a Hit. Queries ask with_payload=True: a point without one has no video_id."""
    payload = point.payload or {}
    return Hit(video_id=payload["video_id"], score=score, payload=payload)


def dense(vector) -> list[float] | None:
    """A point's vector as the engines type it (named, sparse or multi-vectors too): vidvec's collections
    hold one unnamed dense vector."""
    return cast("list[float] | None", vector)


def check_k(k: int) -> None:
    if not 1 <= k <= 1000:
        raise VidvecError(f"k must be in 1..1000, got {k}")


class FilterKit(Protocol):
    """An engine's filter classes, for `served_filter`."""

    def value(self, key: str, value: str): ...
    def any_of(self, key: str, values: tuple[str, ...]): ...
    def range(self, key: str, gte: int | None, lt: int | None): ...
    def empty(self, key: str): ...
    def filter(self, must: list, must_not: list): ...


def served_filter(scope: Scope, kit: FilterKit):
    """What a query may return, for every engine: public points naming a video, in the scope (payload
    conditions only). An excluded video goes by its video_id, so a duplicate of it under another id goes too."""
    must = [kit.value("status", SERVED_STATUS)]
    if scope.language:
        must.append(kit.value("language", scope.language))
    if scope.categories:
        must.append(kit.any_of("category", scope.categories))
    if scope.published_from is not None or scope.published_to is not None:
        must.append(kit.range("published_at", scope.published_from, scope.published_to))
    must_not = [kit.empty("video_id")]
    if scope.exclude_owners:
        must_not.append(kit.any_of("owner_id", scope.exclude_owners))
    if scope.exclude_ids:
        must_not.append(kit.any_of("video_id", scope.exclude_ids))
    return kit.filter(must, must_not)


def score_threshold(query: NeighbourQuery) -> float | None:
    """The engine's score_threshold for the query's min_score, in the score its ranking uses.

    Qdrant's best_score scores a point nearer the query video than any negative
    example 0.5 * (1 + s / (1 + |s|)) of its similarity s (> 0), and a point
    nearer a negative below 0: the threshold keeps only the former (those at or
    above min_score). average_vector ranks by another vector: no threshold
    (NeighbourQuery refuses min_score with it).
    """
    if not query.negative:
        return query.min_score
    if query.strategy == "average_vector":
        return None
    s = query.min_score
    return 0.0 if s is None else 0.5 * (1 + s / (1 + abs(s)))


def similarity(query: NeighbourQuery, score: float) -> float:
    """A hit's similarity to the query video from the engine's score (best_score's mapped back)."""
    if not query.negative or query.strategy != "best_score" or query.diversity is not None:
        return float(score)  # cosine already (MMR reports its candidates' similarity)
    y = 2 * score - 1
    return y / (1 - abs(y))


def check_capable(capabilities, query: NeighbourQuery) -> None:
    """One line when the engine cannot answer this kind of query."""
    if query.diversity is not None and not capabilities.mmr:
        raise VidvecError(f"{capabilities.engine} cannot diversify results (no MMR): drop the diversity option")
    if query.negative and not capabilities.recommend:
        raise VidvecError(f"{capabilities.engine} has no recommend query: drop the negative examples")


def per_owner(fetch: Callable[[Scope, int], list[Hit]], k: int, cap: int, scope: Scope) -> list[Hit]:
    """The top k with at most `cap` per owner, from rounds of the engine's own filtered query.

    Qdrant's group-by runs the same loop on a server (shard/grouping/driver.rs):
    each round excludes, in the payload filter, the owners already at cap and
    the hits taken; its hits are taken in score order while their owner has
    room. Every round takes at least its first hit, so at most k rounds; the
    result is exact on an exact engine (the greedy top k under the cap). A round
    asks for twice what is missing: below the search's ef that costs the HNSW
    search nothing and saves rounds (max_per_owner=1 answers at plain's p50 in
    bench/queries.py).
    """
    taken: list[Hit] = []
    count: Counter = Counter()
    while len(taken) < k:
        full = tuple(o for o, n in count.items() if n >= cap and o is not None)
        hits = fetch(scope.model_copy(update={"exclude_owners": scope.exclude_owners + full,
                                              "exclude_ids": scope.exclude_ids + tuple(h.video_id for h in taken)}),
                     min(1000, 2 * (k - len(taken)) * cap))
        before = len(taken)
        for hit in hits:
            owner = hit.payload.get("owner_id")
            if count[owner] < cap and len(taken) < k:
                taken.append(hit)
                count[owner] += 1
        if len(taken) == before:
            break  # nothing left in the scope
    return sorted(taken, key=lambda h: -h.score)


class StoreCommon(_Primitives):
    """resolve, similar, neighbours, scroll, count_served, wait_ready and collections() over an engine's primitives."""

    if TYPE_CHECKING:
        def _neighbours(self, name: str, vector, negatives: list, query: NeighbourQuery,
                        scope: Scope) -> list[Hit]: ...

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
        vector = self._examples(name, [video_id])[video_id]["vector"]
        return self.search(name, vector, k, language, exclude=video_id, hnsw_ef=hnsw_ef)

    def scroll(self, name: str, batch: int = 1000, with_vectors: bool = False):
        for page in self.scroll_points(name, batch=batch, with_vectors=with_vectors):
            yield [(p.video_id, p.payload, p.vector) for p in page]

    def delete_points(self, name: str, video_ids: Iterable[str]) -> None:
        self.delete_ids(name, [point_id(v) for v in video_ids])

    def count_served(self, name: str) -> int:
        return sum(p.payload.get("status") == SERVED_STATUS and at_vidvec_id(p.id, p.video_id)
                   for page in self.scroll_points(name, fields=("video_id", "status")) for p in page)

    def neighbours(self, name: str, video_id: str, query: NeighbourQuery) -> list[Hit]:
        """The answer to `query` for a stored video; the engine's `_neighbours` runs it."""
        check_capable(self.capabilities, query)
        found = self._examples(name, [video_id, *query.negative])
        me = found[video_id]
        scope = query.scope(video_id, me["payload"].get("owner_id"))
        return self._neighbours(name, me["vector"], [found[v]["vector"] for v in query.negative], query, scope)

    def _examples(self, name: str, video_ids: list[str]) -> dict[str, dict]:
        """The points of a query's examples (the video first), each one served: public, with a vector.

        NotFound for a video without a point; NotServed (a NotFound) for a tombstone, whose vector
        is only a placeholder, or a point without a status or vector.
        """
        found = self.get_points(name, video_ids, with_vectors=True)
        for i, video_id in enumerate(video_ids):
            what = "video" if i == 0 else "negative example"
            if video_id not in found:
                raise NotFound(f"{what} {video_id!r} is not in {name!r}")
            status, vector = found[video_id]["payload"].get("status"), found[video_id]["vector"]
            if status != SERVED_STATUS:
                said = f"is {status}" if isinstance(status, str) and status else "has no status"
                raise NotServed(f"{what} {video_id!r} {said} in {name!r}: not served")
            if not vector:
                raise NotServed(f"{what} {video_id!r} has no vector in {name!r}: not served")
        return found

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
