"""Progress lines for long work: rows done / total, rate and ETA, every few seconds."""

from __future__ import annotations

import logging
import time


class Progress:
    def __init__(self, what: str, total: int | None, log: logging.Logger, every_s: float = 10.0):
        self.what, self.total, self.log, self.every_s = what, total, log, every_s
        self.done_rows = 0
        self.started = self.last = time.monotonic()

    def update(self, rows: int) -> None:
        self.done_rows += rows
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            self.log.info(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done_rows / elapsed
        if not self.total:
            return f"{self.what}: {self.done_rows} rows, {rate:.1f} rows/s"
        eta = (self.total - self.done_rows) / rate if rate else float("inf")
        return (f"{self.what}: {self.done_rows}/{self.total} rows ({100 * self.done_rows / self.total:.0f}%), "
                f"{rate:.1f} rows/s, ETA {eta:.0f}s")

    def done(self) -> None:
        self.log.info(self.line() + f", finished in {time.monotonic() - self.started:.1f}s")
