"""The text embedded for a video: one versioned, pure function.

Transcript first when present (hardest to game), then title, tags and
description; URLs, e-mail addresses and social handles removed; whitespace
collapsed; cut to a character budget, and, from v2, to a token budget that
the embedder applies to the sentencepiece ids (core/ never tokenizes).
Changing what a recipe produces means a new version: the version is stored in
each collection's metadata, and the token budget is part of text_hash.

Why v2 is the default (BENCHMARKS.md, sample catalog, category precision@10
from other channels): titles 0.349, + tags 0.414, + description (v1) 0.428;
v1's text cut to 192 tokens (v2) 0.423, within 0.005 of v1 for 1.5x fewer
tokens; 128 tokens would lose 0.011. The sample has no transcripts.
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


PARTS = ("transcript", "title", "tags", "description")


@dataclass(frozen=True)
class Recipe:
    version: str
    max_chars: int  # budget for the whole text; the encoder's cost grows with it
    description_chars: int  # descriptions are long and mostly links and sponsors
    parts: tuple[str, ...] = PARTS  # which fields, always in PARTS order
    # Token budget, applied by the embedder to the text's sentencepiece ids
    # (core/ does not tokenize). It changes vectors, so it is part of the
    # recipe version and of text_hash; None = the whole text.
    max_tokens: int | None = None


RECIPES = {
    "v1": Recipe(version="v1", max_chars=2000, description_chars=1000),
    "v2": Recipe(version="v2", max_chars=2000, description_chars=1000, max_tokens=192),
    # Cheaper, weaker recipes, measured in BENCHMARKS.md.
    "titles-v1": Recipe(version="titles-v1", max_chars=2000, description_chars=0, parts=("title",)),
    "titles-tags-v1": Recipe(version="titles-tags-v1", max_chars=2000, description_chars=0,
                             parts=("title", "tags")),
}
DEFAULT_RECIPE = "v2"


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
    parts = {
        "transcript": lambda: clean(video.transcript or ""),
        "title": lambda: clean(video.title),
        "tags": lambda: ", ".join(t for t in (clean(tag) for tag in video.tags) if t),
        "description": lambda: clean(video.description)[: recipe.description_chars],
    }
    texts = (parts[name]() for name in PARTS if name in recipe.parts)
    return "\n".join(p for p in texts if p)[: recipe.max_chars]


def text_hash(text: str, recipe: Recipe | None = None) -> str:
    """Identifies what is encoded: the text, and the token budget when the recipe has one."""
    key = text if recipe is None or recipe.max_tokens is None else f"{text}\0max_tokens={recipe.max_tokens}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
