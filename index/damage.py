"""Whether an embedded Chroma folder's vector indexes are whole, checked before Chroma opens them.

Chroma reads its HNSW files (header, level-0 links and vectors, upper-level links) in native
code that trusts them: a link past the end of the index crashes the process with a segmentation
fault and no message, and a vector folder deleted by hand leaves searches silently empty. So the
files are checked here first, structurally: the header's sizes agree with each other and with
the files, every link count is within its bound, every link points at an element, every vector
is finite. A check that races a writer persisting the files is repeated once they are still.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import struct
import time
from pathlib import Path

import numpy as np

# hnswlib's header with Chroma's version field in front.
HEADER = struct.Struct("<iQQQQQQiIQQQdQ")
FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
ROWS = 8192  # elements checked at once: bounds the memory of a check
log = logging.getLogger(__name__)
FIX = "run `newsdesk check --repair` to rebuild it from the stored texts"


class VectorDamage(RuntimeError):
    """A vector index file of an embedded Chroma folder is missing or not whole."""


def check_vectors(chroma_dir: Path, strict: bool = False) -> None:
    """Raise `VectorDamage` naming the first damaged vector folder and the fix.

    While another process holds an ingest lease, what looks damaged may be its save in
    progress: unless `strict` (a reopen that can wait and keep its copy), that is logged, not
    refused."""
    problems = vector_damage(chroma_dir)
    if problems and not strict and _writer_active(chroma_dir.parent):
        log.warning("vector index looks damaged while an ingest writes it: %s", problems[0])
    elif problems:
        raise VectorDamage(f"damaged vector index: {problems[0]}; {FIX}")


def vector_damage(chroma_dir: Path) -> list[str]:
    """What is wrong with each vector index under an embedded Chroma folder, one line each."""
    return [f"{where}: {why}" for where, why in vector_problems(chroma_dir)]


def vector_problems(chroma_dir: Path) -> list[tuple[Path, str]]:
    """(folder or database, what is wrong) for each damaged part of an embedded Chroma folder."""
    database = chroma_dir / "chroma.sqlite3"
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2) as db:
            return [p for s, c in _vector_segments(db) if (p := _problem(db, chroma_dir, s, c))]
    except sqlite3.OperationalError:
        return []  # locked, or a journal to roll back: Chroma itself can, a reader cannot
    except sqlite3.DatabaseError as exc:
        return [(database, str(exc))]


def _problem(
    db: sqlite3.Connection, chroma_dir: Path, segment: str, collection: str
) -> tuple[Path, str] | None:
    folder = chroma_dir / segment
    if (folder / "header.bin").exists():
        why = _when_still(folder)
    elif lost := _lost(db, segment, collection):
        why = f"its files are missing ({lost} vectors)"
    else:
        why = ""  # not saved yet: Chroma's queue holds every vector
    return (folder, why) if why else None


def _writer_active(data_dir: Path) -> bool:
    """Whether another process holds an ingest lease on this data folder now."""
    for lock in data_dir.glob(".*-ingest.lock"):
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _vector_segments(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """(vector segment id, collection id) of every collection."""
    return db.execute("SELECT id, collection FROM segments WHERE scope = 'VECTOR'").fetchall()


def _lost(db: sqlite3.Connection, segment: str, collection: str) -> int:
    """How many of a collection's records a vector segment without files cannot recover: those
    Chroma saved to the folder, which its queue no longer holds."""
    saved = db.execute("SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment,)).fetchone()
    if saved is None:
        return 0
    after = saved[0] if isinstance(saved[0], int) else int.from_bytes(saved[0], "big")
    records = db.execute(
        "SELECT COUNT(*) FROM embeddings e JOIN segments m ON e.segment_id = m.id "
        "WHERE m.collection = ? AND m.scope = 'METADATA'",
        (collection,),
    ).fetchone()[0]
    queued = db.execute(
        "SELECT COUNT(DISTINCT id) FROM embeddings_queue WHERE topic LIKE ? AND seq_id > ?",
        (f"%/{collection}", after),
    ).fetchone()[0]
    return max(0, int(records) - int(queued))


def _when_still(folder: Path, tries: int = 4, pause: float = 0.5) -> str:
    """The folder's damage, believed only when it is seen again after a pause with the files
    unchanged: a writer saving them leaves them inconsistent for a moment."""
    why, seen = "", None
    for _ in range(tries):
        stamps = _stamps(folder)
        try:
            why = hnsw_damage(folder)
        except OSError as exc:
            why = f"cannot be read ({exc})"
        if not why or (why, stamps) == seen:
            return why
        seen = (why, stamps)
        time.sleep(pause)
    return why


def _stamps(folder: Path) -> list[tuple[int, int]]:
    out = []
    for name in FILES:
        try:
            st = (folder / name).stat()
        except FileNotFoundError:
            st = None
        out.append((st.st_size, st.st_mtime_ns) if st else (-1, -1))
    return out


def hnsw_damage(folder: Path) -> str:
    """What is wrong with one HNSW folder's files ("" when nothing is)."""
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        return f"{missing[0]} is missing"
    raw = (folder / "header.bin").read_bytes()
    if len(raw) != HEADER.size:
        return f"header.bin holds {len(raw)} bytes, not {HEADER.size}"
    head = _Header(*HEADER.unpack(raw))
    return head.problem(folder) or _level0_damage(folder, head) or _upper_damage(folder, head)


