"""Extractive answers: the retrieved sentences that best answer the question, verbatim, cited.

Each candidate sentence is scored by IDF-weighted coverage of the question's words (how much
of what was asked it mentions) plus a smaller share for its passage's retrieval rank. The
best sentence leads; up to N-1 more follow if they score close to it and add new words.
When no sentence covers enough of the question, the answer abstains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.sentences import split_sentences
from rag.citations import carriers, content_words
from rag.types import Passage

Tokenize = Callable[[list[str]], list[list[str]]]
Weight = Callable[[str], float]

MIN_COVERAGE = 0.45  # below this share of the question's weight, the corpus does not answer it


@dataclass
class Pick:
    """A chosen sentence, its passage and its scores."""

    text: str
    passage: Passage
    coverage: float
    score: float


def score_sentences(question_tokens: list[str], passages: Sequence[Passage], tokenize: Tokenize,
                    weight: Weight) -> list[Pick]:  # fmt: skip
    """Every answer-like sentence of the passages, best first."""
    total = sum(weight(t) for t in set(question_tokens)) or 1.0
    candidates: list[tuple[str, Passage, float]] = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(split_sentences(passage.text)):
            if len(sentence.text.split()) >= 6 and sentence.text[-1] in '.!?"”’)':
                prior = 1.0 / (rank + 2) + (0.0 if question_tokens else 0.1 / (position + 1))
                candidates.append((sentence.text, passage, prior))
    if not candidates:
        return []
    if not question_tokens:
        # "What did Dawn report?": nothing to match, so the filtered articles' leads answer it.
        return sorted(
            (Pick(t, p, 1.0, prior) for t, p, prior in candidates), key=lambda p: -p.score
        )
    tokens = tokenize([c[0] for c in candidates])
    picks = []
    for (text, passage, prior), sentence_tokens in zip(candidates, tokens, strict=True):
        coverage = sum(weight(t) for t in set(question_tokens) & set(sentence_tokens)) / total
        picks.append(Pick(text, passage, coverage, 0.8 * coverage + 0.2 * prior))
    return sorted(picks, key=lambda p: -p.score)


def choose(picks: list[Pick], limit: int) -> list[Pick]:
    """The lead sentence and up to limit-1 close runners-up that add something new."""
    if not picks or picks[0].coverage < MIN_COVERAGE:
        return []
    chosen = [picks[0]]
    seen = content_words(picks[0].text)
    for pick in picks[1:]:
        if len(chosen) >= limit or pick.score < 0.6 * picks[0].score:
            break
        words = content_words(pick.text)
        if pick.coverage > 0 and len(words - seen) >= max(3, len(words) // 3):
            chosen.append(pick)
            seen |= words
    return chosen


def syndicated_sources(pick: Pick, passages: Sequence[Passage]) -> list:
    """Other outlets that carried the same sentence."""
    return carriers(pick.text, pick.passage, passages)
