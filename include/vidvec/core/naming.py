"""Versioned collection names: <alias>__<model-slug>__<UTC stamp>."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from vidvec.errors import VidvecError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
NAME_PATTERN = _NAME.pattern  # also the JSON-schema pattern of name Params
_STAMP = "%Y%m%dT%H%M%SZ"


def validate_name(name: str, what: str = "name") -> str:
    """Alias and collection names: letters, digits, '_', '.', '-'; at most 128."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise VidvecError(
            f"invalid {what} {name!r}: start with a letter or digit, then use only "
            "letters, digits, '_', '.' or '-' (at most 128 characters)")
    return name


def model_slug(model_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    if not slug:
        raise VidvecError(f"model id {model_id!r} has no letters or digits")
    return slug


def collection_name(base: str, model_id: str, stamp: datetime) -> str:
    if stamp.tzinfo is None:
        raise VidvecError("collection stamps must be timezone-aware (UTC)")
    name = f"{validate_name(base, 'alias')}__{model_slug(model_id)}__{stamp.astimezone(timezone.utc).strftime(_STAMP)}"
    return validate_name(name, "collection name")


def parse_collection_name(name: str) -> tuple[str, str, datetime] | None:
    """(base, model slug, stamp) for names vidvec made; None for any other name."""
    parts = name.split("__")
    if len(parts) != 3:
        return None
    try:
        stamp = datetime.strptime(parts[2], _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return parts[0], parts[1], stamp
