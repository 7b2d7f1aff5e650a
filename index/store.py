"""The Chroma store: chunks with embeddings, one record per article, and a revision counter.

The same code runs embedded (a persistent folder) or against a Chroma server (`chroma run`).
An article's record is written only after all of its chunks, so it acts as the commit marker:
chunks whose digest differs from their article's record are leftovers of an interrupted or
superseded ingest and are ignored by readers and removed by the next ingest.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.records import ArticleInfo, ChunkInfo, article_info, chunk_info, to_metadata

_PAGE = 5000


LEASE_SECONDS = 120


class StoreError(RuntimeError):
    """The Chroma store cannot be opened or reached."""


class StoreBusy(StoreError):
    """Another ingest holds the write lease."""


def _alive(holder: dict[str, Any]) -> bool:
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


@dataclass
class ChunkRecord:
    """A chunk as stored: id, text, embedding and its typed metadata."""

    id: str
    text: str
    embedding: list[float]
    info: ChunkInfo


@dataclass
class DocRecord:
    """An article as stored: cleaned text plus its typed record."""

    id: str
    text: str
    info: ArticleInfo


def open_client(data_dir: Path, host: str | None, port: int) -> Any:
    """A Chroma client: HTTP when `host` is set, else embedded under `data_dir/chroma`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    options = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=options)
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=options)
    except Exception as exc:
        where = f"Chroma server at {host}:{port}" if host else f"Chroma folder {data_dir}"
        fix = (
            "start it with `chroma run` or unset CHROMA_HOST" if host else "check NEWSDESK_DATA_DIR"
        )
        raise StoreError(f"cannot open the {where} ({exc}); {fix}") from exc


class ChromaStore:
    """Chunks, article records and the index revision in three Chroma collections."""

    def __init__(self, client: Any, prefix: str = "newsdesk") -> None:
        self.client = client
        self.prefix = prefix
        try:
            self.chunks = client.get_or_create_collection(
                f"{prefix}_chunks",
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
            self.docs = client.get_or_create_collection(f"{prefix}_docs", embedding_function=None)
            self.meta = client.get_or_create_collection(f"{prefix}_meta", embedding_function=None)
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collections for {prefix!r} ({exc})") from exc
        self.batch = max(1, min(int(client.get_max_batch_size()), _PAGE))

    # --- writing -----------------------------------------------------------------------
    def add_chunks(self, records: Sequence[ChunkRecord]) -> None:
        """Upsert chunks (ids are deterministic, so a repeated write never duplicates)."""
        for i in range(0, len(records), self.batch):
            part = records[i : i + self.batch]
            self.chunks.upsert(
                ids=[r.id for r in part],
                documents=[r.text for r in part],
                embeddings=[r.embedding for r in part],
                metadatas=[to_metadata(r.info) for r in part],
            )

    def commit_docs(
        self, docs: Sequence[DocRecord], touched: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """Record articles as complete (one write) and drop chunks of their earlier versions.

        Only articles in `touched` (an earlier run may have left chunks) get that delete, which
        scans the collection's metadata and would dominate a large first ingest.
        """
        if not docs:
            return
        self.docs.upsert(
            ids=[d.id for d in docs],
            documents=[d.text for d in docs],
            embeddings=[[0.0] for _ in docs],
            metadatas=[to_metadata(d.info) for d in docs],
        )
        for doc in docs:
            if doc.id in touched:
                self.drop_stale(doc.id, doc.info.digest)

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove articles and all their chunks."""
        for doc_id in doc_ids:
            self.chunks.delete(where={"doc_id": doc_id})
            self.docs.delete(ids=[doc_id])

    def drop_stale(self, doc_id: str, digest: str | None) -> None:
        """Delete an article's chunks that do not belong to `digest` (all of them for None)."""
        if digest is None:
            self.chunks.delete(where={"doc_id": doc_id})
        else:
            self.chunks.delete(where={"$and": [{"doc_id": doc_id}, {"digest": {"$ne": digest}}]})

    def bump_revision(self) -> str:
        """Set a new revision, which readers poll to notice a changed index.

        A random token rather than a counter: two writers can never both write "N+1", and
        readers only compare for inequality.
        """
        revision = uuid.uuid4().hex
        self.meta.upsert(
            ids=["revision"],
            embeddings=[[0.0]],
            documents=[""],
            metadatas=[{"value": revision, "updated": time.time()}],
        )
        return revision

    # --- the ingest lease: one writer at a time, and a record of what a crash left behind ---
    def claim(self, run: str) -> list[str]:
        """Take the ingest lease for `run`; the doc ids an interrupted run was writing.

        Raises StoreBusy while another live ingest holds the lease. A holder is dead when its
        process is gone (same host) or its heartbeat is older than LEASE_SECONDS.
        """
        got = self.meta.get(ids=["pending"], include=["documents", "metadatas"])
        interrupted: list[str] = []
        if got["ids"]:
            holder = got["metadatas"][0] or {}
            if holder.get("run") and _alive(holder):
                raise StoreBusy(
                    f"another ingest is writing this index (pid {holder.get('pid')} on "
                    f"{holder.get('host')}); wait for it to finish or stop it"
                )
            interrupted = list(json.loads(got["documents"][0] or "[]"))
        self.hold(run, interrupted)
        return interrupted

    def hold(self, run: str, doc_ids: list[str]) -> None:
        """Record (or refresh) the lease and the articles this run is writing."""
        meta = {
            "run": run,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }
        self.meta.upsert(
            ids=["pending"], embeddings=[[0.0]], documents=[json.dumps(doc_ids)], metadatas=[meta]
        )

    def release(self, run: str) -> None:
        """Give the lease back after a complete run."""
        got = self.meta.get(ids=["pending"], include=["metadatas"])
        if got["ids"] and (got["metadatas"][0] or {}).get("run") == run:
            self.meta.delete(ids=["pending"])

    def pending(self) -> list[str]:
        """Articles a run is writing or an interrupted run was writing."""
        got = self.meta.get(ids=["pending"], include=["documents"])
        docs = got.get("documents") or []
        return list(json.loads(docs[0])) if docs and docs[0] else []

    # --- reading -----------------------------------------------------------------------
    def revision(self) -> str:
        """Current revision ("" for a new store)."""
        got = self.meta.get(ids=["revision"], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str(metas[0]["value"]) if metas else ""

    def articles(self) -> dict[str, ArticleInfo]:
        """Every committed article's record, keyed by doc id."""
        out: dict[str, ArticleInfo] = {}
        for ids, metas, _ in self._pages(self.docs, ["metadatas"]):
            out.update((i, article_info(m)) for i, m in zip(ids, metas, strict=True))
        return out

    def all_chunks(self) -> list[tuple[str, str, ChunkInfo]]:
        """(id, text, record) of every stored chunk."""
        out: list[tuple[str, str, ChunkInfo]] = []
        for ids, metas, docs in self._pages(self.chunks, ["metadatas", "documents"]):
            out.extend(zip(ids, docs, map(chunk_info, metas), strict=True))
        return out

    def _pages(self, collection: Any, include: list[str]) -> Iterable[tuple[list, list, list]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=_PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got["ids"], got.get("metadatas") or [], got.get("documents") or []
            offset += len(got["ids"])

    def query(
        self, embedding: list[float], n: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks (n must not exceed the count)."""
        if n <= 0:
            return []
        got = self.chunks.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where or None,
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]
