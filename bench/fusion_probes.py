"""Out-of-fold probe of fusion: would a learned order of the pooled candidates beat RRF?

    python bench/fusion_probes.py --articles A --questions Q [--as-of] [--tail-vectors] [--data-dir DIR]

It reuses the RealTimeQA bench's index (same `--data-dir`, same articles). For every answerable
question the engine searches as shipped, and the candidates its dense and BM25 searches pool
are described (`FEATURES`) and labelled by whether the chunk holds the answer. Out of fold (folds
grouped by question week, as the bench's), a logistic regression learns from the other weeks'
pools and orders each held-out question's pool in place of RRF; the engine then makes its
passages as shipped (windows, syndicated-copy collapse), so recall is counted on what the
answerer would receive. It prints recall@1/5/10 with RRF and with the learned order, and their
paired differences with bootstrap 95% intervals, then all of it as one JSON line.

With `--tail-vectors` the order also sees a second vector per chunk: the model reads a chunk's
first 256 wordpieces only, so the last 200 wordpieces of each pooled chunk longer than that are
embedded too (with its title), and their cosine to the question the search embedded becomes two
more features (`TAIL`). This measures "several vectors per chunk" on the pool without re-indexing;
the tails are embedded here, at some 30 a second on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ablation import Fusion, Recombined
from bench.fit import fit_logistic
from bench.realtimeqa import COVERAGE, index_folder, ingest_sample, load_jsonl, sample
from bench.scoring import KS, Row, contains, recall_at
from bench.stats import Estimate, bootstrap, grouped_folds, paired_difference, question_week
from bench.training import asked_filters
from bench.wiring import realtimeqa_indexing
from index.embedding import Embedder, bundled_model_dir
from index.prepare import embedding_text
from newsdesk.settings import Settings
from rag.engine import Newsdesk
from rag.retrieve import RRF_K, Pool, rrf
from rag.sentence_model import Logistic

FEATURES = (
    "rrf",
    "in_week",
    "dense",
    "dense_vs_best",
    "has_dense",
    "bm25_vs_best",
    "has_bm25",
    "dense_rank",
    "bm25_rank",
    "lead_chunk",
)
TAIL = ("tail", "tail_vs_best")
WINDOW, TAIL_SPAN = 256, 200  # the model's window and the tail's length, in wordpieces
Described = dict[int, dict[str, float]]  # pooled row -> its features


class Tails:
    """Cosines between the question as searched and the tails of pooled chunks longer than the
    model's window; each tail is embedded once per run.

    It stands in for the retriever's embedder, so the question vector is the one the dense search
    used (after filter phrases such as "according to Dawn" were taken out)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.tokenizer = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.vectors: dict[str, np.ndarray | None] = {}
        self.question = np.zeros(0)

    def embed_query(self, text: str) -> list[float]:
        """The inner embedder's vector, kept as the question of the pools that follow."""
        vector = self.embedder.embed_query(text)
        self.question = np.asarray(vector)
        return vector

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """The inner embedder's vectors."""
        return self.embedder.embed_documents(texts)

    def cosines(self, pool: Pool) -> dict[int, float]:
        """Each pooled row's tail cosine; rows that fit the window have none."""
        infos = {row: pool.snap.info(row) for row in set(pool.dense) | set(pool.sparse)}
        texts = {row: embedding_text(pool.snap.text(row), info) for row, info in infos.items()}
        titles = {texts[row]: info.title for row, info in infos.items()}
        new = sorted(t for t in titles if t not in self.vectors)
        tails = {t: self._tail(t, titles[t]) for t in new}
        wanted = [t for t in new if tails[t]]
        vectors = self.embedder.embed_documents([tails[t] for t in wanted]) if wanted else []
        self.vectors.update({t: None for t in new})
        self.vectors.update(zip(wanted, map(np.asarray, vectors), strict=True))
        found = {row: self.vectors[text] for row, text in texts.items()}
        return {row: float(v @ self.question) for row, v in found.items() if v is not None}

    def _tail(self, text: str, title: str) -> str:
        """The title, then the text from TAIL_SPAN wordpieces before its end ("" if it fits)."""
        encoding = self.tokenizer.encode(text)
        if len(encoding.ids) <= WINDOW:
            return ""
        start = encoding.offsets[len(encoding.ids) - 1 - TAIL_SPAN][0]
        return f"{title}\n{text[start:]}" if title else text[start:]


def describe(pool: Pool, tails: Tails | None = None) -> Described:
    """Each pooled chunk's scores and ranks in both searches, its week and place in its article;
    with `tails`, its tail's cosine to the question too."""
    fused = dict(rrf(Pool(pool.snap, pool.dense, pool.sparse, None)))
    dense_rank, bm25_rank = _ranks(pool.dense), _ranks(pool.sparse)
    best_dense = max(pool.dense.values(), default=1.0) or 1.0
    best_bm25 = max(pool.sparse.values(), default=1.0) or 1.0
    out = {}
    for row, score in fused.items():
        dense, bm25 = pool.dense.get(row), pool.sparse.get(row)
        out[row] = {
            "rrf": score * RRF_K / 2,  # about 1 for a chunk first in both searches
            "in_week": float(pool.bonus is not None and pool.bonus[row] > 0),
            "dense": dense or 0.0,
            "dense_vs_best": (dense or 0.0) / best_dense,
            "has_dense": float(dense is not None),
            "bm25_vs_best": (bm25 or 0.0) / best_bm25,
            "has_bm25": float(bm25 is not None),
            "dense_rank": _rrf_share(dense_rank.get(row)),
            "bm25_rank": _rrf_share(bm25_rank.get(row)),
            "lead_chunk": 1.0 / (1 + pool.snap.info(row).chunk),
        }
    if tails is not None:
        cosines = tails.cosines(pool)
        best = max(cosines.values(), default=1.0) or 1.0
        for row, features in out.items():
            features["tail"] = cosines.get(row, features["dense"])
            features["tail_vs_best"] = cosines.get(row, 0.0) / best
    return out


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    return {row: rank for rank, row in enumerate(sorted(scores, key=lambda r: -scores[r]))}


