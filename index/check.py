"""`newsdesk check`: whether a data folder is whole, and rebuilding what is not.

Vector indexes are checked structurally (`index.damage`), keyword segments against their
checksums. A repair moves each damaged vector folder aside (kept, and named in the report),
writes its collection's records back from what Chroma's database still holds (texts and
metadata; chunks embedded again with the configured model), under the ingest lock so no
ingest writes meanwhile, then refills a damaged keyword index from the store.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import getpid
from pathlib import Path
from socket import gethostname
from typing import Any

from index.client import open_client, pages
from index.damage import vector_damage, vector_problems
from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.lease import StoreError, busy, holder_of
from index.prepare import embedding_text
from index.records import chunk_info
from index.store import ChromaStore


@dataclass(frozen=True)
class Damaged:
    """A collection whose vector folder is damaged or missing."""

    collection: str
    folder: Path
    dimension: int


def damage(data_dir: Path, keywords: KeywordIndex) -> list[str]:
    """Everything wrong with an embedded data folder, one line each."""
    return vector_damage(data_dir / "chroma") + keywords.damage()


def repair(
    data_dir: Path,
    prefix: str,
    keywords: KeywordIndex,
    embedder: Callable[[], Embedder],
    log: Callable[[str], None],
) -> None:
    """Rebuild every damaged vector index and keyword segment of an embedded data folder,
    holding the ingest lock throughout (StoreBusy while an ingest writes)."""
    with _ingest_lock(data_dir, prefix):
        # Checked again under the lock: what an ingest was saving a moment ago is whole now.
        # Damaged folders go aside before Chroma opens anything that might load them.
        broken = _damaged(data_dir / "chroma")
        _move_aside(broken, log)
        store = ChromaStore(open_client(data_dir, None, 0, check=False), prefix)
        for item in broken:
            model = embedder() if item.collection == store.chunks.name else None
            collection = store.client.get_collection(item.collection)
            written = _write_back(collection, model, item.dimension)
            log(f"rebuilt the vector index of {item.collection}: {written} records")
    if keywords.damage():
        keywords.refill(store)
        log(f"refilled the keyword index {keywords.folder} from the store")


@contextmanager
def _ingest_lock(data_dir: Path, prefix: str) -> Iterator[None]:
    """The file lock an ingest of this store takes, without waiting for it."""
    path = data_dir / f".{prefix}-ingest.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy(holder_of(path)) from None
        handle.truncate(0)  # who holds it, for an ingest that finds it taken
        handle.write(json.dumps({"run": "check --repair", "host": gethostname(), "pid": getpid()}))
        handle.flush()
        yield  # closing the file releases the lock


def _move_aside(broken: list[Damaged], log: Callable[[str], None]) -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for item in broken:
        if item.folder.exists():
            aside = item.folder.with_name(f"{item.folder.name}.damaged-{stamp}")
            item.folder.rename(aside)
            log(f"moved {item.folder} aside to {aside.name}")


def _write_back(collection: Any, model: Embedder | None, dimension: int) -> int:
    """Upsert every record of a collection with its vector made again; how many."""
    written = 0
    for ids, metadatas, documents in list(pages(collection, ["documents", "metadatas"])):
        if model is None:
            vectors = [[0.0] * dimension for _ in ids]  # bookkeeping collections: no meaning
        else:
            texts = [
                embedding_text(d or "", chunk_info(m or {}))
                for d, m in zip(documents, metadatas, strict=True)
            ]
            vectors = model.embed_documents(texts)
        collection.upsert(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)
        written += len(ids)
    return written


def _damaged(chroma_dir: Path) -> list[Damaged]:
    """The collections whose vector folder `vector_problems` finds wrong."""
    bad = {where for where, _ in vector_problems(chroma_dir)}
    if not bad:
        return []
    database = chroma_dir / "chroma.sqlite3"
    if database in bad:
        raise StoreError(f"{database} is damaged; ingest the articles again into a new data folder")
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT s.id, c.name, c.dimension FROM segments s JOIN collections c "
            "ON s.collection = c.id WHERE s.scope = 'VECTOR'"
        ).fetchall()
    return [
        Damaged(name, chroma_dir / segment, int(dimension or 1))
        for segment, name, dimension in rows
        if chroma_dir / segment in bad
    ]
