"""Sentence splitting with character spans, shared by chunking, answering and citation checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof gen gov sen rep st jr sr lt col capt sgt no vs etc inc ltd co corp jan
    feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m mt ft approx
    dept est fig
    """.split()
)

# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote; line breaks always end a sentence because scraped lines are
# paragraphs, headings or captions. A match starts only where a run of end marks starts and
# takes whole runs (possessive): retrying inside a run of "!!!!…" took quadratic time, and a
# shorter run can never match where the whole one does not.
_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?[A-Z0-9])")
_LINE = re.compile(r"[^\n]+")
_WORD_BEFORE = re.compile(r"[A-Za-z.]+$")
# An abbreviation is this short; the word before a period is read only this far back.
_LONGEST = max(map(len, _ABBREVIATIONS))


@dataclass(frozen=True)
class Sentence:
    """A sentence and its [start, end) span in the text it came from."""

    text: str
    start: int
    end: int


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    # Only the last _LONGEST + 1 characters decide: a longer word is no abbreviation.
    window = text[max(dot_pos - _LONGEST - 1, 0) : dot_pos]
    word = _WORD_BEFORE.search(window)
    if not word or len(word.group(0)) > _LONGEST:
        return False
    token = word.group(0).lower().rstrip(".")
    # Single capital initials ("K.P. Sharma") are abbreviations too.
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


class _Quotes:
    """Counts the quotation marks of the sentence being read, as it grows.

    Counting the whole candidate sentence at every possible end took quadratic time when a
    quotation was left open on a long line.
    """

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.counted = start
        self.opened = self.closed = self.straight = 0

    def restart(self, start: int) -> None:
        """A new sentence starts at `start` (where counting has reached)."""
        self.counted = start
        self.opened = self.closed = self.straight = 0

    def open_at(self, end: int) -> bool:
        """True when a quotation opened in the sentence is still open at `end`."""
        self.opened += self.text.count("“", self.counted, end)
        self.closed += self.text.count("”", self.counted, end)
        self.straight += self.text.count('"', self.counted, end)
        self.counted = end
        return self.opened > self.closed or self.straight % 2 == 1


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Split text into sentences with spans relative to `offset`."""
    out: list[Sentence] = []
    for line in _LINE.finditer(text):
        start = line.start()
        body = line.group(0)
        cut = 0
        quotes = _Quotes(body, 0)
        for m in _END.finditer(body):
            if body[m.start()] == "." and _is_abbreviation(body, m.start()):
                continue
            if quotes.open_at(m.end()):
                continue
            _append(out, text, start + cut, start + m.end(), offset)
            cut = m.end()
            quotes.restart(cut)
        _append(out, text, start + cut, line.end(), offset)
    return out


def _append(out: list[Sentence], text: str, start: int, end: int, offset: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(text[start:end], start + offset, end + offset))
