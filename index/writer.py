"""Ingest's background work: a producer thread running ahead, and a writer thread for Chroma.

The model is the slow step; reading and chunking ahead of it, and writing behind it, keeps it
busy without holding more than a few batches in memory.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from index.records import ChunkRecord, DocRecord
from index.store import ChromaStore

T = TypeVar("T")


def background(produce: Callable[[], Iterator[T]]) -> Iterator[T]:
    """Run a generator on a thread, a few items ahead; its exceptions surface here."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=64)

    def work() -> None:
        try:
            for item in produce():
                items.put(("item", item))
            items.put(("end", None))
        except BaseException as exc:
            items.put(("error", exc))

    threading.Thread(target=work, daemon=True).start()
    while True:
        kind, value = items.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


class Writer:
    """Writes chunk batches and commits finished articles on a background thread."""

    def __init__(self, store: ChromaStore, touched: set[str]) -> None:
        self.store = store
        self.touched = touched  # articles that may have chunks from an earlier run
        self.queue: queue.Queue[tuple[list[ChunkRecord], list[DocRecord]] | None] = queue.Queue(
            maxsize=2
        )
        self.error: BaseException | None = None
        self.busy = 0.0  # seconds spent writing
        self.committed: deque[str] = deque()  # appended here, drained by the ingest's thread
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def put(self, chunks: list[ChunkRecord], docs: list[DocRecord]) -> None:
        """Queue chunks, and the articles they complete, for writing."""
        if self.error:
            raise self.error
        self.queue.put((chunks, docs))

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

    def _loop(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error:
                continue
            chunks, docs, done = list(item[0]), list(item[1]), False
            # Each Chroma write has a fixed cost, so write everything already queued at once.
            while len(chunks) < 1024 and not self.queue.empty():
                more = self.queue.get()
                if more is None:
                    done = True
                    break
                chunks.extend(more[0])
                docs.extend(more[1])
            started = time.perf_counter()
            try:
                self.store.add_chunks(chunks)
                self.store.commit_docs(docs, self.touched)
                self.committed.extend(d.id for d in docs)
            except BaseException as exc:  # surfaced to the caller on the next put/close
                self.error = exc
            self.busy += time.perf_counter() - started
            if done:
                return
