"""Follow-up questions: what to retrieve with when a question leans on the earlier turns.

Extractive mode uses a heuristic: a question is a follow-up when it opens like one ("And ...",
"What about ..."), is very short, or points back with a personal pronoun or a demonstrative
("they", "them", "he", "those", "that session") before it has named anything of its own: in
"Where did the Russian and Ukrainian negotiators meet, and how long did that session last?"
"that session" points inside the question, which starts fresh. "It" and "this" alone do not
count: they often point inside the same question. A follow-up's retrieval query carries the
previous turn's query (its last 30 words, so it cannot grow without bound), and the previous
turn's filters apply unless the new question names its own; the engine reports them as carried.
LLM mode asks the model to condense the conversation into a standalone question instead
(prompts/condense.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Filters, Turn

_OPENERS = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|what else)\b", re.I)
_BACK_REFERENCES = re.compile(
    r"\b(they|them|their|he|she|his|her|him|those|these|the same|the latter|the former|"
    r"(that|this) (session|meeting|talks?|attack|strike|plan|proposal|deal|report|article|story|event|summit|statement))\b",
    re.I,
)
_CARRIED_WORDS = 30
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w'-]*")  # a capitalised word, not the first


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """True when the question probably depends on the previous turn."""
    if not history:
        return False
    words = re.findall(r"\w+", question)
    if _OPENERS.search(question) or len(words) <= 4:
        return True
    asked = question.strip()
    back = _BACK_REFERENCES.search(asked)
    return back is not None and not _NAME.search(asked[: back.start()])


def follow_up_query(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for a follow-up: the question plus the previous turn's query."""
    previous = history[-1]
    carried = (previous.retrieval_query or previous.question).split()[-_CARRIED_WORDS:]
    return f"{question} {' '.join(carried)}"


def carried_filters(question_filters: Filters, history: Sequence[Turn]) -> Filters:
    """The previous turn's filters, when the question names none of its own (else none)."""
    previous = history[-1].filters if history else None
    if previous is None or not question_filters.is_empty():
        return Filters()
    return previous
