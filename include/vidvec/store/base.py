"""The store interface the rest of vidvec codes against, in vidvec's plain types.

Three engines implement it: Qdrant Edge (the embedded default, store/edge.py),
a Qdrant server and qdrant-client's local mode (both store/qdrant.py);
store/factory.py picks one from the settings. Callers ask `capabilities`
(exact or ANN, snapshots, optimizer, payload indexes, MMR), never which engine
answers. No engine's models cross this boundary: points go in as
`PointToWrite`, come back as dicts, hits and `CollectionState`s.

Semantics every engine keeps (tests/store runs the same suite on each):
writes are idempotent (deterministic ids) and never stale: a conditional
write replaces a point only as `core/versions.py` allows (a newer
updated_at, or at the same one a status ranking higher: public < private <
deleted, so a tombstone wins a tie) and says which points it really wrote; a
deletion is a tombstone (status + its updated_at). Queries serve public
points that name a video only, and `similar` refuses a query video that is
not served (`NotServed`, a `NotFound`). Every write returns once the engine
has logged it (see each engine).

vidvec's points sit at `point_id(video_id)`. Anything else a collection may
hold (a foreign writer's point, an older id scheme, a duplicate) is visible
through `scroll_points` (raw ids) and removable with `delete_ids`; it is
never counted as served (`count_served`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from vidvec.core.query import NeighbourQuery
from vidvec.core.types import CollectionState, Hit, PointToWrite, StoredPoint
from vidvec.errors import VidvecError

# Payload indexes, created before loading (engines with payload indexes only).
KEYWORD_INDEXES = ("video_id", "language", "owner_id", "category", "status")
INTEGER_INDEXES = ("published_at", "updated_at")  # epoch microseconds
# The fields searches filter on with a match (the served status, `--language`, `--category`):
# each of their values gets HNSW links of its own (Qdrant's payload-aware graph), which keeps
# such filtered searches accurate. The other indexes serve lookups, ranges, exclusions and
# counts: links for every index took 1.8x the build CPU of language and status alone at 300k
# points (BENCHMARKS.md, "Scale"). A new match filter belongs here.
FILTERED_FIELDS = ("language", "status", "category")
SERVED_STATUS = "public"  # the only status queries return


@dataclass(frozen=True)
class CollectionSpec:
    """How a collection is built and searched. Engines map each field to their own config.

    HNSW is off during the bulk load and built by `build_index`. A search
    whose filter matches less than `full_scan_threshold_kb` of vectors (and
    every search of a segment that small) is a brute-force scan, as Qdrant
    plans it; a segment holding more than `indexing_threshold_kb` of
    unindexed vectors is an optimization pending (status not green).
    """

    dim: int = 512
    shards: int = 1  # server only: shard_number
    replicas: int = 1  # server only: replication_factor
    hnsw_m: int = 16
    ef_construct: int = 100
    hnsw_ef: int | None = None  # the collection's search-time ef; None = the engine's (ef_construct)
    full_scan_threshold_kb: int = 200  # ~100 vectors of 512 floats: smaller filters are scanned exactly
    indexing_threshold_kb: int = 1000  # ~500 vectors of 512 floats: bigger segments get an HNSW index
    quantization: bool = False  # int8 scalar quantization, rescored at query time
    on_disk: bool | None = None  # original vectors memory-mapped from disk; None = the engine's default

    def __post_init__(self) -> None:
        bounds = {"dim": (1, 65536), "shards": (1, 256), "replicas": (1, 16), "hnsw_m": (4, 128),
                  "ef_construct": (4, 1000), "full_scan_threshold_kb": (1, 10**9),
                  "indexing_threshold_kb": (1, 10**9)}
        if self.hnsw_ef is not None:
            bounds["hnsw_ef"] = (1, 10000)
        for key, (low, high) in bounds.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise VidvecError(f"index setting {key} must be an integer in {low}..{high}, got {value!r}")

    @property
    def search_ef(self) -> int:
        """The ef searches use: hnsw_ef, else ef_construct (Qdrant's own default)."""
        return self.hnsw_ef if self.hnsw_ef is not None else self.ef_construct

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; code asks these, never which engine it is."""

    engine: str  # qdrant-edge | qdrant-server | qdrant-local
    exact: bool  # every search is brute force: recall below 1 then means wrong content, not the index
    payload_indexes: bool
    background_optimizer: bool  # builds indexes and vacuums by itself; else build_index/vacuum block
    snapshots: bool
    vacuum: bool  # deleted points leave segments a vacuum rewrites
    search_params: bool  # honours hnsw_ef and quantization rescoring
    single_process: bool  # one process may open the store at a time (Airflow pool of 1)
    mmr: bool = True
    recommend: bool = True

    @property
    def label(self) -> str:
        """The engine's name in reports and listings, e.g. `qdrant-edge hnsw`, `qdrant-local exact`."""
        return f"{self.engine} {'exact' if self.exact else 'hnsw'}"


@dataclass(frozen=True)
class IndexState:
    """What answers a collection's searches: the engine and its index settings."""

    engine: str  # Capabilities.label
    exact: bool
    m: int | None
    ef_construct: int | None
    hnsw_ef: int | None  # the ef searches of this collection use
    points: int
    indexed_vectors: int | None  # vectors in indexed segments (None: the engine keeps no index)

    def describe(self) -> str:
        """One line: `qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100` or `qdrant-local exact`."""
        if self.exact:
            return self.engine
        return f"{self.engine} m={self.m} ef_construct={self.ef_construct} hnsw_ef={self.hnsw_ef}"


def spec_from_metadata(metadata: dict) -> CollectionSpec:
    """The spec a vidvec collection recorded (metadata dim + index); defaults where absent."""
    index = {k: v for k, v in (metadata.get("index") or {}).items() if k in CollectionSpec.__dataclass_fields__}
    return CollectionSpec(**({"dim": int(metadata["dim"])} if "dim" in metadata else {}) | index)


@runtime_checkable
class VectorStore(Protocol):
    """A vector store; see the module docstring for the semantics every engine keeps."""

    capabilities: Capabilities

    def close(self) -> None: ...

    # -- collections and aliases ------------------------------------------
    def create_collection(self, name: str, spec: CollectionSpec, metadata: dict) -> None:
        """Payload indexes first, HNSW deferred; an existing collection is kept (a retried task)."""

    def build_index(self, name: str, spec: CollectionSpec) -> None:
        """Turn HNSW on after the bulk load (blocking where the engine has no background optimizer)."""

    def wait_ready(self, name: str, timeout_s: float = 600, poll_s: float = 1.0) -> None:
        """Until status() is ("green", "ok"): index built, no optimization pending."""

    def status(self, name: str) -> tuple[str, str]:
        """(collection status, optimizer status); ("green", "ok") means ready on every engine."""

    def index_state(self, name: str) -> IndexState: ...

    def metadata(self, name: str) -> dict: ...

    def update_metadata(self, name: str, **values) -> None:
        """Merge values into the collection's metadata."""

    def exists(self, name: str) -> bool: ...

    def drop_collection(self, name: str) -> None: ...

    def aliases(self) -> dict[str, str]:
        """alias -> physical collection."""

    def resolve(self, name: str) -> str:
        """The physical collection of an alias or collection name (NotFound otherwise)."""

    def set_aliases(self, mapping: dict[str, str | None]) -> dict[str, str | None]:
        """Point each alias at its collection (None removes it) in one atomic step; returns the previous."""

    def collections(self) -> list[CollectionState]: ...

    # -- writes (each returns once the engine logged it) --------------------
    def insert_only(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> None:
        """Add points that are not there; never overwrite (the stream may be newer)."""

    def write_if_newer(self, name: str, points: Sequence[PointToWrite], dim: int = 512) -> set[str]:
        """Each point replaces only what `core.versions.replace_bound` admits; new points are added.

        Returns the video ids whose point this call wrote; the others were not newer.
        """

    def delete_points(self, name: str, video_ids: Iterable[str]) -> None: ...

    def delete_if_not_newer(self, name: str, bounds: dict[str, int], chunk: int = 256) -> set[str]:
        """Delete each point only while `core.versions.purge_bound(bound)` admits it; returns the ids deleted."""

    def delete_ids(self, name: str, ids: Iterable[str | int]) -> None:
        """Delete points by their raw ids (as `scroll_points` gives them), whoever wrote them."""

    # -- reads --------------------------------------------------------------
    def count(self, name: str, public_only: bool = False) -> int: ...

    def get_points(self, name: str, video_ids: Iterable[str], with_vectors: bool = False) -> dict[str, dict]:
        """video_id -> {"payload": ..., "vector": ...} for the points that exist."""

    def versions(self, name: str, video_ids: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
        """video_id -> (status, updated_at) of the point at its id, where one exists (payload only)."""

    def scroll_points(self, name: str, batch: int = 1000, with_vectors: bool = False,
                      fields: Sequence[str] | None = None) -> Iterator[list[StoredPoint]]:
        """Pages of every point with its raw id; `fields` limits the payload read (None: all of it)."""

    def scroll(self, name: str, batch: int = 1000, with_vectors: bool = False) -> Iterator[list[tuple]]:
        """Lists of (video_id, payload, vector) over the whole collection."""

    def count_served(self, name: str) -> int:
        """Public points at vidvec's id for the video they name: what is served correctly (one streaming pass)."""

    def similar(self, name: str, video_id: str, k: int = 10, language: str | None = None,
                hnsw_ef: int | None = None) -> list[Hit]:
        """Top-k public neighbours of a served video, itself (and any duplicate of it) excluded.

        NotFound for a video without a point, NotServed (a NotFound) for one whose
        point is not public or has no vector; hnsw_ef None = the collection's.
        """

    def search(self, name: str, vector, k: int, language: str | None = None, exclude: str | None = None,
               hnsw_ef: int | None = None) -> list[Hit]: ...

    def neighbours(self, name: str, video_id: str, query: NeighbourQuery) -> list[Hit]:
        """The answer to a recommender's query (core/query.py) for a stored public video.

        Filters go to the engine's payload filter; negative examples are a
        recommend query, diversity is MMR, max_per_owner the engine's grouping
        (or rounds of filtered queries where it has none). A hit's score is its
        cosine similarity to the video (average_vector: to Qdrant's averaged
        query vector). An engine without a capability the query needs refuses
        it in one line.
        """

    # -- maintenance ----------------------------------------------------------
    def vacuum(self, name: str, deleted_threshold: float, timeout_s: float = 3600) -> dict:
        """Rewrite segments holding deleted points; {"applied": False, "why": ...} where nothing applies."""

    def keep_index(self, name: str, max_segment_kb: int, deleted_threshold: float | None = None) -> dict:
        """Where no background optimizer runs: index the vectors waiting outside HNSW (new segments of at most
        max_segment_kb, never merged into what is built) and vacuum past deleted_threshold, blocking.
        {"applied": False, "why": ...} where the engine keeps its index itself or has none."""

    def snapshot(self, name: str) -> dict:
        """{"created": True, "name", "size", "creation_time", "location"} or {"created": False, "why"}."""

    def restore_snapshot(self, location: str, name: str) -> dict:
        """A snapshot taken by `snapshot` back as collection `name` (never over an existing one)."""
