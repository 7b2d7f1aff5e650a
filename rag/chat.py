"""Follow-up questions: what to retrieve with when a question leans on the earlier turns.

Extractive mode uses a heuristic: a question is a follow-up when it is short or opens like one
("And ...", "What about ...") or points back with a pronoun ("that session", "he", "they").
Its retrieval query then carries the previous turn's query, and the previous turn's filters
apply unless the new question names its own. LLM mode asks the model to condense the
conversation into a standalone question instead (prompts/condense.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Filters, Turn

_OPENERS = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what|what else|why|how come)\b", re.I
)
_BACK_REFERENCES = re.compile(
    r"\b(that|this|those|these|it|its|they|them|their|he|she|his|her|him|there|the same|"
    r"the latter|the former|such)\b",
    re.I,
)


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """True when the question probably depends on the previous turn."""
    if not history:
        return False
    words = re.findall(r"\w+", question)
    return bool(_OPENERS.search(question) or _BACK_REFERENCES.search(question) or len(words) <= 4)


def follow_up_query(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for a follow-up: the question plus the previous turn's query."""
    previous = history[-1]
    return f"{question} {previous.retrieval_query or previous.question}"


def carried_filters(question_filters: Filters, history: Sequence[Turn]) -> Filters:
    """Filters from the question, falling back to those of the previous turn."""
    previous = history[-1].filters if history else None
    if previous is None or not question_filters.is_empty():
        return question_filters
    return previous
