"""Sentence roles: which lines of a cleaned article are not body text, found once at ingest.

A scraped article keeps its page's furniture: the headline (often repeated), the standfirst
under it, section headings, photo captions, bylines, editor's notes, and a dateline opening the
lede ("MOSCOW:").
None of them is a sentence an answer should quote or a passage should open with. They are kept
in the text, which stays as cleaned, and listed as [start, end) spans with their role: an offset
map that answering reads (`rag.body`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

HEADLINE, STANDFIRST, HEADING = "headline", "standfirst", "heading"
CAPTION, BYLINE, DATELINE, NOTE = "caption", "byline", "dateline", "note"
Role = tuple[int, int, str]

# "MOSCOW: ", "KYIV, Ukraine (AP) — ", "WASHINGTON (Reuters) - ": capitals, an optional region
# and agency, then a colon or a dash, at the start of a line.
_DATELINE = re.compile(
    r"[A-Z][A-Z.'’ -]{1,28}[A-Z.](?:, [A-Z][\w.' -]{1,28})?"
    r"(?: ?\((?:AP|AFP|Reuters|IANS|PTI|ANI|UNI|dpa|Xinhua|Bloomberg)\))?"
    r"(?: ?:| ?[—–] ?| -{1,2} ?)\s*"
)
_CAPTION = re.compile(
    r"^(?:Watch|WATCH) [A-Z]|^Video Ad Feedback\b|^(?:Photo|Picture|Image|Video) of the day\b"
    r"|^(?:Video|VIDEO|Photo|PHOTO|Picture|Image|IMAGE|File photo|FILE PHOTO) ?[:|—–-]"
    r"|(?:Photo|Image|Picture)s?(?: credit)?:|\((?:AP|AFP|Reuters|Getty)[^)]*Photo[^)]*\)"
    r"|\b(?:REUTERS|AFP|Getty Images)/[A-Z]"
)
_NOTE = re.compile(r"^(?:Editor['’]s [Nn]ote|EDITOR['’]S NOTE)\b")
_BYLINE = re.compile(
    r"^(?:By|BY) [A-Z][\w.'’-]+(?: (?:[A-Z][\w.'’-]+|and|&|de|van|von))*,?(?: [A-Z][\w ]+)?$"
    r"|^\(?(?:Reporting|Writing|Editing|Additional reporting|Compiled) by\b"
)
_CLOSED = re.compile(r"[.!?;:][\"'”’)\]]*$|[\"'”’)]$")
STANDFIRST_WORDS = 30  # a summary line under the headline is short; a lede runs longer
DATELINE_LINES = 4
# Capitals and a colon that label a line rather than name a place.
_LABELS = {"WHEN", "WHAT", "WHERE", "WHO", "WHY", "HOW", "MORE", "NOTE", "UPDATE", "EDITOR", "THE"}
_ACRONYMS = {"NATO", "NASA", "OPEC", "UEFA", "FIFA", "ASEAN", "BRICS", "IMF", "WHO", "FBI"}


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str

    @property
    def words(self) -> list[str]:
        return self.text.split()


def sentence_roles(text: str, title: str) -> list[Role]:
    """Spans of `text` that are not body sentences, in order, each with its role."""
    lines = [_Line(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S(?:[^\n]*\S)?", text)]
    roles: dict[int, str] = {}
    for i, line in enumerate(lines):
        role = _line_role(line, title)
        if role:
            roles[i] = role
    roles.update(_standfirsts(lines, roles))
    found = [(lines[i].start, lines[i].end, role) for i, role in roles.items()]
    # A dateline opens the lede, so only the first lines are read for one.
    top = [line for i, line in enumerate(lines[:DATELINE_LINES]) if i not in roles]
    found += [d for line in top if (d := _dateline(line))]
    return sorted(found)


def _line_role(line: _Line, title: str) -> str | None:
    """The role a line has on its own: headline, caption, byline, heading, or none (body)."""
    if title and _same(line.text, title):
        return HEADLINE
    if _CAPTION.search(line.text) and len(line.words) <= 40:
        return CAPTION
    if _NOTE.match(line.text):
        return NOTE  # "Editor's note: this story was updated …"
    if _BYLINE.search(line.text) and len(line.words) <= 12:
        return BYLINE
    if not _CLOSED.search(line.text):
        return HEADING
    if not line.text.rstrip("\"'”’)").endswith(".") and _title_case_heading(line):
        return HEADING  # "What’s Next for Peace Efforts?"
    return None


def _standfirsts(lines: list[_Line], roles: dict[int, str]) -> dict[int, str]:
    """Summary lines at the top: the line under a headline when it is short and a longer line
    follows, and any top line the article repeats word for word further down."""
    found: dict[int, str] = {}
    later = {_norm(line.text) for line in lines[3:]}
    for i, line in enumerate(lines[:3]):
        if roles.get(i, HEADING) != HEADING:  # a summary without a full stop reads as a heading
            continue
        repeated = _norm(line.text) in later and len(line.words) >= 6
        under_headline = i > 0 and roles.get(i - 1) == HEADLINE and _short_summary(lines, i)
        if repeated or under_headline:
            found[i] = STANDFIRST
    return found


def _short_summary(lines: list[_Line], i: int) -> bool:
    line = lines[i]
    following = lines[i + 1] if i + 1 < len(lines) else None
    # A summary reads as a headline's second line ("Kremlin says …; rejects …") or stops
    # without a full stop; a short lede reports ("…, officials said.") and is kept.
    summary = ";" in line.text or " says " in line.text or not line.text.endswith(".")
    return (
        summary
        and len(line.words) <= STANDFIRST_WORDS
        and following is not None
        and len(following.words) > len(line.words)
        and _DATELINE.match(line.text) is None
    )


def _dateline(line: _Line) -> Role | None:
    """The dateline opening a line, when the rest of the line is a sentence."""
    found = _DATELINE.match(line.text)
    if not found or len(line.text) - found.end() < 20:
        return None
    lead = line.text[: found.end()].rstrip()
    first = re.split(r"[\s:,’']", lead)[0]
    # A place is a word of four letters or more ("ROME", "KYIV"); "U.S. -" or "BJP —" opens a
    # sentence with an acronym.
    if first in _LABELS or first in _ACRONYMS or len(first) < 4 or "." in first:
        return None
    return (line.start, line.start + found.end(), DATELINE)


def _title_case_heading(line: _Line) -> bool:
    """A short line of capitalised words ("What’s Next for Peace Efforts?")."""
    words = [w for w in line.words if w[0].isalpha()]
    if not 2 <= len(line.words) <= 10 or not words:
        return False
    capitals = sum(w[0].isupper() for w in words)
    return capitals >= 0.7 * len(words) and capitals >= 3


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def _same(line: str, title: str) -> bool:
    """A line that is the title, the title with a short tail (" - CNN"), or the title cut short.

    A title that ends in "…" was made from the article's first sentence when it had none: the
    line it came from is the lede, not a headline.
    """
    if title.rstrip().endswith("…"):
        return False
    a, b = _norm(line), _norm(title)
    if not a or not b:
        return False
    if a == b:
        return True
    tail = a.removeprefix(b).split() if a.startswith(b) else None
    if tail is not None and len(tail) <= 5 and not line.rstrip().endswith("."):
        return True
    return len(a.split()) >= 6 and b.startswith(a) and not line.rstrip().endswith(".")


def encode(roles: list[Role]) -> str:
    """Roles as stored with an article (compact JSON)."""
    return json.dumps(roles, separators=(",", ":"))


@lru_cache(maxsize=4096)
def _decoded(stored: str) -> tuple[Role, ...]:
    try:
        return tuple((int(s), int(e), str(r)) for s, e, r in json.loads(stored))
    except (ValueError, TypeError):
        return ()  # unreadable roles must not stop an answer: the passage reads as all body


def within(stored: str, start: int, end: int) -> list[Role]:
    """An article's stored roles that fall in its text's [start, end), relative to `start`."""
    return [
        (max(s, start) - start, min(e, end) - start, role)
        for s, e, role in _decoded(stored)
        if s < end and e > start
    ]
