"""The Chroma store: chunks with embeddings, one record per article, and a revision counter.

The same code runs embedded (a persistent folder) or against a Chroma server (`chroma run`).
An article's record is written only after all of its chunks, so it acts as the commit marker:
chunks whose digest differs from their article's record are leftovers of an interrupted or
superseded ingest and are ignored by readers and removed by the next ingest.

Every write that changes what readers see (`commit_docs`, `delete_docs`) moves the revision, so a
reader polling `revision()` notices each committed batch, also when the ingest is killed later.

One ingest writes at a time. On an embedded folder the lease is an OS file lock (`flock`) held
for the whole run: exact, and released by the OS when the process exits or is killed. A Chroma
server shares no filesystem, so there the lease is a record in the meta collection, claimed by
write, wait, read back: best effort. Two claims both win only when one process stalls between
reading and writing the record for longer than that wait, and then the other run's next `hold`
(before it writes another article) sees the newer holder and stops.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from index.client import OPEN_LOCK, lock_dir
from index.lease import (
    CLAIM_SETTLE_SECONDS,
    StoreError,
    alive,
    busy,
    holder_of,
    locked,
    refuse_live,
)
from index.records import (
    ArticleInfo,
    Changes,
    ChunkInfo,
    ChunkRecord,
    DocRecord,
    article_info,
    chunk_info,
    to_metadata,
)

_PAGE = 5000


class ChromaStore:
    """Chunks, article records and the index revision in three Chroma collections."""

    def __init__(self, client: Any, prefix: str = "newsdesk") -> None:
        self.client = client
        self.prefix = prefix
        self.lock_dir = lock_dir(client)
        self._leases: dict[str, Any] = {}  # run -> open lease file (embedded only)
        try:
            with self._opening():
                self._open_collections()
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collections for {prefix!r} ({exc})") from exc
        self.batch = max(1, min(int(client.get_max_batch_size()), _PAGE))

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
        seq = self._next_seq()
        # Metadata only: nothing reads an article's text back from here (its chunks hold it),
        # and Chroma indexing it for full-text search cost a fifth of a first ingest's writes.
        self.docs.upsert(
            ids=[d.id for d in docs],
            embeddings=[[0.0] for _ in docs],
            metadatas=[{**to_metadata(d.info), "seq": seq} for d in docs],
        )
        for doc in docs:
            if doc.id in touched:
                self.drop_stale(doc.id, doc.info.digest)
        self.bump_revision(seq)

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove articles and all their chunks, leave a tombstone each, move the revision."""
        doc_ids = list(doc_ids)
        if not doc_ids:
            return
        seq = self._next_seq()
        # Tombstones first: readers catch up from a sequence number, also when a kill stops
        # this before the deletes or the revision move (a tombstone outranks an older record).
        self.meta.upsert(
            ids=[f"gone:{d}" for d in doc_ids],
            embeddings=[[0.0] for _ in doc_ids],
            documents=["" for _ in doc_ids],
            metadatas=[{"kind": "gone", "doc_id": d, "seq": seq} for d in doc_ids],
        )
        for doc_id in doc_ids:
            self.chunks.delete(where={"doc_id": doc_id})
            self.docs.delete(ids=[doc_id])
        self.bump_revision(seq)

    def drop_stale(self, doc_id: str, digest: str | None) -> None:
        """Delete an article's chunks that do not belong to `digest` (all of them for None).

        No revision move: readers never use chunks whose digest differs from their article's.
        """
        if digest is None:
            self.chunks.delete(where={"doc_id": doc_id})
        else:
            self.chunks.delete(where={"$and": [{"doc_id": doc_id}, {"digest": {"$ne": digest}}]})

    def bump_revision(self, seq: float | None = None) -> str:
        """Set a new revision, which readers poll to notice a changed index.

        A random token rather than a counter: two writers can never both write "N+1", and
        readers only compare for inequality. `seq` is the commit sequence it stands for.
        """
        revision = uuid.uuid4().hex
        self.meta.upsert(
            ids=["revision"],
            embeddings=[[0.0]],
            documents=[""],
            metadatas=[{"value": revision, "updated": time.time(), "seq": seq or self._next_seq()}],
        )
        return revision

    def _next_seq(self) -> float:
        """The next commit sequence: the clock, never behind the last one (another writer's
        clock may be), so readers can catch up by asking for everything after what they saw."""
        return max(time.time(), self.head()[1] + 1e-3)

    # --- the ingest lease: one writer at a time, and a record of what a crash left behind ---
    def claim(self, run: str) -> list[str]:
        """Take the ingest lease for `run`; the doc ids an interrupted run was writing.

        Raises StoreBusy while another ingest holds the lease. Embedded, the lease is a file
        lock, so exactly one of two racing claims wins. On a server a holder is dead when its
        process is gone (same host) or its heartbeat is older than LEASE_SECONDS, and a claim
        writes, waits CLAIM_SETTLE_SECONDS and reads back, backing off if another run won.
        """
        if self.lock_dir is None:
            return self._claim_record(run)
        self._lock_lease(run)
        try:
            interrupted = self._lease_record()[1]  # we hold the lock: any holder recorded is dead
            self._write_lease(run, interrupted)
        except BaseException:
            self._unlock(run)  # a failed claim must not keep the lock for this process's life
            raise
        return interrupted

    def _claim_record(self, run: str) -> list[str]:
        """Claim on a server: refuse a live holder, write, wait, read back."""
        holder, interrupted = self._lease_record()
        refuse_live(holder, run)
        self._write_lease(run, interrupted)
        self._confirm(run)
        return interrupted

    def hold(self, run: str, doc_ids: list[str]) -> None:
        """Record (or refresh) the lease and the articles this run is writing.

        On a server, raises StoreBusy if another live run has taken the lease meanwhile (a
        claim race the read-back missed), before this run writes any chunk of a new article.
        """
        if self.lock_dir is None:
            refuse_live(self._lease_record()[0], run)
        self._write_lease(run, doc_ids)

    def release(self, run: str) -> None:
        """Give the lease back after a complete run."""
        if self._lease_record()[0].get("run") == run:
            self.meta.delete(ids=["pending"])
        self._unlock(run)

    def drop_lease(self, run: str) -> None:
        """Give the lease up after a failed run, keeping what it was writing for the next run."""
        holder, doc_ids = self._lease_record()
        if holder.get("run") == run:
            self._write_lease("", doc_ids)  # no run: nobody holds it, the next claim finishes
        self._unlock(run)

    def writing(self) -> bool:
        """Whether a live ingest holds the lease now (a killed one on this host does not)."""
        holder = self._lease_record()[0]
        return bool(holder.get("run")) and alive(holder)

    def pending(self) -> list[str]:
        """Articles a run is writing or an interrupted run was writing."""
        return self._lease_record()[1]

    def _lease_record(self) -> tuple[dict[str, Any], list[str]]:
        """The lease holder (run, host, pid, heartbeat) and the doc ids it is writing."""
        got = self.meta.get(ids=["pending"], include=["documents", "metadatas"])
        if not got["ids"]:
            return {}, []
        docs = got.get("documents") or [None]
        return dict(got["metadatas"][0] or {}), list(json.loads(docs[0] or "[]"))

    def _write_lease(self, run: str, doc_ids: list[str]) -> None:
        meta = {
            "run": run,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }
        self.meta.upsert(
            ids=["pending"], embeddings=[[0.0]], documents=[json.dumps(doc_ids)], metadatas=[meta]
        )

    def _lock_lease(self, run: str) -> None:
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
        self._leases[run] = handle  # held open until release; the OS drops it if we die

    def _unlock(self, run: str) -> None:
        handle = self._leases.pop(run, None)
        if handle is not None:
            handle.truncate(0)  # so a later loser never names a holder that is gone
            handle.close()

    def _confirm(self, run: str) -> None:
        """After a claim on a server: wait for racing claims to land; the last write wins."""
        time.sleep(CLAIM_SETTLE_SECONDS)
        holder = self._lease_record()[0]
        if holder.get("run") != run:
            raise busy(holder)

    # --- reading -----------------------------------------------------------------------
    def revision(self) -> str:
        """Current revision ("" for a new store)."""
        return self.head()[0]

    def head(self) -> tuple[str, float]:
        """(revision, commit sequence) of the last change; ("", 0.0) for a new store."""
        got = self.meta.get(ids=["revision"], include=["metadatas"])
        metas = got.get("metadatas") or []
        if not metas:
            return "", 0.0
        return str(metas[0]["value"]), float(metas[0].get("seq") or 0.0)

    def identity(self) -> str:
        """What tells this store's chunks collection from another of the same name."""
        return str(self.chunks.id)

    def count(self) -> int:
        """Number of committed articles."""
        return int(self.docs.count())

    def changes(self, since: float) -> Changes:
        """Articles committed and removed after commit sequence `since`."""
        seq = self.head()[1]
        out = Changes(seq)
        where = {"seq": {"$gt": since}}
        for ids, metas, _ in self._pages(self.docs, ["metadatas"], where):
            for doc_id, meta in zip(ids, metas, strict=True):
                out.docs[doc_id] = article_info(meta)
                out.seq = max(out.seq, float(meta["seq"]))
        gone = {"$and": [{"kind": "gone"}, {"seq": {"$gt": since}}]}
        for _, metas, _ in self._pages(self.meta, ["metadatas"], gone):
            for meta in metas:
                out.gone[str(meta["doc_id"])] = float(meta["seq"])
                out.seq = max(out.seq, float(meta["seq"]))
        return out

    def moved_since(self, seq: float) -> bool:
        """Whether anything was committed or removed after `seq`, revision moved or not.

        A writer killed between its article records and its revision move leaves commits the
        revision does not announce; readers that poll this too still see them.
        """
        seq = max(seq, -1.0)  # sequences are clock times; Chroma's filters take finite numbers
        newer = self.docs.get(where={"seq": {"$gt": seq}}, limit=1, include=[])
        if newer["ids"]:
            return True
        gone = {"$and": [{"kind": "gone"}, {"seq": {"$gt": seq}}]}
        return bool(self.meta.get(where=gone, limit=1, include=[])["ids"])

    def chunks_of(self, doc_ids: Sequence[str]) -> list[tuple[str, str, ChunkInfo]]:
        """(id, text, record) of every stored chunk of these articles."""
        out: list[tuple[str, str, ChunkInfo]] = []
        for i in range(0, len(doc_ids), 100):
            where = {"doc_id": {"$in": list(doc_ids[i : i + 100])}}
            for ids, metas, docs in self._pages(self.chunks, ["metadatas", "documents"], where):
                out.extend(zip(ids, docs, map(chunk_info, metas), strict=True))
        return out

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

    def _pages(
        self, collection: Any, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterable[tuple[list, list, list]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=_PAGE, offset=offset, where=where)
            if not got["ids"]:
                return
            yield got["ids"], got.get("metadatas") or [], got.get("documents") or []
            offset += len(got["ids"])

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
        got = self.chunks.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where or None,
            ids=ids,
            include=["distances"],
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]
