"""The ingest lease: who may write an index now, and whether a holder is still alive.

One ingest writes at a time. On an embedded folder the lease is an OS file lock (`flock`) held
for the whole run: exact, and released by the OS when the process exits or is killed. A Chroma
server shares no filesystem, so there the lease is a record in the meta collection, claimed by
write, wait, read back: best effort. Two claims both win only when one process stalls between
reading and writing the record for longer than that wait, and then the other run's next `hold`
(before it writes another article) sees the newer holder and stops. The record also lists the
articles a run is writing, so the next run finishes what a crash left behind.
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

LEASE = "pending"  # the meta collection's lease record
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


class Lease:
    """The ingest lease of one store: its record in the store's `meta` collection and, for an
    embedded folder (`lock_dir`), the lock file beside it."""

    def __init__(self, meta: Any, lock_dir: Path | None, prefix: str) -> None:
        self.meta = meta
        self.lock_dir = lock_dir
        self.prefix = prefix
        self._files: dict[str, Any] = {}  # run -> open lease file (embedded only)

    def claim(self, run: str) -> list[str]:
        """Take the ingest lease for `run`; the doc ids an interrupted run was writing.

        Raises StoreBusy while another ingest holds the lease. Embedded, the lease is a file
        lock, so exactly one of two racing claims wins. On a server a holder is dead when its
        process is gone (same host) or its heartbeat is older than LEASE_SECONDS, and a claim
        writes, waits CLAIM_SETTLE_SECONDS and reads back, backing off if another run won.
        """
        if self.lock_dir is None:
            return self._claim_record(run)
        self._lock_file(run)
        try:
            interrupted = self._record()[1]  # we hold the lock: any holder recorded is dead
            self._write(run, interrupted)
        except BaseException:
            self._unlock(run)  # a failed claim must not keep the lock for this process's life
            raise
        return interrupted

    def _claim_record(self, run: str) -> list[str]:
        """Claim on a server: refuse a live holder, write, wait, read back."""
        holder, interrupted = self._record()
        refuse_live(holder, run)
        self._write(run, interrupted)
        self._confirm(run)
        return interrupted

    def hold(self, run: str, doc_ids: list[str]) -> None:
        """Record (or refresh) the lease and the articles this run is writing.

        On a server, raises StoreBusy if another live run has taken the lease meanwhile (a
        claim race the read-back missed), before this run writes any chunk of a new article.
        """
        if self.lock_dir is None:
            refuse_live(self._record()[0], run)
        self._write(run, doc_ids)

    def release(self, run: str) -> None:
        """Give the lease back after a complete run."""
        if self._record()[0].get("run") == run:
            self.meta.delete(ids=[LEASE])
        self._unlock(run)

    def drop(self, run: str) -> None:
        """Give the lease up after a failed run, keeping what it was writing for the next run."""
        holder, doc_ids = self._record()
        if holder.get("run") == run:
            self._write("", doc_ids)  # no run: nobody holds it, the next claim finishes
        self._unlock(run)

    def writing(self) -> bool:
        """Whether a live ingest holds the lease now (a killed one on this host does not)."""
        holder = self._record()[0]
        return bool(holder.get("run")) and alive(holder)

    def pending(self) -> list[str]:
        """Articles a run is writing or an interrupted run was writing."""
        return self._record()[1]

    def _record(self) -> tuple[dict[str, Any], list[str]]:
        """The lease holder (run, host, pid, heartbeat) and the doc ids it is writing."""
        got = self.meta.get(ids=[LEASE], include=["documents", "metadatas"])
        if not got["ids"]:
            return {}, []
        docs = got.get("documents") or [None]
        return dict(got["metadatas"][0] or {}), list(json.loads(docs[0] or "[]"))

    def _write(self, run: str, doc_ids: list[str]) -> None:
        meta = {
            "run": run,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }
        self.meta.upsert(
            ids=[LEASE], embeddings=[[0.0]], documents=[json.dumps(doc_ids)], metadatas=[meta]
        )

    def _lock_file(self, run: str) -> None:
        """Take the embedded lease file without waiting; raise StoreBusy naming its holder."""
        assert self.lock_dir is not None
        path = self.lock_dir / f".{self.prefix}-ingest.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise busy(holder_of(path)) from None
        handle.truncate(0)
        handle.write(json.dumps({"run": run, "host": socket.gethostname(), "pid": os.getpid()}))
        handle.flush()
        self._files[run] = handle  # held open until release; the OS drops it if we die

    def _unlock(self, run: str) -> None:
        handle = self._files.pop(run, None)
        if handle is not None:
            handle.truncate(0)  # so a later loser never names a holder that is gone
            handle.close()

    def _confirm(self, run: str) -> None:
        """After a claim on a server: wait for racing claims to land; the last write wins."""
        time.sleep(CLAIM_SETTLE_SECONDS)
        holder = self._record()[0]
        if holder.get("run") != run:
            raise busy(holder)
