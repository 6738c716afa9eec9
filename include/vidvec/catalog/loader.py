"""Parse catalog CSV files (vidvec's schema; tags '|'-separated).

Bad rows are reported with their line and reason; good rows still load.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vidvec.core.ids import validate_video_id
from vidvec.core.types import STATUSES, Video
from vidvec.errors import VidvecError

REQUIRED = ("video_id", "title", "status", "updated_at")
COLUMNS = ("video_id", "title", "description", "tags", "transcript", "language",
           "owner_id", "category", "status", "published_at", "updated_at")


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def parse_time(value: str, field: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise VidvecError(f"{field} {value!r} is not an ISO-8601 timestamp") from None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def parse_row(row: dict[str, str]) -> Video:
    for name in REQUIRED:
        if not (row.get(name) or "").strip():
            raise VidvecError(f"missing {name}")
    status = row["status"].strip()
    if status not in STATUSES:
        raise VidvecError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return Video(
        video_id=validate_video_id(row["video_id"].strip()),
        title=row["title"],
        description=row.get("description") or "",
        tags=tuple(t.strip() for t in (row.get("tags") or "").split("|") if t.strip()),
        transcript=row.get("transcript") or None,
        language=(row.get("language") or "").strip(),
        owner_id=(row.get("owner_id") or "").strip(),
        category=(row.get("category") or "").strip(),
        status=status,
        published_at=parse_time(row["published_at"], "published_at") if row.get("published_at") else None,
        updated_at=parse_time(row["updated_at"], "updated_at"),
    )


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return open(path, newline="", encoding="utf-8")


def read_csv(path: str | Path) -> Iterator[Video | BadRow]:
    """Yield a Video per good row and a BadRow (line, reason) per bad one."""
    path = Path(path)
    if not path.exists():
        raise VidvecError(f"no such file: {path}")
    with _open(path) as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise VidvecError(f"{path}: header lacks column(s) {', '.join(missing)}; "
                              f"expected {', '.join(COLUMNS)}")
        start = reader.line_num + 1
        try:
            for row in reader:
                try:
                    if None in row:
                        raise VidvecError("more fields than the header")
                    yield parse_row(row)
                except VidvecError as exc:
                    yield BadRow(start, str(exc))
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as exc:
            yield BadRow(start, f"unreadable CSV from here on: {exc}")
