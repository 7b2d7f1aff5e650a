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

from rag.answerers import Reading, Writing, Written
from rag.coverage import Pick, Tokenize, choose, score_sentences
from rag.retrieve import Terms
from rag.sentence_model import AnswerModel, Evidence, answerable, candidates, choose_ranked
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
    ) -> None:
        self.tokenize = tokenize
        self.limit = limit
        self.model = model

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
        if self.model is not None and terms.focus and not terms.context:
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
        """Sentences by the sentence model, or none when no sentence covers enough of the
        question."""
        assert self.model is not None
        evidence = evidence_of(reading)
        found = candidates(evidence, self.tokenize)
        if not answerable(found):
            return []
        best = choose_ranked(self.model.rank(found), self.limit)
        return [Pick(c.text, c.passage, c.coverage, c.score) for c in best]

def evidence_of(reading: Reading) -> Evidence:
    """What the sentence model reads of a question's retrieval."""
    retrieval = reading.retrieval
    return Evidence(reading.question, retrieval.terms.focus, retrieval.passages, reading.week)
