"""Training the answer model (rag/sentence_model.py) on RealTimeQA, and scoring it out of fold.

For every question the engine's own retrieval runs once; each candidate sentence is labelled by
whether it contains the quiz answer (whole words), and the sentence model learns from the
answerable questions' sentences. Scored out of fold with folds grouped by question week, so no
week's news is both learned from and tested on.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.fit import fit_logistic
from bench.scoring import Row, contains
from bench.stats import grouped_folds, question_day, question_week
from index.keyword import tokenizer
from rag.extractive import evidence_of
from rag.sentence_model import (
    SENTENCE_FEATURES,
    AnswerModel,
    Candidate,
    answerable,
    candidates,
    choose_ranked,
)
from rag.types import Filters

if TYPE_CHECKING:
    from rag.engine import Newsdesk


@dataclass
class Example:
    """One question with its candidates, their labels, and whether it is answerable."""

    question: Row
    found: list[Candidate]
    labels: list[int]

    @property
    def answerable(self) -> bool:
        """Whether the answer text is in the question's candidate articles."""
        return bool(self.question["answer_in_corpus"])


def asked_filters(question: Row, as_of: bool) -> Filters:
    """The filters a RealTimeQA question is asked with: none, or its own day as `as_of`."""
    return Filters(as_of=question_day(question["question_date"]) if as_of else None)


def collect(engine: Newsdesk, questions: Sequence[Row], as_of: bool = False) -> list[Example]:
    """Every question's candidates from the engine's retrieval, labelled by the answer text."""
    out = []
    for q in _progress(questions):
        evidence = evidence_of(engine.read(q["question"], asked_filters(q, as_of)))
        found = candidates(evidence, tokenizer())
        labels = [int(contains(c.text, q["answer"])) for c in found]
        out.append(Example(q, found, labels))
    return out


def fit(examples: Sequence[Example], trained_on: str = "") -> AnswerModel:
    """The sentence model, from the answerable examples' labelled sentences."""
    rows = [c.features for e in examples if e.answerable for c in e.found]
    labels = [y for e in examples if e.answerable for y in e.labels]
    return AnswerModel(fit_logistic(rows, labels, SENTENCE_FEATURES), trained_on)


def outcome(model: AnswerModel, example: Example, limit: int) -> tuple[bool, bool, str]:
    """(cited correctly, abstained, answer text) for one question, as the engine answers it."""
    if not answerable(example.found):
        return False, True, ""
    chosen = choose_ranked(model.rank(list(example.found)), limit)
    text = " ".join(c.text for c in chosen)
    return any(contains(c.text, example.question["answer"]) for c in chosen), False, text


def out_of_fold(examples: Sequence[Example], base: Sequence[Row], k: int, limit: int) -> list[Row]:
    """`base` rows (same retrieval) with answers and abstentions from fold-held-out models.

    `limit` is the engine's number of answer sentences, so the answers are the ones it gives.
    """
    weeks = [question_week(e.question["question_date"]) for e in examples]
    by_id = {r["id"]: r for r in base}
    rows: list[Row] = []
    for fold in grouped_folds(weeks, k):
        held = set(fold)
        model = fit([e for i, e in enumerate(examples) if i not in held])
        for i in fold:
            cited, abstained, text = outcome(model, examples[i], limit)
            row = by_id[examples[i].question["id"]]
            rows.append({**row, "cited": cited, "abstained": abstained, "response": text})
    order = {r["id"]: n for n, r in enumerate(base)}
    return sorted(rows, key=lambda r: order[r["id"]])


def best_weight(runs: Mapping[float, Sequence[Row]], among: Sequence[int]) -> float:
    """The weight whose run finds the answer most often (recall@1 + recall@5) among `among`.

    Ties go to the smaller weight, the smaller change to retrieval.
    """

    def found(weight: float) -> tuple[int, float]:
        rows = [runs[weight][i] for i in among if runs[weight][i]["in_corpus"]]
        return sum(int(r["recall@1"]) + int(r["recall@5"]) for r in rows), -weight

    return max(runs, key=found)


def out_of_fold_weights(
    runs: Mapping[float, Sequence[Row]],
    examples: Mapping[float, Sequence[Example]],
    k: int,
    limit: int,
) -> tuple[list[Row], list[float]]:
    """Rows whose retrieval weight and answer model were both chosen without their week.

    `runs[w]` and `examples[w]` hold every question, in one order, retrieved with weight w. Each
    fold takes the weight that did best on the other folds, and a model trained on those.
    Returns the rows and each fold's weight.
    """
    first = next(iter(examples.values()))
    weeks = [question_week(e.question["question_date"]) for e in first]
    rows: dict[int, Row] = {}
    chosen = []
    for fold in grouped_folds(weeks, k):
        held = set(fold)
        rest = [i for i in range(len(weeks)) if i not in held]
        weight = best_weight(runs, rest)
        chosen.append(weight)
        model = fit([examples[weight][i] for i in rest])
        for i in fold:
            cited, abstained, text = outcome(model, examples[weight][i], limit)
            rows[i] = {**runs[weight][i], "cited": cited, "abstained": abstained, "response": text}
    return [rows[i] for i in range(len(weeks))], chosen


def _progress(items: Sequence[Row]) -> Any:
    from tqdm import tqdm

    return tqdm(items, unit="q", desc="evidence", file=sys.stderr, leave=False)
