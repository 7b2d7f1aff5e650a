"""The ingest lease: who may write an index now, and whether a holder is still alive.

An embedded index is leased with an OS file lock (exact, released when the process dies); a
Chroma server's lease is a record with a heartbeat (best effort). `index.store` applies these.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LEASE_SECONDS = 120
# How long a claim on a Chroma server waits before reading the lease back: longer than the gap
# between two racing claims' reads and writes, short enough not to be noticed.
CLAIM_SETTLE_SECONDS = 0.5


class StoreError(RuntimeError):
    """The Chroma store cannot be opened or reached."""


class StoreBusy(StoreError):
    """Another ingest holds the write lease."""


def alive(holder: dict[str, Any]) -> bool:
    """Whether the ingest that wrote this lease is still running."""
    if time.time() - float(holder.get("heartbeat", 0)) > LEASE_SECONDS:
        return False
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder.get("pid", 0)), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return int(holder.get("pid", 0)) > 0


def busy(holder: dict[str, Any]) -> StoreBusy:
    """The error naming the ingest that holds the lease."""
    return StoreBusy(
        f"another ingest is writing this index (pid {holder.get('pid')} on "
        f"{holder.get('host')}); wait for it to finish or stop it"
    )


def refuse_live(holder: dict[str, Any], run: str) -> None:
    """Raise StoreBusy when the lease belongs to another run that is still alive."""
    if holder.get("run") and holder.get("run") != run and alive(holder):
        raise busy(holder)


def holder_of(path: Path) -> dict[str, Any]:
    """Who holds a lease file, as its holder wrote it; {} when that cannot be read in time."""
    for _ in range(20):
        # The holder writes its name just after taking the lock, so a racing loser may look
        # a moment too early: wait for it rather than report an unnamed holder.
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            time.sleep(0.05)
    return {}


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive OS lock on `path` for the block, waiting for other holders."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
