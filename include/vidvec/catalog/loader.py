"""Parse catalog CSV files (vidvec's schema; tags '|'-separated), record by record.

A bad record never costs another: invalid UTF-8 anywhere, a field or a whole
record over its size limit (core/limits.py) or a wrong value is reported with
the physical line where the record starts and why, and reading goes on with
the next record. Only a file that cannot be read at all (missing, a directory,
not gzip, no header) is an error; a gzip stream that breaks mid-file is
reported as a bad row where it broke (nothing after it can be read).

Bytes that are not UTF-8 are decoded as lone surrogates ("surrogateescape"),
so the csv module never stops on them and the record holding them is found.
A record longer than CSV_RECORD_CHARS cannot hold a valid video: it is not
read into memory; `_skip` follows the csv module's quoting rules to its end.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vidvec.core.ids import validate_video_id
from vidvec.core.limits import CSV_RECORD_CHARS, check_fields
from vidvec.core.types import STATUSES, VIDEO_FIELDS, Video
from vidvec.errors import VidvecError, shown

REQUIRED = ("video_id", "title", "status", "updated_at")
COLUMNS = VIDEO_FIELDS
GZIP_MAGIC = b"\x1f\x8b"
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8
csv.field_size_limit(CSV_RECORD_CHARS + 1)  # records are bounded below before a field gets there


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass(frozen=True)
class Row:
    line: int  # the physical line where the record starts
    video: Video


def parse_time(value: str, field: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise VidvecError(f"{field} {shown(value)} is not an ISO-8601 timestamp") from None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def parse_row(row: dict[str, str]) -> Video:
    for name in REQUIRED:
        if not (row.get(name) or "").strip():
            raise VidvecError(f"missing {name}")
    status = row["status"].strip()
    if status not in STATUSES:
        raise VidvecError(f"status {shown(status)} is not one of {', '.join(STATUSES)}")
    video = Video(
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
    check_fields(vars(video))  # the limits an event has too
    return video


class _TooLong(Exception):
    """The record being read passed CSV_RECORD_CHARS."""


class _Lines:
    """Physical lines for csv.reader, counted; raises _TooLong instead of holding an over-long record."""

    def __init__(self, f: io.TextIOBase):
        self.f, self.line, self.held, self.record = f, 0, 0, []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        piece = self.f.readline(CSV_RECORD_CHARS + 1 - self.held)
        if not piece:
            raise StopIteration
        self.record.append(piece)
        self.held += len(piece)
        if self.held > CSV_RECORD_CHARS:
            raise _TooLong
        self.line += 1
        return piece

    def start_record(self) -> None:
        self.held, self.record = 0, []


# The csv module's quoting (excel dialect, not strict), enough to find where a record ends.
START, FIELD, QUOTED, QUOTE = "start", "field", "quoted", "quote"


def _scan(state: str, text: str) -> str:
    """The state after text (no line end inside) from `state`: only QUOTED carries a record over a line end."""
    i = 0
    while i < len(text):
        if state == QUOTED:
            j = text.find('"', i)
            if j < 0:
                return QUOTED
            state, i = QUOTE, j + 1
        elif state == QUOTE:  # a quote in a quoted field: doubled, closing before ',', or data after
            state = {'"': QUOTED, ",": START}.get(text[i], FIELD)
            i += 1
        elif state == START and text[i] == '"':
            state, i = QUOTED, i + 1
        else:  # an unquoted field: quotes in it are data; a comma starts the next field
            j = text.find(",", i)
            if j < 0:
                return FIELD
            state, i = START, j + 1
    return state


def _step(state: str, piece: str) -> tuple[str, bool]:
    """The state after a piece of a physical line, and whether the record ended at its line end."""
    body = piece.rstrip("\r\n")
    state = _scan(state, body)
    return state, body != piece and state != QUOTED


def _skip(lines: _Lines) -> None:
    """Read on to the end of the over-long record in `lines`, holding a piece of a line at a time."""
    state, ended, piece = START, False, ""
    for piece in lines.record:  # the record so far: counted lines, then the piece that passed the limit
        state, ended = _step(state, piece)
    open_line = not piece.endswith(("\n", "\r"))
    lines.line += not open_line
    while not ended:
        piece = lines.f.readline(1 << 20)
        if not piece:  # the file ended inside the record
            lines.line += open_line
            break
        state, ended = _step(state, piece)
        open_line = not piece.endswith(("\n", "\r"))
        lines.line += not open_line
    lines.start_record()


def _open(path: Path) -> io.TextIOBase:
    if path.is_dir():
        raise VidvecError(f"{path} is a directory: give a CSV file (.csv or .csv.gz)")
    if not path.exists():
        raise VidvecError(f"no such file: {path}")
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == GZIP_MAGIC
        if path.suffix == ".gz" and not gzipped:
            raise VidvecError(f"{path} ends in .gz but is not gzip-compressed: compress it or rename it")
        binary = gzip.open(path, "rb") if gzipped else open(path, "rb")
    except OSError as exc:
        raise VidvecError(f"cannot read {path}: {exc.strerror or exc}") from None
    # utf-8-sig drops the byte-order mark spreadsheets write; newline="" as the csv module needs
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _header(reader, lines: _Lines, path: Path) -> list[str]:
    try:
        header = next((h for h in reader if h), None)
    except _TooLong:
        raise VidvecError(f"{path}: the header is longer than {CSV_RECORD_CHARS:,} characters") from None
    if header is None:
        raise VidvecError(f"{path} is empty: the first line must name the columns ({', '.join(COLUMNS)})")
    if any(_NOT_UTF8.search(h) for h in header):
        raise VidvecError(f"{path}:{lines.line}: the header is not valid UTF-8")
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise VidvecError(f"{path}: header lacks column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    return header


def _item(header: list[str], fields: list[str], start: int, end: int) -> Row | BadRow:
    where = f" (lines {start}-{end})" if end > start else ""
    for name, value in zip(header + ["(extra)"] * len(fields), fields, strict=False):
        bad = _NOT_UTF8.search(value)
        if bad:
            byte = ord(bad.group()) - 0xDC00
            return BadRow(start, f"{name} is not valid UTF-8 (byte 0x{byte:02x} at character {bad.start()}){where}")
    if len(fields) > len(header):
        return BadRow(start, f"{len(fields)} fields, more than the header's {len(header)}{where}")
    try:
        return Row(start, parse_row(dict(zip(header, fields, strict=False))))
    except VidvecError as exc:
        return BadRow(start, f"{exc}{where}")


def read_rows(path: str | Path) -> Iterator[Row | BadRow]:
    """A Row (line, video) per good record and a BadRow (line, reason) per bad one, in file order.

    The file is opened and its header checked now: an unreadable file fails here, before any write.
    """
    path = Path(path)
    f = _open(path)
    try:
        lines = _Lines(f)
        reader = csv.reader(lines)
        header = _header(reader, lines, path)
    except (OSError, EOFError, zlib.error) as exc:
        f.close()
        raise VidvecError(f"cannot read {path}: {exc}") from None
    except BaseException:
        f.close()
        raise
    return _records(f, lines, reader, header)


def _records(f: io.TextIOBase, lines: _Lines, reader, header: list[str]) -> Iterator[Row | BadRow]:
    with f:
        while True:
            lines.start_record()
            start = lines.line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _TooLong:
                _skip(lines)
                yield BadRow(start, f"record is longer than {CSV_RECORD_CHARS:,} characters, more than a valid "
                                    f"video can take (lines {start}-{lines.line})")
                reader = csv.reader(lines)  # a fresh parser after the skipped record
                continue
            except (OSError, EOFError, zlib.error) as exc:  # a gzip stream broken mid-file
                yield BadRow(start, f"unreadable from here on: {exc}")
                return
            if fields:
                yield _item(header, fields, start, lines.line)


def read_csv(path: str | Path) -> Iterator[Video | BadRow]:
    """A Video per good row and a BadRow (line, reason) per bad one."""
    for item in read_rows(path):
        yield item.video if isinstance(item, Row) else item
