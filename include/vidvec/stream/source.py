"""One interface for event sources, and the local dead-letter sink.

The contract (at-least-once): `pull` hands out messages; a message is `ack`ed
only after its writes returned (wait=True) or it was dead-lettered; `nack`
makes it come back. Every wait inside `pull` waits on the shared stop event.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    data: bytes
    published_at: float  # epoch seconds when it entered the source (freshness starts here)
    attempt: int = 1  # delivery attempt, 1 = first
    token: Any = field(default=None, compare=False, repr=False)  # the source's handle


class Source(Protocol):
    name: str
    drain_idle_seconds: float  # with --drain: the backlog is empty after this long without messages

    def pull(self, max_messages: int, max_seconds: float, stop: threading.Event) -> list[Message]:
        """Up to max_messages; waits at most ~max_seconds for the batch to fill."""
        ...

    def ack(self, messages: list[Message]) -> None: ...

    def nack(self, messages: list[Message]) -> None: ...

    def dead_letter(self, message: Message, reason: str) -> None:
        """Park a message that can never be applied (then ack it)."""
        ...

    def close(self) -> None:
        """Stop intake, nack what was pulled but not acked, close clients."""
        ...


class DeadLetterFile:
    """Append-only JSONL: reason, the exact raw bytes (base64) and a readable preview."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, message: Message, reason: str, source: str) -> None:
        record = {
            "reason": reason,
            "source": source,
            "dead_lettered_at": datetime.now(timezone.utc).isoformat(),
            "published_at": datetime.fromtimestamp(message.published_at, timezone.utc).isoformat(),
            "attempt": message.attempt,
            "payload_b64": base64.b64encode(message.data).decode("ascii"),
            "preview": message.data[:200].decode("utf-8", errors="replace"),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock, open(self.path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())  # durable before the message is acked

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
