"""The shipped reader in the extractive answerer: which sentence leads, what follows, when to abstain."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from rag.citations import content_words
from rag.extractive import ExtractiveAnswerer, evidence_of
from rag.reader import Reader, candidate_text, sentence_pool, shipped_reader_dir
from rag.sentence_model import AnswerModel, Evidence, candidates, shipped_model_path
from rag.types import AnswerMode
from tests.conftest import make_passage


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(shipped_reader_dir())


@pytest.fixture(scope="module")
def engine(seed_settings, real_embedder):  # type: ignore[no-untyped-def]
    """The engine over the seed index, its extractive answers chosen by the shipped reader."""
    from newsdesk.factory import build_newsdesk

    return build_newsdesk(seed_settings.replace(reader="shipped"), embedder=real_embedder)


def test_a_sentence_that_answers_in_other_words_leads_over_one_that_repeats_the_question(
    reader: Reader,
) -> None:
    question = "What did the Kremlin say about European peacekeepers in Ukraine?"
    echo = "The Kremlin was asked about European peacekeepers in Ukraine on Thursday."
    answer = (
        "Moscow would regard any Western troops deployed there as legitimate targets, Peskov said."
    )
    scores = reader.score(question, [candidate_text(echo, "", ""), candidate_text(answer, "", "")])
    assert scores[1] > scores[0]


def test_the_pool_holds_body_sentences_once_and_never_a_headline() -> None:
    title = "Kremlin says peace talks on pause"
    text = (
        f"{title}\nMOSCOW: Russia and Ukraine will not meet again this month, the Kremlin said. "
        "Russia and Ukraine will not meet again this month, the Kremlin said. "
        "Officials gave no date for a new round of talks in Istanbul."
    )
    passage = make_passage(text, "a", "Dawn", date(2025, 8, 28), score=0.03, dense=0.5, bm25=5.0)
    copy = make_passage(text, "b", "Reuters", date(2025, 8, 28), score=0.02, dense=0.5, bm25=5.0)
    pool = sentence_pool([passage, copy], {"talk": 1.0}, lambda ts: [t.split() for t in ts], 10)
    texts = [s.text for s in pool]
    assert len(texts) == len(set(texts))
    assert not any(t.strip().rstrip(".") == title for t in texts)


def test_the_engine_reads_with_the_reader_when_it_is_on(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.answerers[AnswerMode.EXTRACTIVE].reader is not None


def test_the_seed_answers_lead_with_a_body_sentence_and_repeat_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    questions = [
        "How many drones did the Ukrainian air force say it downed?",
        "How long did the last Istanbul session last?",
        "What did Peskov say about NATO infrastructure?",
        "What concerns did European allies raise about the 28-point plan?",
    ]
    for question in questions:
        answer = engine.ask(question)
        texts = [s.text for s in answer.sentences]
        assert len(texts) == len(set(texts))
        for a in texts:
            assert a[-1] in '.!?"”’)', a  # no headline or caption without closing punctuation
            assert not any(a != b and (a in b or b in a) for b in texts)  # nothing cut short
        titles = {c.title.strip().rstrip(".") for c in answer.citations}
        assert not any(t.rstrip(".") in titles for t in texts)


def test_a_question_the_corpus_cannot_answer_abstains(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Who won the 2025 Nobel Prize in Chemistry?")
    assert answer.abstained and not answer.citations


def test_a_two_part_question_gets_both_parts(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "Where did Russian and Ukrainian negotiators last meet, and how long did that session last?"
    )
    said = " ".join(s.text for s in answer.sentences)
    assert "Istanbul" in said and "40 minutes" in said
    assert len(content_words(said)) > 8


def test_a_question_longer_than_the_reader_reads_is_cut_not_refused(reader: Reader) -> None:
    question = "Which of these " + "long and winding clauses " * 40 + "was it?"
    scores = reader.score(question, [candidate_text("A short sentence.", "A title", "")])
    assert scores.shape == (1,)


class Leaning:
    """A reader that is sure of one sentence: what the sentence model alone cannot see."""

    threshold = -10.0

    def __init__(self, favourite: str, weight: float = 1.0) -> None:
        self.favourite = favourite
        self.weight = weight
        self.read: list[str] = []

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        self.read = list(texts)
        return np.array([5.0 if t.startswith(self.favourite) else 0.0 for t in texts])


def _written(answerer: ExtractiveAnswerer, reading: Any) -> Any:
    writing = answerer.write(reading)
    while True:
        try:
            next(writing)
        except StopIteration as done:
            return done.value


def _model_alone(engine: Any) -> tuple[Any, AnswerModel, Any, Any, Any, Any]:
    """A seed question's reading, the sentence model's own lead and its candidates, and the
    runner-up a reader could promote."""
    reading = engine.read("What did Peskov say about NATO infrastructure?")
    model = AnswerModel.load(shipped_model_path())
    tokenize = engine.answerers[AnswerMode.EXTRACTIVE].tokenize
    alone = _written(ExtractiveAnswerer(tokenize, 1, model), reading).picks
    ranked = model.rank(candidates(evidence_of(reading), tokenize))
    runner_up = next(c for c in ranked if c.text != alone[0].text)
    return reading, model, tokenize, alone, ranked, runner_up


def test_beside_the_sentence_model_the_reader_reorders_its_best_candidates(engine) -> None:  # type: ignore[no-untyped-def]
    reading, model, tokenize, _alone, ranked, runner_up = _model_alone(engine)
    leaning = Leaning(runner_up.text)
    both = _written(ExtractiveAnswerer(tokenize, 1, model, leaning, 12), reading).picks
    assert [p.text for p in both] == [runner_up.text]
    # It read at most its cap, each sentence with its title and the sentence before it.
    assert len(leaning.read) == min(12, len(ranked))
    assert (
        candidate_text(runner_up.text, runner_up.passage.title, runner_up.previous) in leaning.read
    )


def test_a_candidate_carries_the_sentence_before_it_in_its_passage() -> None:
    text = "Talks resumed on Monday in Istanbul. The session lasted forty minutes in all, officials said."
    passage = make_passage(text, "a", "Dawn", date(2025, 8, 28), score=0.03, dense=0.5, bm25=5.0)
    found = candidates(
        Evidence("How long did the session last?", {"session": 1.0}, [passage]),
        lambda ts: [t.lower().split() for t in ts],
    )
    assert [c.previous for c in found] == ["", "Talks resumed on Monday in Istanbul."]


def test_a_reader_whose_card_gives_it_no_weight_leaves_the_sentence_models_order(engine) -> None:  # type: ignore[no-untyped-def]
    reading, model, tokenize, alone, _ranked, runner_up = _model_alone(engine)
    unheard = Leaning(runner_up.text, weight=0.0)
    picks = _written(ExtractiveAnswerer(tokenize, 1, model, unheard, 12), reading).picks
    assert [p.text for p in picks] == [alone[0].text]


def test_the_shipped_readers_card_names_the_weight_chosen_for_it(reader: Reader) -> None:
    assert reader.weight > 0 and "weight_rule" in reader.card.about


def test_the_root_causes_question_keeps_the_sentence_that_states_them(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "What did Peskov say about NATO military infrastructure being among the root causes?"
    )
    assert any("advancement of NATO military infrastructure" in s.text for s in answer.sentences)
