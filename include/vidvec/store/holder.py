"""Who holds the embedded store and where it answers reads: HOLDER.json beside the Edge store's LOCK.

The process that holds the store and serves read-only calls (a sidecar) writes
HOLDER.json once its HTTP port is open, and removes it as it lets go. Another
process that finds the store in use reads it to send its reads there (`vidvec
similar`, `vidvec collections`, the vidvec page) and to say, when it wanted to
write, what holds the store. The file counts only while its PID is the one LOCK
names: a crashed holder's file is ignored, and the next holder replaces it. It
is advisory and rewritten by every holder, so an unreadable one counts as none.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from vidvec.store.edge_files import write_json

HOLDER = "HOLDER.json"
LOCK = "LOCK"
SERVED_TODO = ("reads (`vidvec similar`, `vidvec collections`, the vidvec page) go through it; to write, stop it "
               "(SIGTERM: it finishes its batch first) and run this again")


@dataclass(frozen=True)
class Holder:
    pid: int
    what: str  # e.g. "vidvec sidecar"
    url: str | None = None  # its read API, e.g. http://127.0.0.1:9464 (None: it serves no reads)

    def describe(self) -> str:
        serves = f", serving reads at {self.url}" if self.url else ""
        return f"PID {self.pid} ({self.what}{serves})"


def announce(root: Path, holder: Holder) -> None:
    """Say (atomically) that this process holds the store at root and where it serves reads."""
    write_json(Path(root) / HOLDER, asdict(holder))


def withdraw(root: Path) -> None:
    """Remove this process's announcement (another holder's is left alone)."""
    found = _read(Path(root))
    if found is not None and found.pid == os.getpid():
        (Path(root) / HOLDER).unlink(missing_ok=True)


def current(root: Path) -> Holder | None:
    """The holder of the store at root, if it announced itself; else None (free, or a silent holder)."""
    found = _read(Path(root))
    return found if found is not None and found.pid == lock_pid(root) else None


def lock_pid(root: Path) -> int | None:
    """The PID the store's LOCK names (meaningful while its flock is held)."""
    try:
        return int((Path(root) / LOCK).read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def command_of(pid: int) -> str | None:
    """What a process runs (Linux /proc), cut to 80 characters; None elsewhere or when it is gone."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    return text[:80] + ("..." if len(text) > 80 else "") if text else None


def _read(root: Path) -> Holder | None:
    try:
        data = json.loads((root / HOLDER).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["what"]), data.get("url"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def refusal(root: Path, pid: str) -> str:
    """The one line for a process that cannot open the store at root: what holds it and what to do."""
    if pid == str(os.getpid()):
        return f"vector store {root} is in use by PID {pid} (this process: close the other store first)"
    holder = current(root)
    if holder is not None and holder.url:
        return f"vector store {root} is in use by {holder.describe()}: {SERVED_TODO}"
    command = command_of(int(pid)) if pid.isdigit() else None
    return (f"vector store {root} is in use by PID {pid}{f' ({command})' if command else ''}; the embedded "
            "store admits one process at a time: wait for it to finish, or stop it")
