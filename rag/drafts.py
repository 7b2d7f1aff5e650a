"""The citation check: picked sentences (extractive) or an LLM reply become a verified, cited draft."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.sentences import split_sentences
from rag.citations import (
    MARKER,
    Numbering,
    cited_numbers,
    content_words,
    label,
    make_citation,
)
from rag.coverage import Pick
from rag.llm import LLMError
from rag.support import SupportChecker, told
from rag.syndication import carriers
from rag.types import AnswerSentence, Citation, CitationCheck, Passage, Source

if TYPE_CHECKING:
    from rag.answerers import Written

ABSTAIN_TOKEN = "NOT_IN_CORPUS"
UNSUPPORTED = "[unsupported]"


@dataclass
class Draft:
    """Answer sentences with their citations, before it becomes an `Answer`."""

    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: dict[int, Citation] = field(default_factory=dict)
    check: CitationCheck = field(default_factory=CitationCheck)

    def text(self) -> str:
        """Answer text with inline markers after every sentence."""
        parts = []
        for s in self.sentences:
            markers = " ".join(self.citations[n].marker for n in s.citations)
            parts.append(f"{s.text} {markers or UNSUPPORTED}")
        return " ".join(parts)

    def cite(
        self, number: int, passage: Passage, quote: str, support: float, passages: Sequence[Passage]
    ) -> None:
        """Attach a citation for `passage` under `number` (once per number)."""
        if number not in self.citations:
            also = carriers(quote, passage, passages) if quote else list(passage.also_in)
            self.citations[number] = make_citation(number, passage, quote, support, also)


def check_citations(
    written: Written, passages: Sequence[Passage], checker: SupportChecker, numbering: Numbering
) -> Draft:
    """The verified draft of what an answerer wrote (empty when it wrote nothing).

    An LLM reply none of whose sentences its passages support is an `LLMError`: nothing of it
    can be shown as cited.
    """
    if written.reply:
        draft = llm_draft(written.reply, written.numbered, passages, checker, numbering)
        if not any(s.supported for s in draft.sentences):
            raise LLMError("none of the LLM's sentences is supported by the passages")
        return draft
    return extractive_draft(written.picks, passages, numbering)


def extractive_draft(
    picks: Sequence[Pick], passages: Sequence[Passage], numbering: Numbering
) -> Draft:
    """Cited answer from verbatim sentences; each is in its passage by construction."""
    draft = Draft()
    for pick in picks:
        number = numbering.number(pick.passage.chunk_id)
        draft.cite(number, pick.passage, pick.text, 1.0, passages)
        draft.sentences.append(AnswerSentence(text=pick.text, citations=[number]))
    n = len(draft.sentences)
    draft.check = CitationCheck(total=n, passed=n)
    return draft


def llm_draft(
    reply: str,
    numbered: dict[int, Passage],
    passages: Sequence[Passage],
    checker: SupportChecker,
    numbering: Numbering,
) -> Draft:
    """Verify every citation of an LLM reply: keep, repair, drop, and flag what is left bare."""
    draft = Draft()
    # "...talks. [2] Next" -> "...talks [2]. Next" so a marker stays with its sentence.
    text = re.sub(
        rf"([.!?])\s*((?:{MARKER.pattern}\s*)+)",
        lambda m: f" {m.group(2).strip()}{m.group(1)} ",
        reply,
    )
    for sentence in split_sentences(text):
        cited = cited_numbers(sentence.text)
        plain = re.sub(r"\s+([.!?,;:])", r"\1", MARKER.sub("", sentence.text)).strip()
        if len(plain.split()) < 2:
            continue
        kept = _verify(plain, cited, numbered, checker, draft.check)
        if not kept:
            kept = _repair(plain, numbered, checker, draft.check)
        numbers = []
        for local, score in kept:
            number = numbering.number(numbered[local].chunk_id)
            draft.cite(
                number, numbered[local], _best_quote(plain, numbered[local]), score, passages
            )
            numbers.append(number)
        draft.sentences.append(
            AnswerSentence(text=plain, citations=numbers, supported=bool(numbers))
        )
        draft.check.unsupported_sentences += 0 if numbers else 1
    return draft


def _verify(
    sentence: str,
    cited: list[int],
    numbered: dict[int, Passage],
    checker: SupportChecker,
    check: CitationCheck,
) -> list[tuple[int, float]]:
    kept = []
    for local in dict.fromkeys(cited):
        check.total += 1
        if local not in numbered:
            check.dropped += 1  # points at no passage
            continue
        score = checker.score(sentence, numbered[local].text, told(numbered[local]))
        if score >= checker.threshold:
            check.passed += 1
            kept.append((local, score))
        else:
            check.dropped += 1
    return kept


def _repair(
    sentence: str, numbered: dict[int, Passage], checker: SupportChecker, check: CitationCheck
) -> list[tuple[int, float]]:
    """Re-point an unsupported sentence at the passage that supports it best, if any does."""
    scored = [(checker.score(sentence, p.text, told(p)), local) for local, p in numbered.items()]
    best = max(scored, default=(0.0, 0))
    if best[0] >= checker.threshold:
        check.repaired += 1
        return [(best[1], best[0])]
    return []


def _best_quote(sentence: str, passage: Passage) -> str:
    """The passage sentence that shares most words with the answer sentence."""
    words = content_words(sentence)
    candidates = split_sentences(passage.text)
    best = max(candidates, key=lambda s: len(words & content_words(s.text)), default=None)
    return best.text if best else ""


def abstain_text(note: str | None, closest: Sequence[Source]) -> str:
    """The honest answer when the corpus does not cover the question."""
    lead = note or "The corpus does not cover this question."
    if not closest:
        return lead
    listed = "; ".join(f"“{s.title}” ({label(s)})" for s in closest)
    return f"{lead} Closest articles: {listed}."


def closest_articles(passages: Sequence[Passage], limit: int = 3) -> list[Source]:
    """Distinct articles of the best passages."""
    seen: dict[str, Source] = {}
    for p in passages:
        if p.doc_id not in seen:
            seen[p.doc_id] = p.source()
    return list(seen.values())[:limit]
