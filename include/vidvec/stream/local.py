"""The local event source: an append-only SQLite log plus an acknowledged position.

Kept apart from the DuckDB catalog (DuckDB admits one writing process; SQLite
in WAL mode lets `vidvec events publish` append while the sidecar reads).
The acknowledged position is advanced in one transaction, only after the
batch's writes returned: a crash at any moment replays from there
(at-least-once; conditional writes make the replay harmless).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from vidvec.core.limits import BATCH_BYTES
from vidvec.errors import DamagedFile
from vidvec.stream.source import DeadLetterFile, Message

CONSUMER = "sidecar"
POLL_SECONDS = 0.05
TRIM_EVERY = 50  # acks between deletions of acknowledged events

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    data         BLOB NOT NULL,
    published_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (consumer TEXT PRIMARY KEY, position INTEGER NOT NULL);
"""


DAMAGED_TODO = ("move it away to start an empty log (then `vidvec compact` brings the store in line with the "
                "catalog for the events it held)")


def _connect(path: Path) -> sqlite3.Connection:
    """The log's connection, checked before anything writes to it: a damaged file is refused as it is."""
    if path.exists() and path.stat().st_size == 0:  # SQLite would make a new database of it
        raise DamagedFile(path, "is empty (0 bytes), not an SQLite database", DAMAGED_TODO)
    con = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    try:
        found = con.execute("PRAGMA quick_check(1)").fetchone()[0]  # reads every page once, writes none
    except sqlite3.OperationalError:  # cannot open, locked: not damage (the boundary names the path)
        con.close()
        raise
    except sqlite3.DatabaseError as exc:
        con.close()
        raise DamagedFile(path, f"is not a readable SQLite database ({exc})", DAMAGED_TODO) from None
    if found != "ok":
        con.close()
        raise DamagedFile(path, f"is a damaged SQLite database ({found})", DAMAGED_TODO)
    return con


class LocalLog:
    """The log file itself: append, read after a position, acknowledge a position."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = _connect(self.path)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=FULL")  # an ack survives power loss too
        self.con.executescript(SCHEMA)

    def publish(self, payloads: Iterable[bytes]) -> int:
        now = time.time()
        rows = [(sqlite3.Binary(p), now) for p in payloads]
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.executemany("INSERT INTO events (data, published_at) VALUES (?, ?)", rows)
        return len(rows)

    def read_after(self, position: int, limit: int, max_bytes: int = BATCH_BYTES) -> list[tuple[int, bytes, float]]:
        """Up to `limit` events after position, while those before each hold less than max_bytes."""
        return self.con.execute(
            "SELECT seq, data, published_at FROM (SELECT seq, data, published_at, "
            "sum(length(data)) OVER (ORDER BY seq) - length(data) AS before FROM events "
            "WHERE seq > ? ORDER BY seq LIMIT ?) WHERE before < ? ORDER BY seq",
            (position, limit, max(max_bytes, 1))).fetchall()

    def acked(self, consumer: str = CONSUMER) -> int:
        row = self.con.execute("SELECT position FROM cursors WHERE consumer = ?", (consumer,)).fetchone()
        return row[0] if row else 0

    def ack(self, position: int, consumer: str = CONSUMER) -> None:
        with self.con:
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute("INSERT INTO cursors VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE "
                             "SET position = max(position, excluded.position)", (consumer, position))

    def backlog(self, consumer: str = CONSUMER) -> int:
        return self.con.execute("SELECT count(*) FROM events WHERE seq > ?", (self.acked(consumer),)).fetchone()[0]

    def trim(self) -> None:
        """Drop events every consumer has acknowledged."""
        with self.con:
            self.con.execute("DELETE FROM events WHERE seq <= (SELECT coalesce(min(position), 0) FROM cursors)")

    def close(self) -> None:
        self.con.close()


class LocalSource:
    name = "local"
    drain_idle_seconds = 0.0  # the log knows its end: an empty read is an empty backlog

    def __init__(self, path: Path, dead_letters: DeadLetterFile):
        self.log = LocalLog(path)
        self.dead_letters = dead_letters
        self._read = self.log.acked()  # next read starts after this
        self._attempts: dict[int, int] = {}  # seq -> deliveries in this process
        self._acks = 0

    def pull(self, max_messages: int, max_seconds: float, stop: threading.Event) -> list[Message]:
        """Wait up to max_seconds for a first event; then fill the batch until that event
        has waited max_seconds in total (a backlog is never held back). A batch stops at
        BATCH_BYTES of events (core/limits.py; at least one): 256 events of 9 MiB would be 2.3 GB."""
        rows = self.log.read_after(self._read, max_messages, BATCH_BYTES)
        held = sum(len(data) for _, data, _ in rows)
        deadline = time.monotonic() + max_seconds
        while len(rows) < max_messages and held < BATCH_BYTES and not stop.is_set():
            if rows:
                deadline = time.monotonic() + max_seconds - max(0.0, time.time() - rows[0][2])
            left = deadline - time.monotonic()
            if left <= 0:
                break
            stop.wait(min(POLL_SECONDS, left))
            more = self.log.read_after(rows[-1][0] if rows else self._read, max_messages - len(rows),
                                       BATCH_BYTES - held)
            rows.extend(more)
            held += sum(len(data) for _, data, _ in more)
        if rows:
            self._read = rows[-1][0]
        out = []
        for seq, data, published_at in rows:
            self._attempts[seq] = self._attempts.get(seq, 0) + 1
            out.append(Message(bytes(data), published_at, self._attempts[seq], token=seq))
        return out

    def ack(self, messages: list[Message]) -> None:
        # Batches are applied in order, so the highest position covers the batch.
        if not messages:
            return
        position = max(m.token for m in messages)
        self.log.ack(position)
        for m in messages:
            self._attempts.pop(m.token, None)
        self._acks += 1
        if self._acks % TRIM_EVERY == 0:
            self.log.trim()

    def nack(self, messages: list[Message]) -> None:
        if messages:
            self._read = min(self._read, min(m.token for m in messages) - 1)

    def dead_letter(self, message: Message, reason: str) -> None:
        self.dead_letters.write(message, reason, source=f"local:{self.log.path}")

    def close(self) -> None:
        self._read = self.log.acked()
        self.log.close()
