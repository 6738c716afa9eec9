"""Load parsed catalog rows: every good row once, in batches bounded by rows and bytes.

Each row is judged against the catalog's current version of its video
(core/versions.py): newer rows and same-version tombstones are written, an
identical row is left alone (a reload is a no-op), and an older or
changed-at-the-same-version row is reported as bad with its line and kept out.
After each write, one event per written video goes to the sidecar's source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vidvec.catalog.base import Catalog
from vidvec.catalog.loader import BadRow, Row
from vidvec.core.events import thin_event
from vidvec.core.limits import BATCH_BYTES
from vidvec.core.types import Video
from vidvec.core.versions import REFUSED, UNCHANGED, WRITE, judge


@dataclass
class LoadResult:
    loaded: int = 0  # rows written
    unchanged: int = 0  # rows the catalog already held exactly
    bad: int = 0  # rows reported (unreadable, invalid, older or changed at the same version)


def text_chars(video: Video) -> int:
    """What a row holds in memory, roughly: the characters of its texts."""
    return (len(video.title) + len(video.description) + len(video.transcript or "")
            + sum(len(t) for t in video.tags))


def load_rows(catalog: Catalog, items: Iterable[Row | BadRow], *, report: Callable[[BadRow], None],
              publish: Callable[[list[bytes]], int] | None = None, batch_rows: int = 2000) -> LoadResult:
    """Judge and write rows; `report` gets every bad row as it is found."""
    result, chunk, held = LoadResult(), [], 0
    for item in items:
        if isinstance(item, BadRow):
            result.bad += 1
            report(item)
            continue
        chunk.append(item)
        held += text_chars(item.video)
        if len(chunk) >= batch_rows or held >= BATCH_BYTES:
            _write(catalog, chunk, result, report, publish)
            chunk, held = [], 0
    _write(catalog, chunk, result, report, publish)
    return result


def _write(catalog: Catalog, chunk: list[Row], result: LoadResult, report, publish) -> None:
    if not chunk:
        return
    before = catalog.get_videos(r.video.video_id for r in chunk)
    held, written = dict(before), {}
    for row in chunk:  # in file order: a later row is judged against an earlier one of the same video
        action, reason = judge(held.get(row.video.video_id), row.video)
        if action == WRITE:
            held[row.video.video_id] = written[row.video.video_id] = row.video
            result.loaded += 1
        elif action == UNCHANGED:
            result.unchanged += 1
        elif action == REFUSED:
            result.bad += 1
            report(BadRow(row.line, reason))
    catalog.upsert_videos(written.values())
    if publish and written:
        publish([thin_event(v) for v in written.values()])
