"""Citation markers, conversation-stable numbering, and the words a support check compares."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.dates import format_day
from rag.types import Citation, Passage, Source, Turn

_NORM = re.compile(r"[^a-z0-9]+")
_CONTENT = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """
    the a an and or but of to in on at for by with from as is was were are be been has have
    had that this it its he she they their his her said says would will not which who what
    when where how did do does there than also
    """.split()
)
# "[3]" or "[3: Dawn, 28 Aug 2025]": group 1 is the number, group 2 the label if any.
MARKER = re.compile(r"\[(\d+)(?::\s*([^\]]*))?\]")


def marker(number: int, source: Source) -> str:
    """The inline marker for citation `number` of `source`: "[3: Dawn, 28 Aug 2025]"."""
    return f"[{number}: {label(source)}]"


def cited_numbers(text: str) -> list[int]:
    """The citation numbers marked in a text, in order."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]


def word_core(text: str) -> str:
    """Lower-case words only, for containment checks that ignore quotes and dashes."""
    return _NORM.sub(" ", text.lower()).strip()


def content_words(text: str) -> set[str]:
    """Lower-case content words with a light plural strip."""
    return {
        w[:-1] if len(w) > 4 and w.endswith("s") else w
        for w in _CONTENT.findall(text.lower())
        if w not in _STOP
    }


def label(source: Source, separator: str = ", ") -> str:
    """'Dawn, 28 Aug 2025' as the reader sees it (chips use " · "); unknowns say so."""
    return f"{source.outlet or 'unknown outlet'}{separator}{format_day(source.date)}"


class Numbering:
    """Citation numbers that stay stable across the turns of a conversation."""

    def __init__(self, history: Sequence[Turn] = ()) -> None:
        self.by_chunk: dict[str, int] = {}
        for turn in history:
            for c in turn.citations:
                self.by_chunk.setdefault(c.chunk_id, c.number)
        self.next = max(self.by_chunk.values(), default=0) + 1

    def number(self, chunk_id: str) -> int:
        """The number for a passage: reused if cited before, else the next free one."""
        if chunk_id not in self.by_chunk:
            self.by_chunk[chunk_id] = self.next
            self.next += 1
        return self.by_chunk[chunk_id]


def make_citation(
    number: int,
    passage: Passage,
    quote: str = "",
    support: float = 1.0,
    also_in: list[Source] | None = None,
) -> Citation:
    """A citation to one passage, with the quoted sentence located inside it."""
    where = passage.text.find(quote) if quote else -1
    tag = label(passage)
    return Citation(
        **passage.source().model_dump(),
        number=number,
        marker=marker(number, passage),
        label=tag,
        passage=passage.text,
        span=(passage.start, passage.end),
        quote=quote,
        quote_span=(where, where + len(quote)) if where >= 0 else None,
        support=support,
        also_in=also_in if also_in is not None else list(passage.also_in),
    )
