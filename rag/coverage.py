"""Extractive answers: the retrieved sentences that best answer the question, verbatim, cited.

Each candidate sentence is scored by IDF-weighted coverage of the question's words (how much
of what was asked it mentions) plus a smaller share for its passage's retrieval rank. The
best sentence leads; up to N-1 more follow if they score close to it and add new words.
When no sentence is confident enough (word coverage, helped by the passage's embedding
similarity to the question), the answer abstains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rag.body import body_sentences, distinct
from rag.citations import content_words
from rag.types import Passage

Tokenize = Callable[[list[str]], list[list[str]]]

MIN_COVERAGE = 0.45  # below this share of the question's weight, the corpus does not answer it
CONTEXT_WEIGHT = 0.5  # weight of words carried over from earlier turns
# A passage the embedding model finds close to the question vouches for a sentence that says
# the same thing in other words ("yielded" for "produced"); 0.3 cosine is unrelated text.
DENSE_FLOOR, DENSE_BONUS = 0.3, 0.5


def confident(coverage: float, passage: Passage) -> bool:
    """Whether a sentence covers enough of the question, helped by a close passage."""
    return margin(coverage, passage) >= MIN_COVERAGE


def margin(coverage: float, passage: Passage) -> float:
    """A sentence's coverage with the bonus of a close passage: what `confident` thresholds."""
    return coverage + DENSE_BONUS * max((passage.dense or 0.0) - DENSE_FLOOR, 0.0)


@dataclass
class Pick:
    """A chosen sentence, its passage and its scores."""

    text: str
    passage: Passage
    coverage: float
    score: float
    # The share of the question its article's headline holds, when higher: the headline is not
    # quoted, but it still tells that the article is about the question.
    support: float = 0.0

    @property
    def vouched(self) -> float:
        """What decides whether the corpus answers: the sentence's coverage or its headline's."""
        return max(self.coverage, self.support)


def score_sentences(
    focus: Mapping[str, float],
    passages: Sequence[Passage],
    tokenize: Tokenize,
    context: Mapping[str, float] | None = None,
) -> list[Pick]:
    """Every answer-like sentence of the passages, best first.

    `focus` are the question's own terms with their weights; `context` are terms carried over
    from earlier turns of a conversation, which count for less so a follow-up is answered, not
    the first question.
    """
    weights = {t: CONTEXT_WEIGHT * w for t, w in (context or {}).items()}
    weights.update(focus)
    candidates: list[tuple[str, Passage, float]] = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(body_sentences(passage)):
            if quotable(sentence.text):
                prior = 1.0 / (rank + 2) + (0.0 if weights else 0.1 / (position + 1))
                candidates.append((sentence.text, passage, prior))
    keep = distinct([c[0] for c in candidates])
    candidates = [c for c, kept in zip(candidates, keep, strict=True) if kept]
    if not candidates:
        return []
    if not weights:
        # "What did Dawn report?": nothing to match, so the filtered articles' leads answer it.
        return sorted(
            (Pick(t, p, 1.0, prior) for t, p, prior in candidates), key=lambda p: -p.score
        )
    picks = []
    shares, headline = shares_and_headlines([c[0] for c in candidates], passages, tokenize, weights)
    for (text, passage, prior), coverage in zip(candidates, shares, strict=True):
        score = 0.8 * coverage + 0.2 * prior
        picks.append(Pick(text, passage, coverage, score, headline[id(passage)]))
    return sorted(picks, key=lambda p: -p.score)


def share(tokens: set[str], weights: Mapping[str, float]) -> float:
    """The share of the question's weighted terms among `tokens`."""
    total = sum(weights.values()) or 1.0
    return sum(weights[t] for t in tokens if t in weights) / total


def shares_and_headlines(
    texts: Sequence[str],
    passages: Sequence[Passage],
    tokenize: Tokenize,
    weights: Mapping[str, float],
) -> tuple[list[float], dict[int, float]]:
    """Each text's share of the question, and each passage's headline's (by `id(passage)`),
    tokenized in one batch."""
    tokens = [set(t) for t in tokenize([*texts, *(p.title for p in passages)])]
    shares = [share(t, weights) for t in tokens[: len(texts)]]
    titles = tokens[len(texts) :]
    return shares, {id(p): share(t, weights) for p, t in zip(passages, titles, strict=True)}


def quotable(text: str) -> bool:
    """A whole sentence an answer may quote: six words or more, closing punctuation."""
    return len(text.split()) >= 6 and text[-1] in '.!?"”’)'


def choose(picks: list[Pick], limit: int) -> list[Pick]:
    """The lead sentence and up to limit-1 close runners-up that add something new."""
    if not any(confident(p.vouched, p.passage) for p in picks[:5]):
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