class _Header:
    def __init__(self, *fields: float) -> None:
        (_, _, self.capacity, self.count, self.size, self.label_at, self.data_at) = map(
            int, fields[:7]
        )
        self.top, self.entry, self.max_m, self.max_m0 = map(int, fields[7:11])

    def problem(self, folder: Path) -> str:
        if not 0 <= self.count <= self.capacity or not 0 < self.max_m <= self.max_m0 <= 4096:
            return "header.bin is not a vector index header"
        if self.data_at != 4 + 4 * self.max_m0 or self.size != self.label_at + 8:
            return "header.bin gives sizes that disagree"
        if self.label_at <= self.data_at or (self.label_at - self.data_at) % 4:
            return "header.bin gives sizes that disagree"
        if self.count and not (0 <= self.entry < self.count and 0 <= self.top < 64):
            return "header.bin points outside the index"
        if (folder / "data_level0.bin").stat().st_size < self.count * self.size:
            return "data_level0.bin is cut short"
        if (folder / "length.bin").stat().st_size < self.count * 4:
            return "length.bin is cut short"
        return ""


def _level0_damage(folder: Path, head: _Header) -> str:
    if not head.count:
        return ""
    level0 = np.memmap(folder / "data_level0.bin", np.uint8, "r", shape=(head.count, head.size))
    for start in range(0, head.count, ROWS):
        rows = level0[start : start + ROWS]
        links = np.ascontiguousarray(rows[:, : head.data_at]).view("<u4")
        if why := _links_damage(links, head.max_m0, head.count):
            return f"data_level0.bin {why}"
        vectors = np.ascontiguousarray(rows[:, head.data_at : head.label_at]).view("<f4")
        if not np.isfinite(vectors).all():
            return "data_level0.bin holds a vector that is not a number"
    return ""


def _upper_damage(folder: Path, head: _Header) -> str:
    raw = (folder / "link_lists.bin").read_bytes()
    block = 4 + 4 * head.max_m
    pieces, at = [], 0
    for _ in range(head.count):  # per element: its links' size in bytes, then the links
        if at + 4 > len(raw):
            return "link_lists.bin is cut short"
        (size,) = struct.unpack_from("<I", raw, at)
        if size % block or size // block > head.top or at + 4 + size > len(raw):
            return "link_lists.bin gives a level outside the index"
        if size:
            pieces.append(np.frombuffer(raw, np.uint8, size, at + 4))
        at += 4 + size
    if not pieces:
        return ""
    links = np.concatenate(pieces).reshape(-1, block).view("<u4")
    why = _links_damage(links, head.max_m, head.count)
    return f"link_lists.bin {why}" if why else ""


def _links_damage(links: np.ndarray, bound: int, count: int) -> str:
    """Rows of [header, id, id, …]: the low 16 bits of the header count the ids in use."""
    used = links[:, 0] & 0xFFFF
    if (used > bound).any():
        return "holds a link list longer than its bound"
    in_use = np.arange(bound) < used[:, None]
    if (links[:, 1 : bound + 1][in_use] >= count).any():
        return "holds a link to an element that does not exist"
    return ""
