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
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_QUESTION_WORDS = frozenset(
    "and but also then what about how who whom whose when where which why did does was were "
    "are is has have had can could would will should may might ask say said tell the".split()
)
_OWN_SUBJECT = 3  # new content words before a back-reference that make a question stand alone


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _QUESTION_WORDS}


def is_follow_up(question: str, history: Sequence[Turn], query: str | None = None) -> bool:
    """True when the question probably depends on the previous turn.

    `query` is the question without the phrases read as filters ("According to Dawn, "): a
    back-reference counts unless what comes before it in the query names a subject of its own,
    words the previous turn did not use.
    """
    if not history:
        return False
    words = re.findall(r"\w+", question)
    if _OPENERS.search(question) or len(words) <= 4:
        return True
    asked = (question if query is None else query).strip()
    back = _BACK_REFERENCES.search(asked)
    if back is None:
        return False
    previous = history[-1]
    known = _content(f"{previous.question} {previous.retrieval_query or ''}")
    return len(_content(asked[: back.start()]) - known) < _OWN_SUBJECT


def follow_up_query(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for a follow-up: the question plus the previous turn's query."""
    previous = history[-1]
    carried = (previous.retrieval_query or previous.question).split()[-_CARRIED_WORDS:]
    return f"{question} {' '.join(carried)}"


def carried_filters(question: Filters, explicit: Filters, history: Sequence[Turn]) -> Filters:
    """What of the previous turn's filters a follow-up keeps: nothing when the question names
    filters of its own, and never what the asker set explicitly this turn."""
    previous = history[-1].filters if history else None
    if previous is None or not question.is_empty():
        return Filters()
    return Filters(
        outlet=None if explicit.outlet else previous.outlet,
        since=None if explicit.since else previous.since,
        until=None if explicit.until else previous.until,
        as_of=None if explicit.as_of else previous.as_of,
    )
