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
# paragraphs, headings or captions.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """A sentence and its [start, end) span in the text it came from."""

    text: str
    start: int
    end: int


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    word = re.search(r"([A-Za-z.]+)$", text[:dot_pos])
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    # Single capital initials ("K.P. Sharma") are abbreviations too.
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _inside_quote(text: str) -> bool:
    """True when a quotation opened in `text` is still open (split after it closes)."""
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Split text into sentences with spans relative to `offset`."""
    out: list[Sentence] = []
    for line in _LINE.finditer(text):
        start = line.start()
        body = line.group(0)
        cut = 0
        for m in _END.finditer(body):
            if body[m.start()] == "." and _is_abbreviation(body, m.start()):
                continue
            if _inside_quote(body[cut : m.end()]):
                continue
            _append(out, text, start + cut, start + m.end(), offset)
            cut = m.end()
        _append(out, text, start + cut, line.end(), offset)
    return out


def _append(out: list[Sentence], text: str, start: int, end: int, offset: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(text[start:end], start + offset, end + offset))
