"""Retrieval behind one interface: what the engine may ask of any retriever, and the hybrid one.

`HybridRetriever` fuses dense search in Chroma with BM25 over the same chunks by reciprocal rank
fusion. Its keyword side is a view of the keyword index (`index/keywords.py`) that follows the
store's revision, so an ingest by this or any other process, into an embedded folder or a Chroma
server, is picked up without a restart.

The refresh rule: the revision is polled at most once every `poll_seconds` (1 s). When it moved,
the keyword index fetches only the articles committed or removed since it was last level (during
a long ingest, a few batches), so no question pays for a rebuild of the whole index. Merging the
small segments this leaves runs on a background thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Protocol

import numpy as np

from index.embedding import Embedder
from index.keywords import KeywordIndex, View
from index.records import ArticleInfo
from index.store import ChromaStore
from rag.filters import as_of_week, chroma_where
from rag.keyword import Snapshot, make_stemmer, query_tokens, tokenize, tokens_version
from rag.syndication import collapse_syndicated
from rag.types import Filters, Passage
from rag.windows import merge_windows

log = logging.getLogger(__name__)
RRF_K = 60
WIDEN = 2  # a filtered search asks for this many times what the filters' share would give
MAX_WIDE = 1500  # the widest unfiltered search worth trying before Chroma's own filter
WEEK_WIDE = 300  # the nearest chunks searched for the as-of week's own candidates


@dataclass
class Retrieval:
    """What a search found: passages, step timings, and a warning if it ran degraded."""

    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warning: str | None = None


@dataclass(frozen=True)
class Catalogue:
    """What the index holds: its articles, chunk count, outlets and publication dates."""

    articles: dict[str, ArticleInfo]
    chunks: int
    outlets: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)

    @property
    def newest(self) -> date | None:
        """Publication date of the newest article."""
        return self.dates[-1] if self.dates else None


class Retriever(Protocol):
    """What the answering engine asks of retrieval, whatever carries the index."""

    def search(self, query: str, filters: Filters, k: int) -> Retrieval:
        """Top-k passages for the query within the filters."""
        ...

    def catalogue(self) -> Catalogue:
        """The index's articles, outlets and dates as of now."""
        ...

    def matches(self, filters: Filters) -> bool:
        """Whether any passage passes the filters."""
        ...

    def terms(self, question: str) -> list[str]:
        """A question's search terms, without the words that only make it a question."""
        ...

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        """Texts as search terms, the way `terms` reads questions."""
        ...

    def weight(self, term: str) -> float:
        """How telling a term is in this corpus (its IDF)."""
        ...


@dataclass(frozen=True)
class Components:
    """The parts of hybrid retrieval that run; all by default, fewer for an ablation."""

    dense: bool = True
    keyword: bool = True
    windows: bool = True  # merge neighbouring chunks of an article into one passage
    collapse: bool = True  # fold syndicated copies into the best-ranked one


@dataclass(frozen=True)
class Pool:
    """A search's candidates before fusion: dense and BM25 scores by snapshot row, and the as-of
    week's bonus for every row (None without an as-of week)."""

    snap: Snapshot
    dense: dict[int, float]
    sparse: dict[int, float]
    bonus: np.ndarray | None


Fusion = Callable[[Pool], list[tuple[int, float]]]  # a pool's rows with fused scores, best first


def rrf(pool: Pool) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of the two rankings, plus each row's as-of bonus."""
    fused: dict[int, float] = {}
    for ranking in (pool.dense, pool.sparse):
        for rank, row in enumerate(sorted(ranking, key=lambda r: -ranking[r])):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    if pool.bonus is not None:
        bonus = pool.bonus
        fused = {row: score + float(bonus[row]) for row, score in fused.items()}
    return sorted(fused.items(), key=lambda item: -item[1])


