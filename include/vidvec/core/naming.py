"""Versioned collection names: <alias>__<model-slug>__<UTC stamp>."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from vidvec.errors import VidvecError, shown

MAX_NAME = 128  # Qdrant's and vidvec's longest alias or collection name
_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}$")
NAME_PATTERN = _NAME.pattern  # also the JSON-schema pattern of name Params
NEXT_SUFFIX = "__next"  # <alias>__next: the rebuild candidate of an alias
COMPARE_PREFIX = "compare-"  # reports/compare-<stamp>-<a>-vs-<b>/: `vidvec compare` reports, shown on the page
_SEP = "__"
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_CHARS = len("20260101T000000Z")


def validate_name(name: str, what: str = "name") -> str:
    """Alias and collection names: letters, digits, '_', '.', '-'; at most 128."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise VidvecError(
            f"invalid {what} {shown(name)}: start with a letter or digit, then use only "
            f"letters, digits, '_', '.' or '-' (at most {MAX_NAME} characters)")
    return name


def next_alias(alias: str) -> str:
    """The alias a rebuild for `alias` builds behind (and promotion drops)."""
    return f"{alias}{NEXT_SUFFIX}"


def alias_role(alias: str, live_alias: str) -> str:
    """live (what users are served), next (a rebuild's candidate) or a/b (any other alias)."""
    return "live" if alias == live_alias else "next" if alias.endswith(NEXT_SUFFIX) else "a/b"


def model_slug(model_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    if not slug:
        raise VidvecError(f"model id {model_id!r} has no letters or digits")
    return slug


def max_alias_length(model_id: str) -> int:
    """The longest alias a rebuild with this model can use: <alias>__<model slug>__<stamp> and
    <alias>__next must both be names (the rebuild form's maxLength is this)."""
    return min(MAX_NAME - 2 * len(_SEP) - len(model_slug(model_id)) - _STAMP_CHARS, MAX_NAME - len(NEXT_SUFFIX))


def collection_name(base: str, model_id: str, stamp: datetime) -> str:
    if stamp.tzinfo is None:
        raise VidvecError("collection stamps must be timezone-aware (UTC)")
    validate_name(base, "alias")
    if len(base) > (longest := max_alias_length(model_id)):
        raise VidvecError(f"alias {shown(base)} is {len(base)} characters; with model {model_id} at most {longest} "
                          f"fit a collection name (<alias>{_SEP}<model>{_SEP}<stamp>, at most {MAX_NAME})")
    name = f"{base}{_SEP}{model_slug(model_id)}{_SEP}{stamp.astimezone(timezone.utc).strftime(_STAMP)}"
    return validate_name(name, "collection name")


def parse_collection_name(name: str) -> tuple[str, str, datetime] | None:
    """(base, model slug, stamp) for names vidvec made; None for any other name."""
    parts = name.split(_SEP)
    if len(parts) != 3:
        return None
    try:
        stamp = datetime.strptime(parts[2], _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return parts[0], parts[1], stamp
