"""The store's revision and commit sequence: how readers notice commits and catch up with them.

Every write that changes what readers see (`ChromaStore.commit_docs`, `delete_docs`) is numbered
with a commit sequence (stored on each article record and on each removal's tombstone) and moves
the revision, so a reader polling `current()` notices each committed batch, also when the ingest is
killed later, and a reader that saw commits up to N asks for `changes(N)`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from index.client import pages
from index.records import Changes, article_info

REVISION = "revision"  # the meta collection's record of the current revision


class Revisions:
    """The revision record, the commit sequence and the tombstones, in the store's `meta`
    collection, read together with the article records of its `docs` collection."""

    def __init__(self, docs: Any, meta: Any) -> None:
        self.docs = docs
        self.meta = meta

    # --- writing -----------------------------------------------------------------------
    def bump(self, seq: float | None = None) -> str:
        """Set a new revision, which readers poll to notice a changed index.

        A random token rather than a counter: two writers can never both write "N+1", and
        readers only compare for inequality. `seq` is the commit sequence it stands for.
        """
        revision = uuid.uuid4().hex
        self.meta.upsert(
            ids=[REVISION],
            embeddings=[[0.0]],
            documents=[""],
            metadatas=[{"value": revision, "updated": time.time(), "seq": seq or self.next_seq()}],
        )
        return revision

    def next_seq(self) -> float:
        """The next commit sequence: the clock, never behind the last one (another writer's
        clock may be), so readers can catch up by asking for everything after what they saw."""
        return max(time.time(), self.head()[1] + 1e-3)

    def tombstone(self, doc_ids: Iterable[str], seq: float) -> None:
        """Record the removal of these articles as of commit sequence `seq`."""
        doc_ids = list(doc_ids)
        self.meta.upsert(
            ids=[f"gone:{d}" for d in doc_ids],
            embeddings=[[0.0] for _ in doc_ids],
            documents=["" for _ in doc_ids],
            metadatas=[{"kind": "gone", "doc_id": d, "seq": seq} for d in doc_ids],
        )

    # --- reading -----------------------------------------------------------------------
    def current(self) -> str:
        """Current revision ("" for a new store)."""
        return self.head()[0]

    def head(self) -> tuple[str, float]:
        """(revision, commit sequence) of the last change; ("", 0.0) for a new store."""
        got = self.meta.get(ids=[REVISION], include=["metadatas"])
        metas = got.get("metadatas") or []
        if not metas:
            return "", 0.0
        return str(metas[0]["value"]), float(metas[0].get("seq") or 0.0)

    def changes(self, since: float) -> Changes:
        """Articles committed and removed after commit sequence `since`."""
        seq = self.head()[1]
        out = Changes(seq)
        where = {"seq": {"$gt": since}}
        for ids, metas, _ in pages(self.docs, ["metadatas"], where):
            for doc_id, meta in zip(ids, metas, strict=True):
                out.docs[doc_id] = article_info(meta)
                out.seq = max(out.seq, float(meta["seq"]))
        gone = {"$and": [{"kind": "gone"}, {"seq": {"$gt": since}}]}
        for _, metas, _ in pages(self.meta, ["metadatas"], gone):
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
