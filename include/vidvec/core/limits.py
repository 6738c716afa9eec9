"""Every size limit on input, stated once (the README's "Size limits" table repeats them).

Real input within reason is input: a transcript of a long talk or podcast, up
to 5 MiB of UTF-8 (about 1.7 million Japanese or 5 million Latin characters),
is accepted by every entrance (`vidvec events publish`, the sidecar, the CSV
loader, both catalogs) and cut by the text recipe, which embeds at most 2,000
characters. Only absurd sizes are bad rows or bad events. The limits of the
services vidvec writes to are here too, so that a test can show the largest
valid video fits each of them (a Pub/Sub message, a BigQuery request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vidvec.errors import VidvecError

MIB = 1024 * 1024

# One video, field by field (a catalog row or an event). Characters unless said otherwise.
VIDEO_ID_CHARS = 64
TITLE_CHARS = 1_000
DESCRIPTION_CHARS = 10_000
TAGS = 200
TAG_CHARS = 200
LANGUAGE_CHARS = 32
NAME_CHARS = 128  # owner_id, category
TRANSCRIPT_BYTES = 5 * MIB  # of UTF-8: the one field that may be long

# Whole records and batches.
EVENT_BYTES = 9 * MIB  # a raw event: a valid video fits as UTF-8 JSON unless its text is mostly escapes
CSV_RECORD_CHARS = 2 * TRANSCRIPT_BYTES + MIB  # longer cannot hold a valid video ("" doubles a quote)
BATCH_BYTES = 64 * MIB  # held at once: text characters (loader, publisher), event bytes (local source)

# The services' own limits.
PUBSUB_REQUEST_BYTES = 10_000_000  # a publish request (google-cloud-pubsub checks the same figure)
BIGQUERY_REQUEST_BYTES = 10_000_000  # "Maximum request size 10 MB, including query parameters"
MERGE_ROWS = 200  # rows per MERGE statement
MERGE_BYTES = 9_000_000  # encoded rows per MERGE request: the SQL and parameter types fit in the rest

_CHARS = {"title": TITLE_CHARS, "description": DESCRIPTION_CHARS, "language": LANGUAGE_CHARS,
          "owner_id": NAME_CHARS, "category": NAME_CHARS}


def _utf8_size(name: str, value: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:  # only a lone surrogate (JSON "\ud800") gets here
        raise VidvecError(f"{name} is not valid Unicode: a lone surrogate at character {exc.start}") from None


def check_text(name: str, value: str | None) -> None:
    """One text field of a video: within its limit and valid Unicode, else VidvecError says which."""
    if value is None:
        return
    if name == "transcript":
        # characters <= bytes: a text over the limit in characters is over it in bytes, without encoding
        size = len(value) if len(value) > TRANSCRIPT_BYTES else _utf8_size(name, value)
        if size > TRANSCRIPT_BYTES:
            raise VidvecError(f"transcript is at least {size:,} bytes of UTF-8; the limit is "
                              f"{TRANSCRIPT_BYTES:,} ({TRANSCRIPT_BYTES // MIB} MiB)")
        return
    limit = TAG_CHARS if name == "tag" else _CHARS[name]
    if len(value) > limit:
        raise VidvecError(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    _utf8_size(name, value)


def check_fields(fields: Mapping[str, Any]) -> None:
    """The text fields present in `fields` (a row's or an event's), each against its limit."""
    for name in ("title", "description", "language", "owner_id", "category", "transcript"):
        if name in fields:
            check_text(name, fields[name])
    tags = fields.get("tags") or ()
    if len(tags) > TAGS:
        raise VidvecError(f"{len(tags):,} tags; the limit is {TAGS}")
    for tag in tags:
        check_text("tag", tag)