class HybridRetriever:
    """Dense + BM25 retrieval with filters, fusion and syndicated-copy collapse.

    `fusion` orders the pooled candidates (`rrf` unless given: bench/fusion_probes.py tries
    learned ones)."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        candidates: int = 30,
        poll_seconds: float = 1.0,
        components: Components = Components(),
        keywords: KeywordIndex | None = None,
        recency: float = 0.0,
        fusion: Fusion = rrf,
    ) -> None:
        self.store = store
        self.fusion = fusion
        self.components = components
        self.recency = recency  # fused-score bonus for the as-of week's chunks
        self.embedder = embedder
        self.candidates = candidates
        self.poll_seconds = poll_seconds
        self._stemmer = make_stemmer()
        self.keywords = keywords or KeywordIndex(None, self.tokenize, tokens_version())
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._view: View | None = None
        self._checked = 0.0
        self._merging = threading.Lock()

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        """BM25 tokens of texts, with this retriever's stemmer."""
        return tokenize(texts, self._stemmer)

    def terms(self, question: str) -> list[str]:
        """BM25 tokens of a question, without the words that only make it a question."""
        return query_tokens(question, self._stemmer)

    def weight(self, term: str) -> float:
        """IDF of a term in the current snapshot."""
        return self.snapshot().weight(term)

    def matches(self, filters: Filters) -> bool:
        """Whether any committed chunk passes the filters."""
        return bool(self.snapshot().mask(filters).any())

    def catalogue(self) -> Catalogue:
        """The committed articles, chunk count, outlets and dates."""
        snap = self.snapshot()
        return Catalogue(snap.articles, snap.size, snap.outlets, snap.dates)

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

    def _refresh(self) -> None:
        """Catch the keyword index up when the store or its folder moved (a small delta)."""
        self._checked = time.monotonic()
        if self._view is not None and not self.keywords.stale(self.store, self._view):
            return
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

    def search(self, query: str, filters: Filters, k: int) -> Retrieval:
        """Top-k passages for the query within the filters, with step timings in ms."""
        result = Retrieval()
        t0 = time.perf_counter()
        snap = self.snapshot()
        if not snap.size:
            return result
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        use = self.components
        in_week = self._in_week(snap, filters)
        dense = self._dense(snap, vector, filters, result, in_week) if use.dense else {}
        t2 = time.perf_counter()
        sparse = self._bm25(snap, query, filters, in_week) if use.keyword else {}
        t3 = time.perf_counter()
        bonus = in_week * self.recency if in_week is not None else None
        ranked = (
            to_passage(snap, row, score, dense.get(row), sparse.get(row))
            for row, score in self.fusion(Pool(snap, dense, sparse, bonus))
        )
        windows = (
            merge_windows(
                ranked,
                lambda doc, n: to_passage(snap, _row(snap.row_of(doc, n)), 0.0, None, None),
                lambda cid: snap.info(_row(snap.row(cid))).chunk,
                limit=2 * k,
            )
            if use.windows
            else list(islice(ranked, 2 * k))
        )
        result.passages = collapse_syndicated(windows, limit=k) if use.collapse else windows[:k]
        result.timings.update(
            embed_ms=(t1 - t0) * 1e3,
            dense_ms=(t2 - t1) * 1e3,
            bm25_ms=(t3 - t2) * 1e3,
            fuse_ms=(time.perf_counter() - t3) * 1e3,
        )
        return result

    def _in_week(self, snap: Snapshot, filters: Filters) -> np.ndarray | None:
        """Which rows the as-of week holds, when there is a week to prefer and a weight for it.

        Each search then also brings its best candidates from that week.
        """
        week = as_of_week(filters) if self.recency else None
        in_week = snap.mask(week) if week is not None else None
        return in_week if in_week is not None and in_week.any() else None

    def _dense(
        self,
        snap: Snapshot,
        vector: list[float],
        filters: Filters,
        result: Retrieval,
        in_week: np.ndarray | None,
    ) -> dict[int, float]:
        n = min(self.candidates, snap.size)
        try:
            hits = self._searched(snap, vector, filters, n, in_week)
        except Exception as exc:
            # A vector segment cut short by a crash, a server gone, a model swapped without
            # re-ingesting: keyword search still answers, and the user is told.
            log.warning("dense search failed (%s); answering from keyword search", exc)
            reason = str(exc).splitlines()[0][:120]
            result.warning = f"Vector search failed ({reason}); answered from keyword search only."
            return {}
        rows = ((snap.row(cid), score) for cid, score in hits)
        return {row: score for row, score in rows if row is not None}

    def _searched(
        self,
        snap: Snapshot,
        vector: list[float],
        filters: Filters,
        n: int,
        in_week: np.ndarray | None,
    ) -> list[tuple[str, float]]:
        """The n nearest within the filters, and with an as-of week the week's n nearest among
        the WEEK_WIDE nearest overall.

        Chroma's search among the week's ids would find all of the week's, but costs about 20 ms
        more per question at 5,000 articles; the wide search finds the ones near enough to
        matter, and without other filters it is also the main search.
        """
        if in_week is None:
            return self._nearest(snap, vector, filters, n)
        wide = self.store.query(vector, min(max(n, WEEK_WIDE), snap.size), None)
        week = [hit for hit in wide if _kept(snap.row(hit[0]), in_week)][:n]
        unfiltered = chroma_where(filters) is None
        return (wide[:n] if unfiltered else self._nearest(snap, vector, filters, n)) + week

    def _nearest(
        self, snap: Snapshot, vector: list[float], filters: Filters, n: int
    ) -> list[tuple[str, float]]:
        """The n nearest chunks within the filters.

        Chroma's filtered search reads the metadata first (70 ms for one outlet at 30,000
        chunks, 160 ms at 135,000, minutes with a cold disk cache), so where the filters keep a
        fair share of the index the nearest are taken from one wider unfiltered search instead
        (about 10 ms for 1,000). Every chunk it keeps outranks every one it missed, so the result
        is the same whenever n of them pass. Otherwise Chroma searches among the ids the
        snapshot's mask allows (35 ms for 2,400 of 135,000), never through its metadata.
        """
        where = chroma_where(filters)
        if where is None:
            return self.store.query(vector, n, None)
        mask = snap.mask(filters)
        share = float(mask.sum()) / max(1, snap.size)
        wide = min(snap.size, int(WIDEN * n / share)) if share else 0
        if 0 < wide <= MAX_WIDE:
            hits = self.store.query(vector, wide, None)
            kept = [hit for hit in hits if _kept(snap.row(hit[0]), mask)]
            if len(kept) >= n or wide == snap.size:
                return kept[:n]
        allowed = [snap.chunk_id(int(row)) for row in np.flatnonzero(mask)]
        return self.store.query(vector, min(n, len(allowed)), None, ids=allowed)

    def _bm25(
        self, snap: Snapshot, query: str, filters: Filters, in_week: np.ndarray | None
    ) -> dict[int, float]:
        """The best BM25 candidates, and with an as-of day also the best of its week."""
        tokens = [t for t in self.terms(query) if snap.known(t)]
        if not tokens:
            return {}
        scores = snap.scores(tokens) * snap.mask(filters)
        found = _top(scores, self.candidates)
        if in_week is not None:
            found.update(_top(scores * in_week, self.candidates))
        return found


def _top(scores: np.ndarray, n: int) -> dict[int, float]:
    """The n best-scoring rows that score at all."""
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n]
    return {int(i): float(scores[i]) for i in top if scores[i] > 0}


def _kept(row: int | None, mask: np.ndarray) -> bool:
    return row is not None and bool(mask[row])


def _row(row: int | None) -> int:
    """A row the windows asked for: always one of a live article, so never None."""
    assert row is not None
    return row


def to_passage(
    snap: Snapshot, row: int, score: float, dense: float | None, bm25: float | None
) -> Passage:
    """A snapshot row as a typed passage."""
    info = snap.info(row)
    return Passage(
        doc_id=info.doc_id,
        chunk_id=snap.chunk_id(row),
        outlet=info.outlet,
        date=info.date,
        title=info.title,
        url=info.url,
        text=snap.text(row),
        start=info.start,
        end=info.end,
        score=score,
        dense=dense,
        bm25=bm25,
    )
