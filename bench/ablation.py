"""Retrieval recombined for the ablation and the fusion probe, behind the `Retriever` interface.

`Recombined` runs a `HybridRetriever`'s own steps (pool, fusion, windows, collapse), with parts
switched off or another fusion in place of RRF; the product's retriever has no such switches. A
part switched off still runs inside the pool (its candidates are dropped), so the ablation's
answers are exact but its timings are not the smaller system's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from rag.retrieve import Catalogue, HybridRetriever, Pool, Retrieval, rrf
from rag.syndication import collapse_syndicated
from rag.types import Filters

Fusion = Callable[[Pool], list[tuple[int, float]]]  # a pool's rows with fused scores, best first


@dataclass(frozen=True)
class Parts:
    """The parts of hybrid retrieval that run; all by default, fewer for an ablation."""

    dense: bool = True
    keyword: bool = True
    windows: bool = True  # merge neighbouring chunks of an article into one passage
    collapse: bool = True  # fold syndicated copies into the best-ranked one


class Recombined:
    """`inner`'s retrieval with only `parts`, fused by `fusion` (settable, for the probe)."""

    def __init__(self, inner: HybridRetriever, parts: Parts = Parts(), fusion: Fusion = rrf):
        self.inner = inner
        self.parts = parts
        self.fusion = fusion

    def catalogue(self) -> Catalogue:
        """The inner retriever's catalogue."""
        return self.inner.catalogue()

    def matches(self, filters: Filters) -> bool:
        """Whether any passage passes the filters."""
        return self.inner.matches(filters)

    def search(self, query: str, filters: Filters, k: int, focus: str | None = None) -> Retrieval:
        """The inner retriever's search, with only the parts switched on."""
        inner, parts, result = self.inner, self.parts, Retrieval()
        snap = inner.snapshot()
        if not snap.size:
            return result
        pool = inner.pool(snap, query, filters, result)
        pool = Pool(
            snap,
            pool.dense if parts.dense else {},
            pool.sparse if parts.keyword else {},
            pool.bonus,
        )
        t0 = time.perf_counter()
        ranked = inner.ranked(pool, self.fusion(pool))
        shown = inner.windows(snap, ranked, 2 * k) if parts.windows else list(islice(ranked, 2 * k))
        result.passages = collapse_syndicated(shown, limit=k) if parts.collapse else shown[:k]
        result.terms = inner.weighted_terms(snap, query, focus)
        result.timings["fuse_ms"] = (time.perf_counter() - t0) * 1e3
        return result
