"""The one "similar videos" query of the library: `vidvec similar`, the audit's served side and any caller.

    similar_videos(store, "videos", "ZKZM40f8d2Q", k=10, min_score=0.6, other_owners=True)

takes plain arguments (the fields of core.query.NeighbourQuery, validated
there: one VidvecError naming the field) and returns `Neighbours`: the hits,
best first (MMR: in its selection order), and whether the answer is
`confident`: k neighbours at or above min_score came back (with no min_score:
k came back at all). A caller falls back (another model, a popular list) when
it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidvec.core.ids import validate_video_id
from vidvec.core.query import NeighbourQuery
from vidvec.core.types import Hit
from vidvec.errors import VidvecError
from vidvec.store import VectorStore


@dataclass(frozen=True)
class Neighbours:
    video_id: str
    hits: tuple[Hit, ...]
    confident: bool
    query: NeighbourQuery

    def to_dict(self) -> dict:
        """JSON-safe: what `vidvec similar --json` prints (titles are the CLI's)."""
        return {"video_id": self.video_id, "confident": self.confident, "k": self.query.k,
                "min_score": self.query.min_score,
                "hits": [{"video_id": h.video_id, "score": round(h.score, 4), "language": h.payload.get("language"),
                          "category": h.payload.get("category"), "owner_id": h.payload.get("owner_id")}
                         for h in self.hits]}


def similar_videos(store: VectorStore, target: str, video_id: str, query: NeighbourQuery | None = None,
                   **options) -> Neighbours:
    """Neighbours of a stored public video through an alias or collection (see the module docstring)."""
    validate_video_id(video_id)
    if query is None:
        query = NeighbourQuery.parse(options)
    elif options:
        raise VidvecError("give a NeighbourQuery or options, not both")
    if video_id in query.negative:
        raise VidvecError(f"video {video_id!r} cannot be its own negative example")
    hits = store.neighbours(target, video_id, query)
    return Neighbours(video_id, tuple(hits), confident=len(hits) >= query.k, query=query)


@dataclass(frozen=True)
class TitledAnswer:
    """What `vidvec similar` shows: Neighbours.to_dict() with each hit's title, and the query video's line."""

    answer: dict  # the --json output
    video: dict | None  # {"language", "title"} of the query video; None when the catalog lacks it

    def to_json(self) -> dict:
        return {"answer": self.answer, "video": self.video}

    @classmethod
    def from_json(cls, data: dict) -> TitledAnswer:
        return cls(data["answer"], data.get("video"))


def titled_answer(store: VectorStore, catalog, target: str, video_id: str, query: NeighbourQuery) -> TitledAnswer:
    """similar_videos through target, titled from the catalog: one answer, whichever process computes it."""
    found = similar_videos(store, store.resolve(target), video_id, query)
    videos = catalog.get_videos([video_id, *query.negative] + [h.video_id for h in found.hits])
    answer = found.to_dict()
    for row in answer["hits"]:
        row["title"] = videos[row["video_id"]].title if row["video_id"] in videos else ""
    me = videos.get(video_id)
    return TitledAnswer(answer, {"language": me.language, "title": me.title} if me else None)
