"""A snapshot of the keyword index that follows the store, for a process answering questions."""

from __future__ import annotations

import logging
import threading
import time

from index.keyword.index import KeywordIndex, View
from index.keyword.scoring import Snapshot
from index.store import ChromaStore

log = logging.getLogger(__name__)


class LiveKeywords:
    """The keyword index as of the store's latest commit, refreshed as the store moves.

    An ingest by this or any other process, into an embedded folder or a Chroma server, is
    picked up without a restart, by keyword and by vector search (`index.fresh`). The refresh rule: the store's revision is polled at most once
    every `poll_seconds` (1 s). When it moved, the keyword index fetches only the articles
    committed or removed since it was last level (during a long ingest, a few batches), so no
    question pays for a rebuild of the whole index. Merging the small segments this leaves runs
    on a background thread.
    """

    def __init__(self, keywords: KeywordIndex, store: ChromaStore, poll_seconds: float = 1.0):
        self.keywords = keywords
        self.store = store
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._view: View | None = None
        self._checked = 0.0
        self._merging = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The current snapshot, caught up with the store at most every `poll_seconds`.

        One caller catches up while the others keep answering from the old snapshot, so an
        ingest never stalls the questions in flight (only the very first view is waited for).
        """
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.poll_seconds:
            return snap
        if not self._lock.acquire(blocking=snap is None):
            assert snap is not None  # only the first build blocks; another thread is catching up
            return snap
        try:
            if self._snapshot is None or time.monotonic() - self._checked >= self.poll_seconds:
                self._refresh()
            assert self._snapshot is not None
            return self._snapshot
        finally:
            self._lock.release()

    def follow(self) -> None:
        """Catch up now, after this process wrote (its vector side is current already)."""
        with self._lock:
            self._refresh(vectors=False)

    def _refresh(self, vectors: bool = True) -> None:
        """Catch the keyword index up when the store or its folder moved (a small delta)."""
        self._checked = time.monotonic()
        if self._view is not None and not self.keywords.stale(self.store, self._view):
            return
        if self._view is not None and vectors:  # the vector side follows, in the background
            self.store.vectors.renew()
        self._view = self.keywords.view(self.store)
        self._snapshot = Snapshot(self._view)
        if self._merging.acquire(blocking=False):
            threading.Thread(target=self._compact, daemon=True).start()

    def _compact(self) -> None:
        """Merge full tiers of small segments in the background; the next poll picks them up."""
        try:
            self.keywords.merge_all(self.store)
        except Exception as exc:  # a merge is an optimisation: the unmerged index stays valid
            log.warning("keyword index merge failed (%s)", exc)
        finally:
            self._merging.release()
