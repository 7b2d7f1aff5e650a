"""Chunk vectors as every process committed them, for a process that reads while others write.

Embedded Chroma loads a folder's vector index into a process once: vectors another process adds
later stay invisible to it (and reading their records fails with "Error finding id"), while
records and metadata are read fresh. So a reading process opens the folder again, as a Chroma
instance of its own, when the store's commit sequence moved, and searches through that. Writes
keep going through the client the store opened first: a process never writes through two copies
of the vector index. A Chroma server has one copy for all its clients and needs none of this.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path
from typing import Any

from index.client import OPEN_LOCK
from index.damage import check_vectors
from index.lease import locked

log = logging.getLogger(__name__)


class FreshVectors:
    """The collection that vector searches read, renewed on demand for an embedded folder.

    `renew` opens a fresh instance in the background, at most once every `every` seconds; the
    instance it replaces is closed `grace` seconds later, once searches in flight are done.
    """

    _spelling = threading.Lock()  # two stores of one process must not pick the same instance

    def __init__(self, client: Any, collection: Any, every: float = 2.0, grace: float = 5.0):
        self.client = client
        self.current = collection
        self.every = every
        self.grace = grace
        self._embedded = bool(client.get_settings().is_persistent)
        self._renewing = threading.Lock()
        self._last = 0.0
        self._pending = False
        self._owner: Any = None  # the client of `current` once renewed (the store's own before)

    def renew(self) -> None:
        """Read what every process has committed so far: open a fresh instance of the folder in
        the background (nothing to do for a Chroma server)."""
        if not self._embedded:
            return
        self._pending = True
        if self._renewing.acquire(blocking=False):
            threading.Thread(target=self._renew_while_pending, daemon=True).start()

    def _renew_while_pending(self, tries: int = 30) -> None:
        failures = 0
        try:
            while self._pending:
                time.sleep(max(0.0, self._last + self.every - time.monotonic()))
                self._pending = False
                self._last = time.monotonic()
                try:
                    self._swap()
                    failures = 0
                except Exception as exc:  # the old instance keeps answering: stale, not broken
                    failures += 1
                    log.warning(
                        "could not reopen the vector index (%s); searches read the old one", exc
                    )
                    # A writer's save in progress looks the same as damage: look again later.
                    self._pending = failures < tries
        finally:
            self._renewing.release()

    def opened_now(self) -> Any:
        """A client with an instance of its own, loaded with everything committed so far (for
        an embedded folder; the store's own client for a server). A process that writes again
        after others wrote must write through such a one: its first copy is stale."""
        if not self._embedded:
            return self.client
        return _fresh_client(self.client, FreshVectors._spelling)

    def adopt(self, client: Any) -> None:
        """Search through `client` from now on (one `opened_now` gave, current with this
        process's own writes); the instance it replaces closes after the grace period."""
        if client is self.client:
            return
        with self._renewing:
            self._last = time.monotonic()
            self._use(client)

    def _swap(self) -> None:
        self._use(_fresh_client(self.client, FreshVectors._spelling))

    def _use(self, fresh: Any) -> None:
        old, self._owner = self._owner, fresh
        self.current = fresh.get_collection(self.current.name)
        if old is not None and old is not fresh:  # the store's own client stays open
            timer = threading.Timer(self.grace, old.close)
            timer.daemon = True
            timer.start()


def _fresh_client(client: Any, spelling: threading.Lock) -> Any:
    """A new embedded client on `client`'s folder with a Chroma instance of its own.

    Chroma shares one instance per folder path within a process; another spelling of the same
    path ("…/chroma/.") gets a new one, which loads the folder as it is now.
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    settings = client.get_settings()
    path = str(settings.persist_directory).rstrip("/")
    check_vectors(Path(path), strict=True)  # damaged, the instance in use keeps answering
    with spelling, locked(Path(path).parent / OPEN_LOCK):
        live = SharedSystemClient._identifier_to_system
        name = next(p for k in itertools.count(1) if (p := path + "/." * k) not in live)
        # PersistentClient writes the path into the settings it is given: hand it a copy.
        return chromadb.PersistentClient(path=name, settings=settings.model_copy())
