"""The extractive answerer: the retrieved sentences that best answer the question, verbatim.

Sentences are chosen by the learned sentence model (`rag.sentence_model`) for a standalone
question, and by word coverage (`rag.coverage`) for a follow-up or a question of filters alone,
which the model never learned from. It needs no service and is always there: the other answer
modes fall back to it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import numpy as np

from rag.answerers import Reading, Writing, Written
from rag.citations import content_words
from rag.coverage import Pick, Tokenize, choose, confident, score_sentences
from rag.reader import Reader, Sentence, candidate_text, sentence_pool
from rag.retrieve import Terms
from rag.sentence_model import (
    AnswerModel,
    Candidate,
    Evidence,
    answerable,
    candidates,
    choose_ranked,
)
from rag.types import Passage, Turn


class ExtractiveAnswerer:
    """Answers with up to `limit` sentences of the passages; `model` None: word coverage only."""

    mode: Literal["extractive"] = "extractive"
    condenses = False

    def __init__(
        self,
        tokenize: Tokenize,
        limit: int,
        model: AnswerModel | None = None,
        reader: Reader | None = None,
        candidates: int = 24,
    ) -> None:
        self.tokenize = tokenize
        self.limit = limit
        self.model = model
        # When set, it reads standalone questions: beside `model`'s order when there is one,
        # else beside word coverage's.
        self.reader = reader
        self.candidates = candidates  # the most sentences the reader scores per question

    def standalone(self, question: str, history: Sequence[Turn]) -> str | None:
        """None: follow-ups are searched by the follow-up rules' query."""
        return None

    def reachable(self) -> bool | None:
        """None: it needs no service."""
        return None

    def write(self, reading: Reading) -> Writing:
        """The chosen sentences, or none when nothing answers the question."""
        yield from ()
        t0 = time.perf_counter()
        terms = reading.retrieval.terms
        if not terms.focus and not terms.context and not reading.scoped:
            # Nothing asked and nothing to scope by ("What is it?"): there is no answer to give.
            return Written()
        # A follow-up wants something new: skip sentences earlier turns already gave, if possible.
        said = " ".join(turn.answer for turn in reading.history) if terms.context else ""
        # The model learned from standalone questions: follow-ups, and questions of filters
        # alone, keep the choice by word coverage, which weighs carried-over words for them.
        if self.reader is not None and self.model is None and terms.focus and not terms.context:
            picks = self._read(reading)
        elif self.model is not None and terms.focus and not terms.context:
            picks = self._learned(reading)
        else:
            picks = self._by_coverage(terms, reading.retrieval.passages, said)
        return Written(picks=picks, timings={"compose_ms": (time.perf_counter() - t0) * 1e3})

    def _by_coverage(self, terms: Terms, passages: list[Passage], said: str) -> list[Pick]:
        """Sentences by word coverage (also what answers a question of filters alone)."""
        picks = score_sentences(terms.focus, passages, self.tokenize, terms.context)
        fresh = [p for p in picks if p.text not in said]
        return choose(fresh, self.limit) or choose(picks, self.limit)

    def _learned(self, reading: Reading) -> list[Pick]:
        """Sentences by the sentence model, and the reader beside it when there is one; none
        when no sentence covers enough of the question or none reaches the reader's threshold."""
        assert self.model is not None
        found = candidates(evidence_of(reading), self.tokenize)
        if not answerable(found):
            return []
        ranked = self.model.rank(found)
        if self.reader is not None:
            ranked = self._reordered(reading.question, ranked, self.reader)
        best = choose_ranked(ranked, self.limit)
        return [Pick(c.text, c.passage, c.coverage, c.score, c.vouched) for c in best]

    def _reordered(self, question: str, ranked: list[Candidate], reader: Reader) -> list[Candidate]:
        """The model's best candidates reordered by its order and the reader's together ([]
        when none reaches the reader's threshold)."""
        top, rest = ranked[: self.candidates], ranked[self.candidates :]
        texts = [candidate_text(c.text, c.passage.title, c.previous) for c in top]
        scores = reader.score(question, texts)
        if scores.max() < reader.threshold:
            return []
        # Each sees what the other misses: the model retrieval's and the sentence's shape, the
        # reader the question read against the sentence. The card says how much the reader's
        # order counts, as chosen on the development weeks.
        order = reader.weight * z_scores(scores) + z_scores(
            logits(np.array([c.score for c in top]))
        )
        top = [c for _, c in sorted(zip(order.tolist(), top, strict=True), key=lambda x: -x[0])]
        return top + rest

    def _read(self, reading: Reading) -> list[Pick]:
        """Sentences by the reader: the best leads, and a close runner-up that adds something
        (the second part of a two-part question) follows; none when no sentence reaches the
        reader's threshold, or none covers enough of the question's words."""
        assert self.reader is not None
        retrieval = reading.retrieval
        pool = sentence_pool(
            retrieval.passages, retrieval.terms.focus, self.tokenize, self.candidates
        )
        # The reader alone answers too many questions the corpus cannot: word coverage must
        # also find the question's subject in what was retrieved.
        if not any(confident(s.vouched, s.passage) for s in pool[:5]):
            return []
        texts = [candidate_text(s.text, s.passage.title, s.previous) for s in pool]
        scores = self.reader.score(reading.question, texts)
        if not len(scores) or scores.max() < self.reader.threshold:
            return []
        # The reader and word coverage each see what the other misses: both orders count.
        order = z_scores(scores) + z_scores(np.array([s.lexical for s in pool]))
        ranked = sorted(
            zip(order.tolist(), scores.tolist(), pool, strict=True), key=lambda x: -x[0]
        )
        return _lead_and_runner_up(ranked, self.reader.threshold, self.limit)


RUNNER_UP_MARGIN = 1.0  # a second sentence scores within this much of the lead (reader logits)


def z_scores(values: np.ndarray) -> np.ndarray:
    """Values as z-scores, so two orders on different scales can be summed."""
    return (values - values.mean()) / (float(values.std()) or 1.0)


def logits(p: np.ndarray) -> np.ndarray:
    """Probabilities as log-odds (clipped away from 0 and 1)."""
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def _lead_and_runner_up(
    ranked: list[tuple[float, float, Sentence]], threshold: float, limit: int
) -> list[Pick]:
    """The lead, then a sentence the reader scores above its threshold that adds new words and
    is not a piece of one already chosen (the second part of a two-part question)."""
    chosen = [ranked[0]]
    seen = content_words(ranked[0][2].text)
    floor = max(threshold, ranked[0][1] - RUNNER_UP_MARGIN)
    for rank, score, sentence in ranked[1:]:
        if len(chosen) >= min(limit, 2):
            break
        words = content_words(sentence.text)
        overlapping = any(sentence.text in c.text or c.text in sentence.text for *_, c in chosen)
        if score >= floor and not overlapping and len(words - seen) >= max(3, len(words) // 2):
            chosen.append((rank, score, sentence))
            seen |= words
    return [Pick(s.text, s.passage, s.lexical, score) for _, score, s in chosen]


def evidence_of(reading: Reading) -> Evidence:
    """What the sentence model reads of a question's retrieval."""
    retrieval = reading.retrieval
    return Evidence(reading.question, retrieval.terms.focus, retrieval.passages, reading.week)
