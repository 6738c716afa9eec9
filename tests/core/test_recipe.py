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
