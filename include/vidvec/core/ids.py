"""Deterministic point ids: every write of a video lands on the same point."""

import re
import uuid

from vidvec.core.limits import VIDEO_ID_CHARS
from vidvec.errors import VidvecError, shown

# Fixed forever: changing it would orphan every point ever written.
NAMESPACE = uuid.UUID("6f1c2f4e-8d1a-5b7e-9c3d-2a4b6c8d0e1f")
_VIDEO_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{VIDEO_ID_CHARS}}}$")


def validate_video_id(video_id: str) -> str:
    if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
        raise VidvecError(f"invalid video id {shown(video_id)}: use 1-{VIDEO_ID_CHARS} letters, digits, '_' or '-'")
    return video_id


def point_id(video_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, validate_video_id(video_id)))


def at_vidvec_id(raw_id: object, video_id: object) -> bool:
    """Whether a stored point sits at vidvec's id for the video its payload names.

    False for a point without a (valid) video_id and for one under any other
    id: a foreign writer's, an older id scheme's, a duplicate.
    """
    return isinstance(video_id, str) and bool(_VIDEO_ID.match(video_id)) and str(raw_id) == point_id(video_id)
