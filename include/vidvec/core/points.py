"""Turn catalog rows into the points vidvec writes (pure)."""

from __future__ import annotations

from vidvec.core.types import PointToWrite, Video, to_micros


def payload(video: Video, model_id: str, text_hash: str) -> dict:
    return {
        "video_id": video.video_id,
        "language": video.language,
        "owner_id": video.owner_id,
        "category": video.category,
        "status": video.status,
        "published_at": to_micros(video.published_at) if video.published_at else None,
        "updated_at": to_micros(video.updated_at),
        "model_id": model_id,
        "text_hash": text_hash,
    }


def tombstone(video_id: str, status: str, updated_at_us: int) -> PointToWrite:
    """A deleted/private video: keeps its updated_at so older updates cannot undo it."""
    return PointToWrite(video_id=video_id, vector=None,
                        payload={"video_id": video_id, "status": status, "updated_at": updated_at_us})
