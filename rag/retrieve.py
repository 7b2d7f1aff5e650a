"""Hybrid retrieval: dense search in Chroma plus BM25 over the same chunks, fused by RRF.

The BM25 side keeps an in-memory snapshot of the committed chunks. Before a search the
retriever polls the store's revision (at most once a second), so an ingest by this or any
other process, into an embedded folder or a Chroma server, is picked up without a restart.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np

from index.embedding import Embedder
from index.store import ChromaStore
from rag.types import Filters, Passage
from rag.windows import merge_windows

log = logging.getLogger(__name__)
_WORD = re.compile(r"[a-z0-9]+")
RRF_K = 60


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


# Words that shape a question but say nothing about its subject (after stemming).
QUESTION_WORDS = frozenset(
    """
    how what who whom whose when where which why mani much about did doe do tell told say
    said happen report accord news latest anyth someth also els
    """.split()
)


def tokenize(texts: list[str], stemmer: Any) -> list[list[str]]:
    """BM25 tokens: lower-case words without English stopwords, stemmed."""
    import bm25s

    out = bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False
    )
    return [list(tokens) for tokens in out]


def query_tokens(query: str, stemmer: Any) -> list[str]:
    """Tokens of a question without the words that only make it a question."""
    return [t for t in tokenize([query], stemmer)[0] if t not in QUESTION_WORDS]


@dataclass
class Snapshot:
    """The committed chunks and articles at one store revision, with their BM25 index."""

    revision: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    by_doc: dict[tuple[str, int], int] = field(default_factory=dict)
    outlet: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    date_int: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    bm25: Any = None
    idf: dict[str, float] = field(default_factory=dict)

    def weight(self, token: str) -> float:
        """IDF of a token; words the corpus never uses weigh the most."""
        return self.idf.get(token, math.log(1 + len(self.ids) + 1))

    @cached_property
    def outlets(self) -> list[str]:
        """Known outlets, most articles first."""
        counts = Counter(m["outlet"] for m in self.docs.values() if m.get("outlet"))
        return sorted(counts, key=lambda o: (-counts[o], o))

    @cached_property
    def dates(self) -> list[str]:
        """Sorted ISO publication dates of the dated articles."""
        return sorted(m["date"] for m in self.docs.values() if m.get("date"))

    @property
    def newest(self) -> date | None:
        """Publication date of the newest article."""
        return date.fromisoformat(self.dates[-1]) if self.dates else None


def build_snapshot(store: ChromaStore, stemmer: Any) -> Snapshot:
    """Load committed chunks (digest matches their article) and index them for BM25."""
    import bm25s

    revision = store.revision()
    docs = store.doc_metadata()
    snap = Snapshot(revision=revision, docs=docs)
    for cid, text, meta in store.all_chunks():
        doc = docs.get(meta.get("doc_id", ""))
        if doc and doc.get("digest") == meta.get("digest"):
            snap.position[cid] = len(snap.ids)
            snap.by_doc[(meta["doc_id"], int(meta.get("chunk", 0)))] = len(snap.ids)
            snap.ids.append(cid)
            snap.texts.append(text)
            snap.metas.append(meta)
    snap.outlet = np.array([m.get("outlet", "") for m in snap.metas], dtype=object)
    snap.date_int = np.array([int(m.get("date_int", 0)) for m in snap.metas], dtype=np.int64)
    if snap.ids:
        tokens = tokenize(
            [f"{m.get('title', '')}\n{t}" for m, t in zip(snap.metas, snap.texts, strict=True)],
            stemmer,
        )
        snap.bm25 = bm25s.BM25()
        snap.bm25.index(tokens, show_progress=False)
        df = Counter(t for doc in tokens for t in set(doc))
        n = len(tokens)
        snap.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    return snap


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """The Chroma `where` clause for outlet and date filters."""
    clauses: list[dict[str, Any]] = []
    if filters.outlet:
        clauses.append({"outlet": filters.outlet})
    if filters.since:
        clauses.append({"date_int": {"$gte": int(filters.since.strftime("%Y%m%d"))}})
    if filters.until:
        # Undated articles (date_int 0) must not pass an "until" filter.
        clauses.append({"date_int": {"$lte": int(filters.until.strftime("%Y%m%d"))}})
        clauses.append({"date_int": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def filter_mask(snap: Snapshot, filters: Filters) -> np.ndarray:
    """Boolean mask over the snapshot's chunks that pass the filters."""
    mask = np.ones(len(snap.ids), dtype=bool)
    if filters.outlet:
        mask &= snap.outlet == filters.outlet
    if filters.since:
        mask &= snap.date_int >= int(filters.since.strftime("%Y%m%d"))
    if filters.until:
        mask &= (snap.date_int <= int(filters.until.strftime("%Y%m%d"))) & (snap.date_int > 0)
    return mask


@dataclass
class Retrieval:
    """What a search found: passages, step timings, and a warning if it ran degraded."""

    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warning: str | None = None


