"""Remove page furniture from scraped articles and repair words broken by stray hyphens.

The cleaned text is what readers see in citations; `CleanText.to_raw` maps any position in
it back to the scraped text, so a passage can always be traced to its source bytes.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

# Whole lines that are page furniture, matched case-insensitively after stripping.
_FURNITURE = [
    r"advertisement",
    r"ad",
    r"sponsored( content)?",
    r"join our \w+ channel.*",
    r"follow us( on)?:?.*",
    r"share( this)?( article| story| on \w+)?:?",
    r"(tweet|email|print|copy link)",
    # The first "subscribe to our" decides (atomic): retrying at every later one, each time
    # scanning the rest of the line for "newsletter", took quadratic time on a long line.
    r"(?>.*?\b(sign up|subscribe) (for|to) (our|the) ).*newsletter.*",
    r".*\bnewsletter\b.{0,40}",
    r".*\b(we use cookies|accept (all )?cookies|cookie (policy|settings)).*",
    r"listen to (this )?article",
    r"\d+ min(ute)? read\b.*",
    r"(photo|image|picture|file photo)( credit)?\s*:.*",
    r".*notification icon.*",
    r".*icon\s*search.*",
    r"home\s*/.*",
    r"read more",
    r"quote left quote right",
    r"first published\s*:.*",
    r"last updated\s*:.*",
    r"published on\s+\d.*",
    r"published in [\w ]+, \w+ \d.*",
    r"(reuters|afp|ap|pti|ani|ians|bloomberg)(?-i:( [A-Z]{3,}(,? [A-Z]{3,})*)?)",
    r"(reuters|afp|ap|pti|ani) published .*",
    r"regular-article-logo.*",
    r"my kolkata.*",
    r"edugraph",
    r"(copyrights?|©).*",
    r".*all rights reserved\.?",
    r"linkedin icon",
    r"(hot stocks|top sections|key events|latest news|trending|most read)",
    r"don't miss the most important news.*",
    r".*get them on our telegram channel\.?",
    r"list of \d+ items",
    r"end of list",
    r"date \d{4}-\d{2}-\d{2}.*",
    r"business standard",
    r"click here.*",
    r"download the app.*",
    r"skip to (main )?content",
    r"(menu|search|log ?in|sign in)",
]
_FURNITURE_RE = re.compile(r"^(?:" + "|".join(_FURNITURE) + r")$", re.IGNORECASE)

# Lines after which nothing belongs to the article any more (sidebars, comment forms).
_END_RE = re.compile(
    r"^(related topics|more from this section|leave a reply|topics\s*:.*|explore news|"
    r"comments|you may also like|more stories|related articles)$",
    re.IGNORECASE,
)
# Lines that open a list of other stories; the article resumes at the next line of prose.
_DETOUR_RE = re.compile(
    r"^(also read|recommended stories|read also|related stories|related|see also)$", re.IGNORECASE
)
_CREDITS = ("Reuters", "AFP", "AP", "Getty Images", "Bloomberg", "PTI", "File")
_BULLET = re.compile(r"^[•·▪●◦*\-–]\s+")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\ufeff]")
# A token with at least one hyphen between word characters.
_HYPHENATED = re.compile(r"[A-Za-z0-9][\w’'.]*(?:-+[\w’']+(?:\.[A-Za-z]+)*)+", re.UNICODE)
# Everything up to the last character before `endpos` that cannot be in a token's first part.
_LAST_BREAK = re.compile(r".*[^\w’'.]", re.DOTALL)
_ALNUM = re.compile(r"[A-Za-z0-9]")
# A hyphen right after a character of a token's first part: only such a hyphen can be the
# first of a match (runs of hyphens and "- - -" have none, so they cost one search).
_WORD_HYPHEN = re.compile(r"(?<=[\w’'.])-")


@dataclass
class CleanText:
    """Cleaned text plus the segments that map it back to the raw text."""

    text: str
    # (clean_start, raw_start, length) for every run copied verbatim from the raw text.
    segments: list[tuple[int, int, int]] = field(default_factory=list)

    def to_raw(self, pos: int) -> int:
        """Position in the raw text of the character at `pos` in the cleaned text."""
        if not self.segments:
            return pos
        i = max(bisect.bisect_right(self.segments, pos, key=lambda s: s[0]) - 1, 0)
        clean_start, raw_start, length = self.segments[i]
        return raw_start + min(max(pos - clean_start, 0), length)


class _Builder:
    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.parts: list[str] = []
        self.size = 0
        self.segments: list[tuple[int, int, int]] = []

    def copy(self, start: int, end: int) -> None:
        if end <= start:
            return
        last = self.segments[-1] if self.segments else None
        if last and last[0] + last[2] == self.size and last[1] + last[2] == start:
            self.segments[-1] = (last[0], last[1], last[2] + end - start)
        else:
            self.segments.append((self.size, start, end - start))
        self.parts.append(self.raw[start:end])
        self.size += end - start

    def insert(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def build(self) -> CleanText:
        return CleanText("".join(self.parts), self.segments)


def clean_text(raw: str) -> CleanText:
    """Drop furniture lines and repair broken words, keeping an offset map to `raw`."""
    builder = _Builder(raw)
    for n, (start, end) in enumerate(_article_lines(raw)):
        if n:
            builder.insert("\n")
        _copy_repaired(builder, raw, start, end)
    return builder.build()


def _is_prose(line: str) -> bool:
    return len(line.split()) >= 8 and bool(re.search(r"[.!?][\"'”’)]*$", line))


def _line_spans(raw: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"[^\n]*", raw):
        start, end = m.start(), m.end()
        text = m.group(0)
        lead = len(text) - len(text.lstrip())
        bullet = _BULLET.match(text[lead:])
        start += lead + (bullet.end() if bullet else 0)
        while end > start and raw[end - 1].isspace():
            end -= 1
        if end > start and _INVISIBLE.sub("", raw[start:end]).strip() != "":
            spans.append((start, end))
    return spans


def _article_lines(raw: str) -> list[tuple[int, int]]:
    """Spans of the lines that belong to the article, in order."""
    kept: list[tuple[int, int]] = []
    in_detour = False
    spans = _line_spans(raw)
    captions = _caption_lines(raw, spans)
    for start, end in spans:
        line = raw[start:end].strip()
        if _END_RE.match(line):
            break
        if _DETOUR_RE.match(line):
            in_detour = True
            continue
        if in_detour and not _is_prose(line):
            continue
        in_detour = False
        if _FURNITURE_RE.match(line) or (start, end) in captions:
            continue
        if kept and raw[kept[-1][0] : kept[-1][1]] == line:
            continue
        kept.append((start, end))
    return kept


def _caption_lines(raw: str, spans: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Photo captions: a short line followed by the same words plus a picture credit."""
    found: set[tuple[int, int]] = set()
    for a, b in itertools.pairwise(spans):
        first, second = raw[a[0] : a[1]], raw[b[0] : b[1]]
        if len(first.split()) <= 8 and any(second == f"{first} {c}" for c in _CREDITS):
            found.update((a, b))
    return found