def _rrf_share(rank: int | None) -> float:
    return 0.0 if rank is None else RRF_K / 2 / (RRF_K + rank + 1)


class Recorder:
    """RRF, recording the first pool of each question with its chunks' labels.

    Pools are kept by question number: a question whose filters match nothing searches nothing
    and has none."""

    def __init__(self, tails: Tails | None) -> None:
        self.pools: dict[int, tuple[Described, dict[int, int]]] = {}
        self.asking: tuple[int, str] | None = None  # question number and answer
        self.tails = tails

    def __call__(self, pool: Pool) -> list[tuple[int, float]]:
        if self.asking is not None:
            number, answer = self.asking
            rows = describe(pool, self.tails)
            labels = {row: int(contains(pool.snap.text(row), answer)) for row in rows}
            self.pools[number] = (rows, labels)
            self.asking = None  # a question's later searches (if any) are not its pool
        return rrf(pool)


def learned(model: Logistic, tails: Tails | None) -> Fusion:
    """A fusion that orders the pool by the model's probability that a chunk holds the answer."""

    def fuse(pool: Pool) -> list[tuple[int, float]]:
        rows = describe(pool, tails)
        order = list(rows)
        scores = model.probabilities([rows[row] for row in order])
        return sorted(zip(order, scores.tolist(), strict=True), key=lambda item: -item[1])

    return fuse


def found(engine: Newsdesk, question: Row, as_of: bool) -> list[int]:
    """Whether the passages the answerer receives hold the answer in the top 1, 5 and 10."""
    filters = asked_filters(question, as_of)
    passages = engine.read(question["question"], filters).retrieval.passages
    hits = recall_at([p.text for p in passages], question["answer"])
    return [int(hits[f"recall@{k}"]) for k in KS]


def probe(
    engine: Newsdesk, questions: Sequence[Row], k: int, as_of: bool, tails: Tails | None = None
) -> tuple[dict[str, dict[str, Estimate]], int]:
    """Recall with RRF and with the learned order, out of fold, and their differences; and how
    many folds had a learned order. With `tails`, the order also sees the `TAIL` features."""
    retriever = engine.retriever
    assert isinstance(retriever, Recombined)
    recorder = Recorder(tails)
    names = FEATURES + (TAIL if tails is not None else ())
    retriever.fusion = recorder
    shipped = []
    for i, q in enumerate(questions):
        recorder.asking = (i, q["answer"])
        shipped.append(found(engine, q, as_of))
    ours: dict[int, list[int]] = {}
    learned_folds = 0
    for fold in grouped_folds([question_week(q["question_date"]) for q in questions], k):
        held = set(fold)
        pools = [p for i, p in recorder.pools.items() if i not in held]
        rows = [features for described, _ in pools for features in described.values()]
        labels = [truth[row] for described, truth in pools for row in described]
        # A fold whose training pools hold no answer (a tiny sample) has nothing to learn.
        one_class = len(set(labels)) < 2
        fused = rrf if one_class else learned(fit_logistic(rows, labels, names), tails)
        retriever.fusion = fused
        learned_folds += not one_class
        ours.update({i: found(engine, questions[i], as_of) for i in fold})
    retriever.fusion = rrf
    learned_rows = [ours[i] for i in range(len(questions))]
    figures = {
        f"recall@{n}": {
            "rrf": bootstrap([r[j] for r in shipped]),
            "learned": bootstrap([r[j] for r in learned_rows]),
            "difference": paired_difference([r[j] for r in learned_rows], [r[j] for r in shipped]),
        }
        for j, n in enumerate(KS)
    }
    return figures, learned_folds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--as-of", action="store_true", help="ask as of each question's day")
    parser.add_argument(
        "--tail-vectors", action="store_true", help="a second vector per chunk for its tail"
    )
    args = parser.parse_args()
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    questions, articles = sample(load_jsonl(args.questions), load_jsonl(args.articles), 0, 0, 0)
    indexing = realtimeqa_indexing(settings)
    workdir = index_folder(indexing, articles)
    ingest_sample(indexing, workdir, articles, lambda m: print(m, file=sys.stderr))
    engine = indexing.make_engine(workdir, max(KS), COVERAGE, None)
    answerable = [q for q in questions if q["answer_in_corpus"]]
    retriever = engine.retriever
    assert isinstance(retriever, Recombined)
    tails = None
    if args.tail_vectors:
        retriever.inner.embedder = tails = Tails(retriever.inner.embedder)
    figures, learned_folds = probe(engine, answerable, args.cv, args.as_of, tails)
    print(f"{len(answerable)} answerable questions; {os.cpu_count()} cores")
    print(f"folds with a learned order: {learned_folds} of {args.cv}")
    if tails is not None:
        longer = sum(v is not None for v in tails.vectors.values())
        print(
            f"tail vectors: {longer} of {len(tails.vectors)} pooled chunks are longer than the window"
        )
    for name, row in figures.items():
        print(
            f"{name:10s} rrf {row['rrf']}  learned {row['learned']}  difference {row['difference']}"
        )
    print(json.dumps({n: {k: e.as_dict() for k, e in row.items()} for n, row in figures.items()}))


if __name__ == "__main__":
    main()