class HybridRetriever:
    """Dense + BM25 retrieval with filters, fusion and syndicated-copy collapse."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        candidates: int = 30,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.poll_seconds = poll_seconds
        self._stemmer = _stemmer()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked = 0.0

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        """BM25 tokens of texts, with this retriever's stemmer."""
        return tokenize(texts, self._stemmer)

    def question_tokens(self, question: str) -> list[str]:
        """BM25 tokens of a question, without the words that only make it a question."""
        return query_tokens(question, self._stemmer)

    def snapshot(self) -> Snapshot:
        """The current snapshot, rebuilt when the store's revision moved.

        One caller rebuilds while the others keep answering from the old snapshot, so an
        ingest never stalls the questions in flight (only the very first build is waited for).
        """
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.poll_seconds:
            return snap
        if not self._lock.acquire(blocking=snap is None):
            return snap  # type: ignore[return-value]  # another thread is rebuilding
        try:
            if self._snapshot is None or time.monotonic() - self._checked >= self.poll_seconds:
                self._checked = time.monotonic()
                if self._snapshot is None or self.store.revision() != self._snapshot.revision:
                    self._snapshot = build_snapshot(self.store, self._stemmer)
            return self._snapshot
        finally:
            self._lock.release()

    def search(self, query: str, filters: Filters, k: int) -> Retrieval:
        """Top-k passages for the query within the filters, with step timings in ms."""
        result = Retrieval()
        t0 = time.perf_counter()
        snap = self.snapshot()
        if not snap.ids:
            return result
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        dense = self._dense(snap, vector, filters, result)
        t2 = time.perf_counter()
        sparse = self._bm25(snap, query, filters)
        t3 = time.perf_counter()
        windows = merge_windows(
            self._fuse(snap, dense, sparse),
            lambda doc, n: to_passage(snap, snap.ids[snap.by_doc[(doc, n)]], 0.0, None, None),
            lambda cid: int(snap.metas[snap.position[cid]].get("chunk", 0)),
            limit=2 * k,
        )
        result.passages = collapse_syndicated(windows, limit=k)
        result.timings.update(
            embed_ms=(t1 - t0) * 1e3,
            dense_ms=(t2 - t1) * 1e3,
            bm25_ms=(t3 - t2) * 1e3,
            fuse_ms=(time.perf_counter() - t3) * 1e3,
        )
        return result

    def _dense(
        self, snap: Snapshot, vector: list[float], filters: Filters, result: Retrieval
    ) -> dict[str, float]:
        n = min(self.candidates, len(snap.ids))
        try:
            hits = self.store.query(vector, n, chroma_where(filters))
        except Exception as exc:
            # A vector segment cut short by a crash, a server gone, a model swapped without
            # re-ingesting: keyword search still answers, and the user is told.
            log.warning("dense search failed (%s); answering from keyword search", exc)
            result.warning = f"Vector search failed ({str(exc).splitlines()[0][:120]}); answered from keyword search only."
            return {}
        return {cid: score for cid, score in hits if cid in snap.position}

    def _bm25(self, snap: Snapshot, query: str, filters: Filters) -> dict[str, float]:
        tokens = [t for t in self.question_tokens(query) if t in snap.idf]
        if not tokens or snap.bm25 is None:
            return {}
        scores = snap.bm25.get_scores(tokens) * filter_mask(snap, filters)
        n = min(self.candidates, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {snap.ids[i]: float(scores[i]) for i in top if scores[i] > 0}

    def _fuse(
        self, snap: Snapshot, dense: dict[str, float], sparse: dict[str, float]
    ) -> Iterator[Passage]:
        """Passages in reciprocal-rank-fusion order, built only as far as they are read."""
        fused: dict[str, float] = {}
        for ranking in (dense, sparse):
            for rank, cid in enumerate(sorted(ranking, key=lambda c: -ranking[c])):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        for cid in sorted(fused, key=lambda c: -fused[c]):
            yield to_passage(snap, cid, fused[cid], dense.get(cid), sparse.get(cid))


def to_passage(
    snap: Snapshot, cid: str, score: float, dense: float | None, bm25: float | None
) -> Passage:
    """A snapshot chunk as a typed passage."""
    i = snap.position[cid]
    meta = snap.metas[i]
    return Passage(
        **source_fields(cid, meta),
        text=snap.texts[i],
        start=int(meta["start"]),
        end=int(meta["end"]),
        score=score,
        dense=dense,
        bm25=bm25,
    )


def source_fields(cid: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The Source fields of a stored chunk or article."""
    return {
        "doc_id": meta["doc_id"],
        "chunk_id": cid,
        "outlet": meta.get("outlet") or None,
        "date": date.fromisoformat(meta["date"]) if meta.get("date") else None,
        "title": meta.get("title", ""),
        "url": meta.get("url") or None,
    }


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of a text, lower-cased."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def collapse_syndicated(
    passages: Iterable[Passage], threshold: float = 0.5, limit: int | None = None
) -> list[Passage]:
    """Fold near-duplicate passages from other articles into the best-ranked copy's `also_in`.

    Two passages are copies when at least `threshold` of the shorter one's word 5-grams occur
    in the other: the same wire story republished, whatever the surrounding page.
    """
    kept: list[tuple[Passage, set[tuple[str, ...]]]] = []
    for passage in passages:
        if limit is not None and len(kept) >= limit:
            break
        grams = shingles(passage.text)
        for other, other_grams in kept:
            if other.doc_id == passage.doc_id:
                continue
            overlap = len(grams & other_grams) / max(min(len(grams), len(other_grams)), 1)
            if overlap >= threshold:
                other.also_in.append(passage.source())
                break
        else:
            kept.append((passage, grams))
    return [p for p, _ in kept]
