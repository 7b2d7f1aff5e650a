"""Out-of-fold probe of fusion: would a learned order of the pooled candidates beat RRF?

    python bench/fusion_probes.py --articles A --questions Q [--as-of] [--data-dir DIR]

It reuses the RealTimeQA bench's index (same `--data-dir`, same articles). For every answerable
question the engine searches as shipped, and the candidates its dense and BM25 searches pool
are described (`FEATURES`) and labelled by whether the chunk holds the answer. Out of fold (folds
grouped by question week, as the bench's), a logistic regression learns from the other weeks'
pools and orders each held-out question's pool in place of RRF; the engine then makes its
passages as shipped (windows, syndicated-copy collapse), so recall is counted on what the
answerer would receive. It prints recall@1/5/10 with RRF and with the learned order, and their
paired differences with bootstrap 95% intervals, then all of it as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.realtimeqa import COVERAGE, index_folder, ingest_sample, load_jsonl, sample
from evals.scoring import Row, contains
from evals.stats import Estimate, bootstrap, grouped_folds, paired_difference, question_week
from evals.training import asked_filters
from newsdesk.evaluation import realtimeqa_indexing
from newsdesk.settings import Settings
from rag.answerer import Logistic, fit_logistic
from rag.engine import Newsdesk
from rag.retrieve import RRF_K, Fusion, HybridRetriever, Pool, rrf

KS = (1, 5, 10)
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
Described = dict[int, dict[str, float]]  # pooled row -> its features


def describe(pool: Pool) -> Described:
    """Each pooled chunk's scores and ranks in both searches, its week and place in its article."""
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
    return out


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    return {row: rank for rank, row in enumerate(sorted(scores, key=lambda r: -scores[r]))}


def _rrf_share(rank: int | None) -> float:
    return 0.0 if rank is None else RRF_K / 2 / (RRF_K + rank + 1)


class Recorder:
    """RRF, recording the first pool of each question with its chunks' labels.

    Pools are kept by question number: a question whose filters match nothing searches nothing
    and has none."""

    def __init__(self) -> None:
        self.pools: dict[int, tuple[Described, dict[int, int]]] = {}
        self.asking: tuple[int, str] | None = None  # question number and answer

    def __call__(self, pool: Pool) -> list[tuple[int, float]]:
        if self.asking is not None:
            number, answer = self.asking
            rows = describe(pool)
            labels = {row: int(contains(pool.snap.text(row), answer)) for row in rows}
            self.pools[number] = (rows, labels)
            self.asking = None  # a question's later searches (if any) are not its pool
        return rrf(pool)


def learned(model: Logistic) -> Fusion:
    """A fusion that orders the pool by the model's probability that a chunk holds the answer."""

    def fuse(pool: Pool) -> list[tuple[int, float]]:
        rows = describe(pool)
        order = list(rows)
        scores = model.probabilities([rows[row] for row in order])
        return sorted(zip(order, scores.tolist(), strict=True), key=lambda item: -item[1])

    return fuse


def found(engine: Newsdesk, question: Row, as_of: bool) -> list[int]:
    """Whether the passages the answerer receives hold the answer in the top 1, 5 and 10."""
    filters = asked_filters(question, as_of)
    passages = engine.evidence(question["question"], filters).passages
    return [int(any(contains(p.text, question["answer"]) for p in passages[:k])) for k in KS]


def probe(
    engine: Newsdesk, questions: Sequence[Row], k: int, as_of: bool
) -> tuple[dict[str, dict[str, Estimate]], int]:
    """Recall with RRF and with the learned order, out of fold, and their differences; and how
    many folds had a learned order."""
    retriever = engine.retriever
    assert isinstance(retriever, HybridRetriever)
    recorder = Recorder()
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
        retriever.fusion = rrf if one_class else learned(fit_logistic(rows, labels, FEATURES))
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
    args = parser.parse_args()
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    questions, articles = sample(load_jsonl(args.questions), load_jsonl(args.articles), 0, 0, 0)
    indexing = realtimeqa_indexing(settings)
    workdir = index_folder(indexing, articles)
    ingest_sample(indexing, workdir, articles, lambda m: print(m, file=sys.stderr))
    engine = indexing.make_engine(workdir, max(KS), COVERAGE, None)
    answerable = [q for q in questions if q["answer_in_corpus"]]
    figures, learned_folds = probe(engine, answerable, args.cv, args.as_of)
    print(f"{len(answerable)} answerable questions; {os.cpu_count()} cores")
    print(f"folds with a learned order: {learned_folds} of {args.cv}")
    for name, row in figures.items():
        print(
            f"{name:10s} rrf {row['rrf']}  learned {row['learned']}  difference {row['difference']}"
        )
    print(json.dumps({n: {k: e.as_dict() for k, e in row.items()} for n, row in figures.items()}))


if __name__ == "__main__":
    main()
