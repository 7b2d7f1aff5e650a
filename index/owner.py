"""Which server owns an embedded folder's writes while it serves it.

Embedded Chroma keeps a copy of the vector index in every process that opens a folder, and of two
processes writing in turn the last to save wins: the other's vectors are lost. So while a
`newsdesk serve` holds a folder it is the folder's only writer (articles reach it through its
feed, `index.feed`), and the commands that would write beside it (`newsdesk ingest`, `newsdesk
check --repair`) find it here and stop with one line instead; a second server on the folder only
reads.

The mark is an OS lock on a file in the data folder, held for the server's life and released by
the OS however it ends; the file names the server (pid, host, URL) for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

MARK = ".newsdesk-server.lock"


class FolderServed(RuntimeError):
    """A live server owns the folder's writes."""


class ServerMark:
    """The lock a serving process holds on its data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / MARK
        self._handle: IO[str] | None = None

    def take(self, url: str) -> None:
        """Hold the folder for this process; FolderServed when another server holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise FolderServed(served_line(self.path.parent, _holder(self.path))) from None
        handle.truncate(0)
        about = {"pid": os.getpid(), "host": socket.gethostname(), "url": url}
        handle.write(json.dumps(about))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the folder back (the OS does it too when the process ends)."""
        if self._handle is not None:
            self._handle.truncate(0)
            self._handle.close()
            self._handle = None


def serving_server(data_dir: Path) -> dict[str, Any] | None:
    """The live server that holds `data_dir` (pid, host, url), or None when none does."""
    path = data_dir / MARK
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def refuse_if_served(data_dir: Path, doing: str) -> None:
    """Raise FolderServed, naming the server and the way through it, when one holds the folder."""
    holder = serving_server(data_dir)
    if holder is not None:
        raise FolderServed(served_line(data_dir, holder, doing))


def served_line(data_dir: Path, holder: dict[str, Any], doing: str = "serve it too") -> str:
    """One line: who serves the folder, and how to go through it or around it."""
    url = holder.get("url") or "its address"
    return (
        f"cannot {doing}: a Newsdesk server (pid {holder.get('pid', '?')}, {url}) serves "
        f"{data_dir} and must be its only writer; send articles to its feed (POST "
        f"{url}/api/articles, see docs/feeding.md) or stop the server first"
    )


def _holder(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text() or "{}"))
    except (OSError, ValueError):
        return {}
