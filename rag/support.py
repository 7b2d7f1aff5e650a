"""The support check: how well a passage supports a sentence, and whether it contradicts it.

Support score of a sentence against a passage (documented in the README):
    support = 0.5 * lexical + 0.5 * semantic
    lexical  = share of the sentence's content words (stemmed, stopwords removed) found in the
               passage
    semantic = best cosine similarity between the sentence and any sentence of the passage,
               rescaled so 0.2 (unrelated) maps to 0 and 0.8 (paraphrase) maps to 1
A sentence found verbatim in the passage scores 1.0 without embedding anything. A sentence the
passage contradicts or never states (`rag.contradiction`: a number, date or name it lacks, a
flipped negation, an opposite word, swapped roles) scores 0. A citation passes when support >=
NEWSDESK_SUPPORT_THRESHOLD (default 0.5).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from index.dates import format_day
from index.sentences import split_sentences
from rag.citations import MARKER, content_words, word_core
from rag.contradiction import conflict
from rag.types import Source


def told(source: Source) -> str:
    """What a reader is told of a passage beside its text: its outlet, date and title."""
    return f"{source.outlet or ''} {format_day(source.date)} {source.title or ''}"


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

    def score(self, sentence: str, passage: str, about: str = "") -> float:
        """Support of `sentence` by `passage`, in [0, 1]; `about` is what a reader is told of
        the passage beside its text (outlet, date, title)."""
        core = word_core(MARKER.sub("", sentence))
        if core and core in word_core(passage):
            return 1.0
        if conflict(MARKER.sub("", sentence), passage, about):
            return 0.0
        lexical = self.lexical(sentence, passage)
        if self.embed is None:
            return lexical
        return 0.5 * lexical + 0.5 * self.semantic(sentence, passage)
