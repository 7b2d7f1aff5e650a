"""Syndicated copies: the same wire story in several outlets, found by shared word 5-grams."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.types import Passage, Source

_WORD = re.compile(r"[a-z0-9]+")


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of a text, lower-cased."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def collapse_syndicated(
    passages: Iterable[Passage], threshold: float = 0.5, limit: int | None = None
) -> list[Passage]:
    """Fold near-duplicate passages from other articles into the best-ranked copy's `also_in`.

    Two passages are copies when at least `threshold` of the shorter one's word 5-grams occur
    in the other: the same wire story republished, whatever the surrounding page.
    """
    kept: list[tuple[Passage, set[tuple[str, ...]]]] = []
    for passage in passages:
        if limit is not None and len(kept) >= limit:
            break
        grams = shingles(passage.text)
        for other, other_grams in kept:
            if other.doc_id == passage.doc_id:
                continue
            overlap = len(grams & other_grams) / max(min(len(grams), len(other_grams)), 1)
            if overlap >= threshold:
                other.also_in.append(passage.source())
                break
        else:
            kept.append((passage, grams))
    return [p for p, _ in kept]


def carriers(sentence: str, cited: Passage, passages: Sequence[Passage]) -> list[Source]:
    """Other articles in `passages` carrying this sentence near-verbatim (syndicated copies)."""
    wanted = shingles(sentence)
    found = list(cited.also_in)
    seen = {cited.doc_id, *(s.doc_id for s in found)}
    for p in passages:
        if (
            p.doc_id not in seen
            and len(wanted) >= 4
            and len(wanted & shingles(p.text)) >= 0.7 * len(wanted)
        ):
            found.append(p.source())
            seen.add(p.doc_id)
    return found
