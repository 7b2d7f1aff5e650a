"""The keyword side of retrieval: BM25 over a snapshot of the committed chunks.

A snapshot is taken at one store revision and holds the chunk texts and typed records, the BM25
index, IDF weights for question terms, and the columns the filter rules run over.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np

from index.records import ArticleInfo, ChunkInfo
from index.store import ChromaStore
from rag import filters as filter_rules
from rag.types import Filters

# Words that shape a question but say nothing about its subject (after stemming).
QUESTION_WORDS = frozenset(
    """
    how what who whom whose when where which why mani much about did doe do tell told say said
    happen report accord news latest anyth someth also els
    """.split()
)


def make_stemmer() -> Any:
    """The English Snowball stemmer BM25 tokens are stemmed with."""
    import Stemmer

    return Stemmer.Stemmer("english")


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
    infos: list[ChunkInfo] = field(default_factory=list)
    articles: dict[str, ArticleInfo] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    by_doc: dict[tuple[str, int], int] = field(default_factory=dict)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    bm25: Any = None
    idf: dict[str, float] = field(default_factory=dict)

    def weight(self, token: str) -> float:
        """IDF of a token; words the corpus never uses weigh the most."""
        return self.idf.get(token, math.log(1 + len(self.ids) + 1))

    def mask(self, filters: Filters) -> np.ndarray:
        """Which chunks pass the filters."""
        return filter_rules.mask(self.columns, len(self.ids), filters)

    @cached_property
    def outlets(self) -> list[str]:
        """Known outlets, most articles first."""
        counts = Counter(a.outlet for a in self.articles.values() if a.outlet)
        return sorted(counts, key=lambda o: (-counts[o], o))

    @cached_property
    def dates(self) -> list[date]:
        """Sorted publication dates of the dated articles."""
        return sorted(a.date for a in self.articles.values() if a.date)


def build_snapshot(store: ChromaStore, stemmer: Any) -> Snapshot:
    """Load committed chunks (digest matches their article) and index them for BM25."""
    # The revision is read before the data: a commit landing during the load then leaves the
    # snapshot labelled older than what it may hold, and the next poll rebuilds, never the reverse.
    revision = store.revision()
    articles = store.articles()
    snap = Snapshot(revision=revision, articles=articles)
    for cid, text, info in store.all_chunks():
        article = articles.get(info.doc_id)
        if article and article.digest == info.digest:
            snap.position[cid] = len(snap.ids)
            snap.by_doc[(info.doc_id, info.chunk)] = len(snap.ids)
            snap.ids.append(cid)
            snap.texts.append(text)
            snap.infos.append(info)
    snap.columns = filter_rules.columns(snap.infos)
    if snap.ids:
        _index_bm25(snap, stemmer)
    return snap


def _index_bm25(snap: Snapshot, stemmer: Any) -> None:
    import bm25s

    tokens = tokenize(
        [f"{info.title}\n{text}" for info, text in zip(snap.infos, snap.texts, strict=True)],
        stemmer,
    )
    snap.bm25 = bm25s.BM25()
    snap.bm25.index(tokens, show_progress=False)
    df = Counter(t for doc in tokens for t in set(doc))
    n = len(tokens)
    snap.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
