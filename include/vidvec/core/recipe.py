"""The text embedded for a video: one versioned, pure function.

Transcript first when present (hardest to game), then title, tags and
description; URLs, e-mail addresses and social handles removed; whitespace
collapsed; cut to a character budget. Changing what a recipe produces means a
new version: the version is stored in each collection's metadata.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from vidvec.core.types import Video
from vidvec.errors import VidvecError

_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Recipe:
    version: str
    max_chars: int  # budget for the whole text; the encoder's cost grows with it
    description_chars: int  # descriptions are long and mostly links and sponsors


RECIPES = {
    "v1": Recipe(version="v1", max_chars=2000, description_chars=1000),
}
DEFAULT_RECIPE = "v1"


def get_recipe(version: str = DEFAULT_RECIPE) -> Recipe:
    try:
        return RECIPES[version]
    except KeyError:
        raise VidvecError(f"unknown text recipe {version!r}; known: {sorted(RECIPES)}") from None


def clean(text: str) -> str:
    text = _URL.sub(" ", text or "")
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def build_text(video: Video, recipe: Recipe | None = None) -> str:
    recipe = recipe or get_recipe()
    parts = [
        clean(video.transcript or ""),
        clean(video.title),
        ", ".join(t for t in (clean(tag) for tag in video.tags) if t),
        clean(video.description)[: recipe.description_chars],
    ]
    return "\n".join(p for p in parts if p)[: recipe.max_chars]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
