"""The body sentences of a passage: what an answer may quote.

Ingest marks the lines of an article that are not body text (`index.roles`); a passage carries
those spans. Headlines, standfirsts, headings, captions and bylines are left out; a dateline is
cut from the sentence it opens ("MOSCOW: Russia pushed back…" is quoted from "Russia"). A sentence
holding text like a citation label ("[1: Reuters, 01 Jan 2025]") is never quoted.
"""

from __future__ import annotations

from index.roles import DATELINE
from index.sentences import Sentence, split_sentences
from rag.citations import MARKER
from rag.types import Passage


def body_sentences(passage: Passage) -> list[Sentence]:
    """The passage's sentences that are body text, with their spans in the passage."""
    out = []
    for sentence in split_sentences(passage.text):
        kept = _without_furniture(passage, sentence)
        if kept is not None:
            out.append(kept)
    return out


def _without_furniture(passage: Passage, sentence: Sentence) -> Sentence | None:
    start, end = sentence.start, sentence.end
    for r_start, r_end, role in passage.roles:
        overlap = min(end, r_end) - max(start, r_start)
        if overlap <= 0:
            continue
        if role != DATELINE:
            if 2 * overlap >= end - start:
                return None
        elif r_start <= start < r_end:
            start = r_end
    text = passage.text[start:end].strip()
    if not text or MARKER.search(text):
        return None  # quoting text that looks like a citation label would forge one
    start = passage.text.index(text, start)
    return Sentence(text, start, start + len(text))


def distinct(texts: list[str]) -> list[bool]:
    """For each text, whether it is kept: not a copy of an earlier one, and not a piece of
    another (a sentence cut short at a chunk's edge)."""
    keys = [" ".join(t.lower().split()) for t in texts]
    kept = []
    for i, key in enumerate(keys):
        copy = key in keys[:i]
        piece = any(key != other and key in other for other in keys)
        kept.append(not copy and not piece)
    return kept
