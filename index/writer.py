"""Ingest's writer: Chroma writes, commits and lease refreshes on a thread of their own.

All of an ingest's Chroma writes stay in the ingest's process: two processes writing one embedded
folder each keep a copy of the vector index and the last to save it wins, losing the other's
vectors, which then fail to read back. Preparation moves out instead (`index.workers`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from index.records import ChunkRecord, DocRecord
from index.store import ChromaStore

_Request = tuple[Any, ...]  # ("write", chunks, docs) or ("hold", run, doc_ids)
MERGED = 2048  # chunks written together at most
LINGER = 0.25  # seconds a write waits for more to merge


class Writer:
    """Writes chunk batches, commits finished articles and refreshes the lease on a background
    thread, in the order asked, so the ingest's thread never waits for Chroma unless it is
    several batches ahead."""

    def __init__(self, store: ChromaStore, touched: set[str]) -> None:
        self.store = store
        self.touched = touched  # articles that may have chunks from an earlier run
        self.queue: queue.Queue[_Request | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.busy = {"Chroma writes": 0.0, "lease": 0.0}  # seconds spent on each
        self.committed: deque[str] = deque()  # appended here, drained by the ingest's thread
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def put(self, chunks: list[ChunkRecord], docs: list[DocRecord]) -> None:
        """Queue chunks, and the articles they complete, for writing."""
        self._ask(("write", chunks, docs))

    def hold(self, run: str, doc_ids: list[str]) -> None:
        """Queue a lease refresh (`Lease.hold`); it lands before any write queued after."""
        self._ask(("hold", run, doc_ids))

    def forget_committed(self, in_flight: dict[str, None]) -> None:
        """Remove the articles written and committed since the last call from `in_flight`."""
        while self.committed:
            in_flight.pop(self.committed.popleft(), None)

    def close(self) -> None:
        """Write what is queued and wait; raises what a write raised."""
        self.queue.put(None)
        self.thread.join()
        if self.error:
            raise self.error

    def abort(self) -> None:
        """Drop what is queued unwritten and wait for the write under way (the ingest failed:
        nothing may write after it gives its lease up)."""
        self.error = self.error or RuntimeError("the ingest stopped")
        self.queue.put(None)
        self.thread.join()

    def _ask(self, request: _Request) -> None:
        if self.error:
            raise self.error
        self.queue.put(request)

    def _loop(self) -> None:
        done = False
        while not done:
            hold, chunks, docs, done = self._gather()
            if self.error:
                continue  # drain the queue; the caller raises the error
            if hold is not None and not self._timed("lease", self.store.lease.hold, *hold):
                continue
            if (chunks or docs) and self._timed("Chroma writes", self._write, chunks, docs):
                self.committed.extend(d.id for d in docs)

    def _gather(
        self,
    ) -> tuple[tuple[str, list[str]] | None, list[ChunkRecord], list[DocRecord], bool]:
        """The next requests merged, and whether the ingest has finished.

        Each Chroma write has a fixed cost (a commit, a revision), so writes queued within
        LINGER seconds of the first go in together, up to MERGED chunks. Of their lease refreshes
        only the last is needed: it was asked after every article of the merged writes had been
        handed over, and none of those was committed yet, so it lists them all.
        """
        hold: tuple[str, list[str]] | None = None
        chunks: list[ChunkRecord] = []
        docs: list[DocRecord] = []
        until = None
        while len(chunks) < MERGED:
            try:
                wait = None if until is None else max(0.0, until - time.monotonic())
                item = self.queue.get(timeout=wait)
            except queue.Empty:
                break
            if item is None:
                return hold, chunks, docs, True
            until = until or time.monotonic() + LINGER
            if item[0] == "hold":
                hold = (item[1], item[2])
            else:
                chunks.extend(item[1])
                docs.extend(item[2])
        return hold, chunks, docs, False

    def _write(self, chunks: list[ChunkRecord], docs: list[DocRecord]) -> None:
        earlier = [c for c in chunks if c.info.doc_id in self.touched]
        self.store.add_chunks([c for c in chunks if c.info.doc_id not in self.touched], fresh=True)
        self.store.add_chunks(earlier)
        self.store.commit_docs(docs, self.touched)

    def _timed(self, what: str, action: Callable[..., None], *args: Any) -> bool:
        """Carry out one request; False (and the error kept for the caller) if it failed."""
        started = time.perf_counter()
        try:
            action(*args)
        except BaseException as exc:  # surfaced to the caller on the next put/close
            self.error = exc
        self.busy[what] += time.perf_counter() - started
        return self.error is None