def _copy_repaired(builder: _Builder, raw: str, start: int, end: int) -> None:
    """Copy raw[start:end], joining words broken by stray hyphens and dropping invisibles."""
    pos = start
    for m in _hyphenated(raw, start, end):
        _copy_visible(builder, raw, pos, m.start())
        if is_broken_word(m.group(0)):
            for piece in re.finditer(r"[^-]+", m.group(0)):
                _copy_visible(builder, raw, m.start() + piece.start(), m.start() + piece.end())
        else:
            _copy_visible(builder, raw, m.start(), m.end())
        pos = m.end()
    _copy_visible(builder, raw, pos, end)


def _hyphenated(raw: str, start: int, end: int) -> Iterator[re.Match[str]]:
    r"""The matches `_HYPHENATED.finditer(raw, start, end)` gives, in linear time.

    finditer tries every position of a long word without hyphens and scans to the word's end
    each time (quadratic). A match's first part runs from a letter or digit to its first
    hyphen through characters of `[\w’'.]`, so for each hyphen only the first letter or digit
    of the run ending at it can start a match: if that fails, every later start fails too.
    """
    pos = start
    while found := _WORD_HYPHEN.search(raw, pos, end):
        hyphen = found.start()
        run = _LAST_BREAK.match(raw, pos, hyphen)
        first = _ALNUM.search(raw, run.end() if run else pos, hyphen)
        m = _HYPHENATED.match(raw, first.start(), end) if first else None
        if m:
            yield m
            pos = m.end()
        else:
            pos = hyphen + 1


def _copy_visible(builder: _Builder, raw: str, start: int, end: int) -> None:
    pos = start
    for m in _INVISIBLE.finditer(raw, start, end):
        builder.copy(pos, m.start())
        pos = m.end()
    builder.copy(pos, end)


@lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def _is_word(piece: str) -> bool:
    # A possessive 's, or else trailing dots and apostrophes, come off (string methods: a
    # regex for them retried at every dot of a long run of dots).
    core = piece[:-2] if piece.endswith(("’s", "'s")) else piece.rstrip(".’'")
    if not core or any(ch.isdigit() for ch in core) or core[0].isupper():
        return True
    return len(core) > 1 and _zipf(core.lower()) >= 2.5


def is_broken_word(token: str) -> bool:
    """True when the hyphens in `token` are scraping damage rather than a real compound.

    Runs of hyphens are always damage. A single hyphen is damage when a lower-case piece is
    not an English word ("Wed-nesday", "Zaporiz-hzhia") or when the joined form is a common
    word ("reg-ions"); real compounds ("face-to-face", "Putin-Zelensky") join into nothing.
    """
    if "--" in token:
        return True
    pieces = token.split("-")
    if not all(_is_word(p) for p in pieces):
        return True
    joined = re.sub(r"[’']s$", "", "".join(pieces)).lower()
    return joined.isalpha() and _zipf(joined) >= 3.5
