"""The Chroma store: chunks with embeddings, one record per article, its revisions and lease.

The same code runs embedded (a persistent folder) or against a Chroma server (`chroma run`).
An article's record is written only after all of its chunks, so it acts as the commit marker:
chunks whose digest differs from their article's record are leftovers of an interrupted or
superseded ingest and are ignored by readers and removed by the next ingest.

Every write that changes what readers see is numbered and moves the revision
(`index.revision`), so readers notice it and catch up with it. One ingest writes at a time: it
holds the store's lease (`index.lease`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from index.client import OPEN_LOCK, PAGE, lock_dir, pages
from index.fresh import FreshVectors
from index.lease import Lease, StoreError, locked
from index.records import (
    ArticleInfo,
    ChunkInfo,
    ChunkRecord,
    DocRecord,
    article_info,
    chunk_info,
    to_metadata,
)
from index.revision import Revisions


class ChromaStore:
    """Chunks, article records and the index's revision and lease in three Chroma collections.

    `revisions` numbers the commits and moves the revision; `lease` lets one ingest write."""

    def __init__(self, client: Any, prefix: str = "newsdesk") -> None:
        self.client = client
        self.prefix = prefix
        self.lock_dir = lock_dir(client)
        try:
            with self._opening():
                self._open_collections()
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collections for {prefix!r} ({exc})") from exc
        self.batch = max(1, min(int(client.get_max_batch_size()), PAGE))
        self.revisions = Revisions(self.docs, self.meta)
        # Searches read vectors through this; writes go through `chunks`.
        self.vectors = FreshVectors(client, self.chunks)
        self.lease = Lease(self.meta, self.lock_dir, prefix)

    def _opening(self) -> AbstractContextManager[None]:
        """The cross-process lock around creating collections (embedded folders only)."""
        return locked(self.lock_dir / OPEN_LOCK) if self.lock_dir else nullcontext()

    def _open_collections(self) -> None:
        self.chunks = self.client.get_or_create_collection(
            f"{self.prefix}_chunks",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        self.docs = self.client.get_or_create_collection(
            f"{self.prefix}_docs", embedding_function=None
        )
        self.meta = self.client.get_or_create_collection(
            f"{self.prefix}_meta", embedding_function=None
        )

    # --- writing -----------------------------------------------------------------------
    def add_chunks(self, records: Sequence[ChunkRecord], fresh: bool = False) -> None:
        """Write chunks; ids are deterministic, so a repeated write never duplicates.

        `fresh` chunks belong to articles no run has written before: they are added, which
        Chroma does faster than an upsert (no lookup of an earlier row). An id names its
        article's digest, so an add that meets one already stored skips an identical row.
        """
        write = self.chunks.add if fresh else self.chunks.upsert
        for i in range(0, len(records), self.batch):
            part = records[i : i + self.batch]
            write(
                ids=[r.id for r in part],
                documents=[r.text for r in part],
                embeddings=[r.embedding for r in part],
                metadatas=[to_metadata(r.info) for r in part],
            )

    def commit_docs(
        self, docs: Sequence[DocRecord], touched: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """Record articles as complete (one write), drop their earlier chunks, move the revision.

        Only articles in `touched` (an earlier run may have left chunks) get that delete, which
        scans the collection's metadata and would dominate a large first ingest. The revision
        moves with every batch (one small upsert), so readers see each commit at once, also
        when the run is killed before it finishes.
        """
        if not docs:
            return
        seq = self.revisions.next_seq()
        # Metadata only: nothing reads an article's text back from here (its chunks hold it),
        # and Chroma would index it for full-text search on every write.
        self.docs.upsert(
            ids=[d.id for d in docs],
            embeddings=[[0.0] for _ in docs],
            metadatas=[{**to_metadata(d.info), "seq": seq} for d in docs],
        )
        for doc in docs:
            if doc.id in touched:
                self.drop_stale(doc.id, doc.info.digest)
        self.revisions.bump(seq)

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove articles and all their chunks, leave a tombstone each, move the revision."""
        doc_ids = list(doc_ids)
        if not doc_ids:
            return
        seq = self.revisions.next_seq()
        # Tombstones first: readers catch up from a sequence number, also when a kill stops
        # this before the deletes or the revision move (a tombstone outranks an older record).
        self.revisions.tombstone(doc_ids, seq)
        for doc_id in doc_ids:
            self.chunks.delete(where={"doc_id": doc_id})
            self.docs.delete(ids=[doc_id])
        self.revisions.bump(seq)

    def drop_stale(self, doc_id: str, digest: str | None) -> None:
        """Delete an article's chunks that do not belong to `digest` (all of them for None).

        No revision move: readers never use chunks whose digest differs from their article's.
        """
        if digest is None:
            self.chunks.delete(where={"doc_id": doc_id})
        else:
            self.chunks.delete(where={"$and": [{"doc_id": doc_id}, {"digest": {"$ne": digest}}]})

    # --- reading -----------------------------------------------------------------------
    def identity(self) -> str:
        """What tells this store's chunks collection from another of the same name."""
        return str(self.chunks.id)

    def count(self) -> int:
        """Number of committed articles."""
        return int(self.docs.count())

    def chunks_of(self, doc_ids: Sequence[str]) -> list[tuple[str, str, ChunkInfo]]:
        """(id, text, record) of every stored chunk of these articles."""
        out: list[tuple[str, str, ChunkInfo]] = []
        for i in range(0, len(doc_ids), 100):
            where = {"doc_id": {"$in": list(doc_ids[i : i + 100])}}
            for ids, metas, docs in pages(self.chunks, ["metadatas", "documents"], where):
                out.extend(zip(ids, docs, map(chunk_info, metas), strict=True))
        return out

    def holds(self, doc_id: str) -> bool:
        """Whether an article with this doc id is committed."""
        return bool(self.docs.get(ids=[doc_id], include=[])["ids"])

    def articles(self) -> dict[str, ArticleInfo]:
        """Every committed article's record, keyed by doc id."""
        out: dict[str, ArticleInfo] = {}
        for ids, metas, _ in pages(self.docs, ["metadatas"]):
            out.update((i, article_info(m)) for i, m in zip(ids, metas, strict=True))
        return out

    def query(
        self,
        embedding: list[float],
        n: int,
        where: dict[str, Any] | None,
        ids: list[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks (n must not exceed the count),
        among `ids` when given."""
        if n <= 0:
            return []
        got = self.vectors.current.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where or None,
            ids=ids,
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]
