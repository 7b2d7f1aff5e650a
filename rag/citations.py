"""Citation markers, conversation-stable numbering, and the support check.

Support score of a sentence against a passage (documented in the README):
    support = 0.5 * lexical + 0.5 * semantic
    lexical  = share of the sentence's content words (stemmed, stopwords removed) found in the
               passage
    semantic = best cosine similarity between the sentence and any sentence of the passage,
               rescaled so 0.2 (unrelated) maps to 0 and 0.8 (paraphrase) maps to 1
A sentence found verbatim in the passage scores 1.0 without embedding anything. A citation
passes when support >= NEWSDESK_SUPPORT_THRESHOLD (default 0.5).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from index.dates import format_day
from index.sentences import split_sentences
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


Embed = Callable[[str], list[float]]


class SupportChecker:
    """Scores how well a passage supports a sentence (see the module docstring)."""

    def __init__(self, embed: Embed | None, threshold: float = 0.5) -> None:
        self.embed = embed
        self.threshold = threshold
        # Bounded: a long-running server sees endless distinct sentences. Request threads
        # share it, and an OrderedDict's move/pop are not safe against each other.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _vector(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        assert self.embed is not None
        vector = np.asarray(self.embed(text), dtype=np.float32)  # outside the lock: slow
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > 4096:
                self._cache.popitem(last=False)
        return vector

    def lexical(self, sentence: str, passage: str) -> float:
        """Share of the sentence's content words present in the passage."""
        words = content_words(sentence)
        return len(words & content_words(passage)) / len(words) if words else 0.0

    def semantic(self, sentence: str, passage: str) -> float:
        """Best sentence-level cosine, rescaled to [0, 1]."""
        if self.embed is None:
            return 0.0
        target = self._vector(sentence)
        best = max(
            (float(target @ self._vector(s.text)) for s in split_sentences(passage)), default=0.0
        )
        return float(np.clip((best - 0.2) / 0.6, 0.0, 1.0))

    def score(self, sentence: str, passage: str) -> float:
        """Support of `sentence` by `passage`, in [0, 1]."""
        core = word_core(MARKER.sub("", sentence))
        if core and core in word_core(passage):
            return 1.0
        lexical = self.lexical(sentence, passage)
        if self.embed is None:
            return lexical
        return 0.5 * lexical + 0.5 * self.semantic(sentence, passage)
