"""BM25 over the live rows of the keyword index's segments, as of one view.

A snapshot is one view of the index (one store revision). Rows are numbered across segments,
oldest first; dead rows (superseded or removed articles) score nothing and count in no
statistic, so scores are those of one BM25 index over the live chunks (Lucene's variant, as
bm25s computes it: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.5, b = 0.75).
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np

from index.keyword.index import View
from index.keyword.segments import Segment, term_key
from index.records import ArticleInfo, ChunkInfo

K1, B = 1.5, 0.75
# A condition on a row's column, as Chroma's `where` writes one: (column, operator, value). The
# columns are "outlet" and "date_int" (a publication day as an integer, 0 when undated).
Condition = tuple[str, str, str | int]
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "$eq": operator.eq,
    "$gte": operator.ge,
    "$lte": operator.le,
    "$gt": operator.gt,
}


class Snapshot:
    """The committed chunks and articles at one store revision, searchable by BM25."""

    def __init__(self, view: View) -> None:
        self.revision = view.revision
        self.segments = view.segments
        self.docs = view.docs
        self.live = np.concatenate(view.live) if view.live else np.zeros(0, dtype=bool)
        sizes = [s.size for s in self.segments]
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.size = int(self.live.sum())  # live chunks
        lengths = self._per_row(lambda s: np.asarray(s.arrays["length"]))
        average = float(lengths[self.live].mean()) if self.size else 1.0
        self.norm = (K1 * (1 - B + B * lengths / max(average, 1e-9))).astype(np.float32)
        self.columns = {
            "outlet": self._per_row(lambda s: s.doc_outlets[np.asarray(s.arrays["doc"])]),
            "date_int": self._per_row(lambda s: s.doc_days[np.asarray(s.arrays["doc"])]),
        }
        self._frequencies: dict[str, int] = {}

    def _per_row(self, column: Callable[[Segment], np.ndarray]) -> np.ndarray:
        parts = [column(s) for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0)

    # --- statistics -----------------------------------------------------------------------
    def weight(self, token: str) -> float:
        """IDF of a token; words the corpus never uses weigh the most."""
        return self._idf(self._document_frequency(token))

    def _idf(self, df: int) -> float:
        if df == 0:
            return math.log(1 + self.size + 1)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def _document_frequency(self, token: str) -> int:
        """Live chunks using the token (cached: a snapshot never changes)."""
        if token in self._frequencies:
            return self._frequencies[token]
        key = term_key(token)
        total = 0
        for offset, segment in zip(self.offsets, self.segments, strict=False):
            rows, _ = segment.postings(key)
            total += int(self.live[offset + rows].sum())
        self._frequencies[token] = total
        return total

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every row for the query tokens (repeats count again, as in bm25s)."""
        out = np.zeros(len(self.live), dtype=np.float32)
        for token, repeats in Counter(tokens).items():
            idf = self.weight(token)
            key = term_key(token)
            for offset, segment in zip(self.offsets, self.segments, strict=False):
                rows, tf = segment.postings(key)
                if len(rows):
                    at = offset + np.asarray(rows, dtype=np.int64)
                    freq = np.asarray(tf, dtype=np.float32)
                    out[at] += repeats * idf * freq / (freq + self.norm[at])
        return out * self.live

    def known(self, token: str) -> bool:
        """Whether any live chunk uses the token."""
        return self._document_frequency(token) > 0

    def mask(self, conditions: Iterable[Condition]) -> np.ndarray:
        """Which rows are live and meet every condition."""
        keep = self.live.copy()
        for name, op, value in conditions:
            keep &= OPERATORS[op](self.columns[name], value)
        return keep

    # --- rows ---------------------------------------------------------------------------------
    def locate(self, row: int) -> tuple[int, int]:
        """(segment, row within it) of a global row."""
        i = int(np.searchsorted(self.offsets, row, side="right")) - 1
        return i, row - int(self.offsets[i])

    def row(self, chunk_id: str) -> int | None:
        """The live row of a chunk id, or None."""
        for i in range(len(self.segments) - 1, -1, -1):
            local = self.segments[i].position.get(chunk_id)
            if local is not None:
                at = int(self.offsets[i]) + local
                return at if self.live[at] else None
        return None

    def row_of(self, doc_id: str, chunk: int) -> int | None:
        """The live row of an article's chunk number `chunk`, or None."""
        if doc_id not in self._where:
            return None
        i = self._where[doc_id][0]
        first, count = self.segments[i].first_row[doc_id]
        return int(self.offsets[i]) + first + chunk if 0 <= chunk < count else None

    def text(self, row: int) -> str:
        """A row's chunk text."""
        i, local = self.locate(row)
        return self.segments[i].text(local)

    def info(self, row: int) -> ChunkInfo:
        """A row's chunk record."""
        i, local = self.locate(row)
        return self.segments[i].info(local)

    def chunk_id(self, row: int) -> str:
        """A row's chunk id."""
        i, local = self.locate(row)
        return self.segments[i].ids[local]

    # --- articles -------------------------------------------------------------------------
    @cached_property
    def _where(self) -> dict[str, tuple[int, int]]:
        """(segment, article index) of each live article."""
        return {
            self.segments[i].articles[d][0]: (i, int(d))
            for i, docs in enumerate(self.docs)
            for d in np.flatnonzero(docs)
        }

    def article(self, doc_id: str) -> ArticleInfo | None:
        """A live article's record."""
        where = self._where.get(doc_id)
        return self.segments[where[0]].articles[where[1]][1] if where else None

    @cached_property
    def articles(self) -> dict[str, ArticleInfo]:
        """Every live article's record, keyed by doc id."""
        return {
            doc_id: self.segments[i].articles[d][1]
            for doc_id, (i, d) in sorted(self._where.items())
        }

    @cached_property
    def outlets(self) -> list[str]:
        """Known outlets, most articles first."""
        counts = Counter(a.outlet for a in self.articles.values() if a.outlet)
        return sorted(counts, key=lambda o: (-counts[o], o))

    @cached_property
    def dates(self) -> list[date]:
        """Sorted publication dates of the dated articles."""
        return sorted(a.date for a in self.articles.values() if a.date)
