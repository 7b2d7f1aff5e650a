"""Asking as of a day: relative dates read from it, its week first among equals, nothing left out."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.training import Example, best_weight, out_of_fold_weights
from evals.questions import load_question_set
from newsdesk.factory import build_ingestor, build_newsdesk
from rag.sentence_model import SENTENCE_FEATURES, Candidate
from rag.types import Filters, Passage
from tests.conftest import FakeEmbedder

# Two reports of one vote: the March one matches the question better, the June one is newer.
ARTICLES = [
    {
        "url": "https://example.org/march-vote",
        "title": "Harbour bridge budget approved",
        "publish_date": "2025/03/04",
        "text": "The city council approved the harbour bridge budget after a long debate. "
        "The harbour bridge budget vote was close, council members said.",
    },
    {
        "url": "https://example.com/june-vote",
        "title": "Council votes again",
        "publish_date": "2025/06/02",
        "text": "The city council approved a second harbour bridge budget on Monday. "
        "Opponents said the costs had doubled since the spring.",
    },
]
QUESTION = "Did the council approve the harbour bridge budget?"


@pytest.fixture
def two_votes(settings_factory: Any, tmp_path: Path) -> Any:
    source = tmp_path / "votes.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    embedder = FakeEmbedder()

    def make(weight: float) -> Any:
        settings = settings_factory(recency_weight=weight)
        build_ingestor(settings, progress=False, embedder=embedder).run([source])
        return build_newsdesk(settings, embedder=embedder)

    return make


def test_the_as_of_weeks_article_ranks_first_among_equals(two_votes: Any) -> None:
    engine = two_votes(0.01)
    plain = engine.ask(QUESTION)
    dated = engine.ask(QUESTION, filters=Filters(as_of=date(2025, 6, 5)))
    assert plain.retrieved[0].date == date(2025, 3, 4)
    assert dated.retrieved[0].date == date(2025, 6, 2)
    assert dated.filters.effective.as_of == date(2025, 6, 5)


def test_as_of_leaves_no_article_out(two_votes: Any) -> None:
    dated = two_votes(0.01).ask(QUESTION, filters=Filters(as_of=date(2025, 3, 5)))
    assert {p.date for p in dated.retrieved} == {date(2025, 3, 4), date(2025, 6, 2)}
    assert dated.retrieved[0].date == date(2025, 3, 4)


def test_an_as_of_week_without_articles_changes_nothing(two_votes: Any) -> None:
    engine = two_votes(0.01)
    dated = engine.ask(QUESTION, filters=Filters(as_of=date(2030, 1, 1)))
    assert [p.chunk_id for p in dated.retrieved] == [
        p.chunk_id for p in engine.ask(QUESTION).retrieved
    ]
    assert dated.notice is None


def test_a_zero_recency_weight_ignores_the_as_of_week(two_votes: Any) -> None:
    dated = two_votes(0.0).ask(QUESTION, filters=Filters(as_of=date(2025, 6, 5)))
    assert dated.retrieved[0].date == date(2025, 3, 4)


def test_last_week_is_read_from_the_as_of_day(engine: Any) -> None:
    answer = engine.ask(
        "What did the Kremlin say last week?", filters=Filters(as_of=date(2025, 9, 1))
    )
    effective = answer.filters.effective
    assert (effective.since, effective.until) == (date(2025, 8, 25), date(2025, 9, 1))
    assert "as of 2025-09-01" in effective.describe()


def test_question_sets_take_an_as_of_day(tmp_path: Path) -> None:
    questions = tmp_path / "set.yaml"
    questions.write_text(
        "questions:\n  - id: q\n    question: What did the Kremlin say last week?\n"
        "    filters: {as_of: 2025-09-01}\n    expect: {facts: [talks]}\n"
    )
    spec = load_question_set(questions).questions[0]
    assert spec.filters.to_filters().as_of == date(2025, 9, 1)


def test_the_weight_chosen_is_the_one_that_finds_answers_and_ties_go_to_the_smaller() -> None:
    def rows(hits: list[bool]) -> list[dict[str, Any]]:
        return [{"in_corpus": True, "recall@1": h, "recall@5": h} for h in hits]

    runs = {
        0.0: rows([True, False, False]),
        0.01: rows([True, True, False]),
        0.02: rows([True] * 3),
    }
    assert best_weight(runs, [0, 1, 2]) == 0.02
    assert best_weight(runs, [0, 1]) == 0.01  # 0.01 and 0.02 tie on these: the smaller wins
    assert best_weight(runs, [0]) == 0.0


def test_out_of_fold_rows_keep_order_and_use_the_weight_other_weeks_chose() -> None:
    passage = Passage(
        doc_id="d",
        chunk_id="d::0",
        outlet="CNN",
        date=date(2025, 1, 1),
        title="T",
        url=None,
        text="x",
        start=0,
        end=1,
        score=1.0,
    )

    def example(i: int) -> Example:
        question = {
            "id": f"q{i}",
            "question_date": f"2025/0{1 + i % 4}/10",
            "answer_in_corpus": True,
            "answer": "answer",
        }
        right = Candidate(
            f"the answer sentence {i}", passage, 1.0, dict.fromkeys(SENTENCE_FEATURES, 1.0)
        )
        wrong = Candidate(
            f"another sentence {i}", passage, 1.0, dict.fromkeys(SENTENCE_FEATURES, 0.0)
        )
        return Example(question, [wrong, right], [0, 1])

    examples = [example(i) for i in range(12)]
    row = {"in_corpus": True, "recall@5": True}
    runs = {
        0.0: [{**row, "id": f"q{i}", "recall@1": False} for i in range(12)],
        0.01: [{**row, "id": f"q{i}", "recall@1": True} for i in range(12)],
    }
    rows, chosen = out_of_fold_weights(runs, dict.fromkeys(runs, examples), 4, 1)
    assert chosen == [0.01] * 4
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(12)]
    assert all(r["recall@1"] and r["cited"] and not r["abstained"] for r in rows)
    assert rows[3]["response"] == "the answer sentence 3"
