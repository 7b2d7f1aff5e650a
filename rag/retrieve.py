"""Retrieval behind one interface: what the engine may ask of any retriever, and the hybrid one.

`HybridRetriever` fuses dense search in Chroma with BM25 over the same chunks by reciprocal rank
fusion. Its keyword side is a snapshot of the keyword index that follows the store's commits
(`index.keyword.LiveKeywords`, which also says how often it looks), so an ingest by this or any
other process, into an embedded folder or a Chroma server, is picked up without a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from index.embedding import Embedder
from index.keyword import (
    KeywordIndex,
    LiveKeywords,
    Snapshot,
    make_stemmer,
    query_tokens,
)
from index.records import ArticleInfo
from index.roles import within
from index.store import ChromaStore
from rag.filters import as_of_week, chroma_where, conditions
from rag.syndication import collapse_syndicated
from rag.types import Filters, Passage
from rag.windows import merge_windows

log = logging.getLogger(__name__)
RRF_K = 60
WIDEN = 2  # a filtered search asks for this many times what the filters' share would give
MAX_WIDE = 1500  # the widest unfiltered search worth trying before Chroma's own filter
WEEK_WIDE = 300  # the nearest chunks searched for the as-of week's own candidates


@dataclass(frozen=True)
class Terms:
    """A question's search terms with their weight (IDF) in the corpus searched.

    `focus` are the question's own words; `context` the words of the query it was searched with
    when that differs (a follow-up carries words over from earlier turns).
    """

    focus: dict[str, float] = field(default_factory=dict)
    context: dict[str, float] = field(default_factory=dict)


@dataclass
class Retrieval:
    """What a search found: passages with their scores, the question's weighted terms, step
    timings, and a warning if it ran degraded."""

    passages: list[Passage] = field(default_factory=list)
    terms: Terms = field(default_factory=Terms)
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

    def search(self, query: str, filters: Filters, k: int, focus: str | None = None) -> Retrieval:
        """Top-k passages for the query within the filters, and the weighted terms of `focus`
        (the question's own words; the query's when None) and of the query."""
        ...

    def catalogue(self) -> Catalogue:
        """The index's articles, outlets and dates as of now."""
        ...

    def matches(self, filters: Filters) -> bool:
        """Whether any passage passes the filters."""
        ...


