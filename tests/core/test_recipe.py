from datetime import datetime, timezone

import pytest

from vidvec.core.recipe import build_text, clean, get_recipe, text_hash
from vidvec.core.types import Video
from vidvec.errors import VidvecError

T = datetime(2020, 8, 12, tzinfo=timezone.utc)


def test_transcript_comes_first_then_title_tags_description():
    v = Video("abc", title="Title", description="Desc", tags=("a", "b"), transcript="Spoken words",
              updated_at=T)
    assert build_text(v) == "Spoken words\nTitle\na, b\nDesc"


def test_missing_parts_leave_no_blank_lines():
    assert build_text(Video("abc", title="Only a title", updated_at=T)) == "Only a title"


def test_urls_emails_and_handles_are_removed():
    text = clean("Watch https://youtu.be/x now! www.site.com mail me@ex.com follow @someone #tag")
    assert text == "Watch now! mail follow #tag"


def test_description_and_total_budget_cut():
    recipe = get_recipe("v1")
    v = Video("abc", title="t", description="x" * 5000, updated_at=T)
    assert len(build_text(v)) == len("t\n") + recipe.description_chars
    long = Video("abc", title="t" * 5000, updated_at=T)
    assert len(build_text(long)) == recipe.max_chars


def test_text_hash_is_stable_and_sensitive():
    assert text_hash("a") == text_hash("a")
    assert text_hash("a") != text_hash("b")
    assert len(text_hash("a")) == 32


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(VidvecError, match="unknown text recipe"):
        get_recipe("v999")


def test_recipes_choose_their_parts():
    v = Video("abc", title="Title", description="Desc", tags=("a", "b"), updated_at=T)
    assert build_text(v, get_recipe("titles-v1")) == "Title"
    assert build_text(v, get_recipe("titles-tags-v1")) == "Title\na, b"
    assert build_text(v, get_recipe("v2")) == build_text(v, get_recipe("v1"))


def test_token_budget_is_part_of_the_text_hash():
    v1, v2 = get_recipe("v1"), get_recipe("v2")
    assert v2.max_tokens and v1.max_tokens is None
    assert text_hash("same text", v1) == text_hash("same text")  # v1 hashes unchanged
    assert text_hash("same text", v2) != text_hash("same text", v1)
    assert text_hash("same text", v2) == text_hash("same text", v2)


def _reference_text(video: Video, recipe) -> str:
    """build_text as every recipe version defined it: each part cleaned whole, then cut."""
    parts = {"transcript": clean(video.transcript or ""), "title": clean(video.title),
             "tags": ", ".join(t for t in (clean(tag) for tag in video.tags) if t),
             "description": clean(video.description)[: recipe.description_chars]}
    return "\n".join(parts[p] for p in recipe.parts if parts[p])[: recipe.max_chars]


# Fragments that make cleaning hard at a cut: URLs, e-mails and handles of any length,
# runs of every kind of whitespace (ASCII, no-break, ideographic, line separator), CJK.
FRAGMENTS = ["https://", "http://x.y/", "www.", "WWW.", "@", "@user", "a@b.c", "me@ex.com", "x", "word",
             "日本語", "é", " ", "  ", "\n", "\t", "\xa0", "\u3000", "\u2028", "\x1c", ".", "#tag", "-"]


def _random_text(rng, size: int) -> str:
    out, held = [], 0
    while held < size:
        out.append(rng.choice(FRAGMENTS) * rng.choice([1, 1, 1, 3, 50, 400]))
        held += len(out[-1])
    return "".join(out)


def test_email_removal_is_the_regex_it_replaces_in_linear_time():
    """The recipe's e-mail rule is r"\\S+@\\S+\\.\\S+" (cubic on '@' runs); the linear form removes the same."""
    import random
    import re

    from vidvec.core.recipe import _AT_TOKEN, _email_removed

    email = re.compile(r"\S+@\S+\.\S+")
    rng = random.Random(3)
    for _ in range(20000):
        text = "".join(rng.choice("@.a x\n") for _ in range(rng.randrange(0, 14)))
        assert _AT_TOKEN.sub(_email_removed, text) == email.sub(" ", text), repr(text)
    # A title or transcript of '@'s: the regex would run for days here (pytest's timeout ends it).
    assert clean("@" * 200_000 + " a@b.cd kept") == "@" * 200_000 + " kept"


def test_cutting_early_never_changes_the_text_any_recipe_makes():
    """clean_prefix == clean()[:n] on texts built to break it, and build_text == the whole-text definition."""
    import random

    from vidvec.core.recipe import RECIPES, clean_prefix

    rng = random.Random(11)
    for i in range(3000):
        text = _random_text(rng, rng.choice([10, 100, 2000, 5000, 20000]))
        n = rng.choice([0, 1, 5, 100, 1000, 2000, 4000])
        assert clean_prefix(text, n) == clean(text)[:n], (i, n)
    for i in range(300):
        v = Video("abc", title=_random_text(rng, 80), description=_random_text(rng, rng.choice([50, 3000])),
                  tags=(_random_text(rng, 10),), transcript=_random_text(rng, rng.choice([0, 1500, 9000])),
                  updated_at=T)
        for recipe in RECIPES.values():
            assert build_text(v, recipe) == _reference_text(v, recipe), (i, recipe.version)


def test_a_five_mib_transcript_is_cut_without_cleaning_all_of_it(monkeypatch):
    import vidvec.core.recipe as recipe_module

    words = "Today we talk about rivers, https://example.com/notes and @guests. " * 80_000  # 5.3 MB
    video = Video("talk", title="A long talk", transcript=words, description="d " * 4000, updated_at=T)
    expected = _reference_text(video, get_recipe())
    cleaned = []
    real = recipe_module.clean
    monkeypatch.setattr(recipe_module, "clean", lambda text: cleaned.append(len(text or "")) or real(text))
    assert build_text(video) == expected
    assert sum(cleaned) < 20_000  # characters cleaned, out of 5.3 million given