@dataclass(frozen=True)
class Pool:
    """A search's candidates before fusion: dense and BM25 scores by snapshot row, and the as-of
    week's bonus for every row (None without an as-of week)."""

    snap: Snapshot
    dense: dict[int, float]
    sparse: dict[int, float]
    bonus: np.ndarray | None


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
    """Dense + BM25 retrieval with filters, fusion, neighbouring-chunk windows and
    syndicated-copy collapse. Each step is a public method, so a benchmark can recombine them."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        keywords: KeywordIndex,
        candidates: int = 30,
        poll_seconds: float = 1.0,
        recency: float = 0.0,
    ) -> None:
        self.store = store
        self.recency = recency  # fused-score bonus for the as-of week's chunks
        self.embedder = embedder
        self.candidates = candidates
        self._stemmer = make_stemmer()
        self.live = LiveKeywords(keywords, store, poll_seconds)

    def terms(self, question: str) -> list[str]:
        """BM25 tokens of a question, without the words that only make it a question."""
        return query_tokens(question, self._stemmer)

    def matches(self, filters: Filters) -> bool:
        """Whether any committed chunk passes the filters."""
        return bool(self.snapshot().mask(conditions(filters)).any())

    def catalogue(self) -> Catalogue:
        """The committed articles, chunk count, outlets and dates."""
        snap = self.snapshot()
        return Catalogue(snap.articles, snap.size, snap.outlets, snap.dates)

    def snapshot(self) -> Snapshot:
        """The keyword index as of the store's latest commit (`LiveKeywords.snapshot`)."""
        return self.live.snapshot()

    def search(self, query: str, filters: Filters, k: int, focus: str | None = None) -> Retrieval:
        """Top-k passages for the query within the filters, with the question's weighted terms
        and step timings in ms."""
        result, started = Retrieval(), time.perf_counter()
        snap = self.snapshot()
        if not snap.size:
            return result
        waited = (time.perf_counter() - started) * 1e3
        pool = self.pool(snap, query, filters, result)
        result.timings["embed_ms"] += waited  # a catch-up of the snapshot delays the first step
        t0 = time.perf_counter()
        result.passages = self.passages(pool, rrf(pool), k)
        result.terms = self.weighted_terms(snap, query, focus)
        result.timings["fuse_ms"] = (time.perf_counter() - t0) * 1e3
        return result

    def weighted_terms(self, snap: Snapshot, query: str, focus: str | None) -> Terms:
        """The search terms of the question's own words and of the query, with their IDF."""
        own = self.terms(query if focus is None else focus)
        context = self.terms(query) if focus is not None and focus != query else []
        return Terms({t: snap.weight(t) for t in own}, {t: snap.weight(t) for t in context})

    def pool(self, snap: Snapshot, query: str, filters: Filters, result: Retrieval) -> Pool:
        """The dense and BM25 candidates within the filters, and the as-of week's bonus.

        Step timings go to `result`, and a warning when the dense search failed."""
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        in_week = self._in_week(snap, filters)
        dense = self._dense(snap, vector, filters, result, in_week)
        t2 = time.perf_counter()
        sparse = self._bm25(snap, query, filters, in_week)
        result.timings.update(
            embed_ms=(t1 - t0) * 1e3,
            dense_ms=(t2 - t1) * 1e3,
            bm25_ms=(time.perf_counter() - t2) * 1e3,
        )
        bonus = in_week * self.recency if in_week is not None else None
        return Pool(snap, dense, sparse, bonus)

    def ranked(self, pool: Pool, fused: Iterable[tuple[int, float]]) -> Iterator[Passage]:
        """Fused rows as passages, best first, with each side's own score."""
        for row, score in fused:
            yield to_passage(pool.snap, row, score, pool.dense.get(row), pool.sparse.get(row))

    @staticmethod
    def windows(snap: Snapshot, ranked: Iterable[Passage], limit: int) -> list[Passage]:
        """Neighbouring chunks of an article merged into one passage, up to `limit`."""
        return merge_windows(
            ranked,
            lambda doc, n: to_passage(snap, _row(snap.row_of(doc, n)), 0.0, None, None),
            lambda cid: snap.info(_row(snap.row(cid))).chunk,
            limit=limit,
        )

    def passages(self, pool: Pool, fused: list[tuple[int, float]], k: int) -> list[Passage]:
        """The top-k passages of a fused ranking: windows merged, syndicated copies folded."""
        merged = self.windows(pool.snap, self.ranked(pool, fused), 2 * k)
        return collapse_syndicated(merged, limit=k)

    def _in_week(self, snap: Snapshot, filters: Filters) -> np.ndarray | None:
        """Which rows the as-of week holds, when there is a week to prefer and a weight for it.

        Each search then also brings its best candidates from that week.
        """
        week = as_of_week(filters) if self.recency else None
        in_week = snap.mask(conditions(week)) if week is not None else None
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

        Chroma's search among the week's ids would find all of the week's, but costs a second
        search through its id filter on every question; the wide search finds the ones near
        enough to matter, and without other filters it is also the main search.
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

        Chroma's filtered search reads the metadata first, which grows with the index and is
        slow from a cold disk cache, so where the filters keep a fair share of the index the
        nearest are taken from one wider unfiltered search instead. Every chunk it keeps
        outranks every one it missed, so the result is the same whenever n of them pass.
        Otherwise Chroma searches among the ids the snapshot's mask allows, never through its
        metadata.
        """
        where = chroma_where(filters)
        if where is None:
            return self.store.query(vector, n, None)
        mask = snap.mask(conditions(filters))
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
        scores = snap.scores(tokens) * snap.mask(conditions(filters))
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
    article = snap.article(info.doc_id)
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
        roles=within(article.roles, info.start, info.end) if article else [],
    )
