"""Visible article text and metadata from an HTML page, in one streaming pass.

The text and fields are the ones BeautifulSoup's "html.parser" tree gave: the first <article>,
else the first <main>, else the first <body>; page furniture tags (nav, script, footer...)
dropped with everything inside them; block tags on lines of their own. No tree is built: the
standard library's tokenizer feeds a stack of open tag names, so the work is linear in the
page's size however deep its nesting (a tree costs quadratic time on deeply nested <div>s). The
tokenizer's own quadratic case,
markup left unfinished ("<a<a<a..."), has a budget (`_Tokenizer`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from html.entities import html5
from html.parser import HTMLParser
from typing import Any

from index.html_meta import PageMeta

_DROP_TAGS = frozenset(
    """
    script style noscript nav header footer aside form iframe svg button figure
    """.split()
)
_BLOCK_TAGS = frozenset(
    """
    p div h1 h2 h3 h4 h5 h6 li br tr section article blockquote pre dd dt
    """.split()
)
_ROOTS = ("article", "main", "body")  # the article's element, in order of preference
# Tags that never have content: they close as soon as they open (as BeautifulSoup's are).
_VOID = frozenset(
    """
    area base basefont bgsound br col command embed frame hr image img input isindex keygen
    link menuitem meta nextid param source spacer track wbr
    """.split()
)
_PRESERVE = frozenset({"pre", "textarea"})  # whitespace-only strings inside stay as they are
# Strings inside these are not page text (code, styles, templates, ruby annotations).
_CONTAINERS = frozenset({"rt", "rp", "style", "script", "template"})
_ASCII_SPACES = " \n\t\f\r"
# Named references without their semicolon, the first spelling winning, as BeautifulSoup has them
# (reversed, so that the first of a name's spellings is the one the dict keeps).
_ENTITIES = dict(reversed([(name.removesuffix(";"), char) for name, char in sorted(html5.items())]))
_SPACES = re.compile(r"[ \t\r\f\v]+")
_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
# Scanning that unfinished markup may cost: 32 times the page's length, plus 1M characters.
_WASTE_PER_CHAR, _WASTE_FLOOR = 32, 1_000_000
_TEXT, _CDATA, _OTHER = "text", "cdata", "other"  # kinds of string: only the first two are text


def html_to_text(html: str) -> tuple[str, dict[str, Any]]:
    """Visible article text (one block a line) and metadata from meta tags, in linear time."""
    page = _Page(budget=_WASTE_PER_CHAR * len(html) + _WASTE_FLOOR)
    page.feed(html)
    page.close()
    page.finish()
    root = next((r for r in page.roots if r.found), None)
    if root is None:
        return "", page.meta.fields()
    text = "".join(root.parts)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line), page.meta.fields()


class _Root:
    """Text of one candidate root element, collected while the page streams past."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False
        self.depth: int | None = None  # stack index of the root while it is open
        self.drop: int | None = None  # stack index of the outermost dropped tag open inside it
        self.parts: list[str] = []

    def push(self, name: str, depth: int) -> None:
        """A tag opened at stack index `depth`."""
        if not self.found:
            if name == self.name:
                self.found, self.depth = True, depth
            return
        if self.depth is None or self.drop is not None:
            return
        if name in _DROP_TAGS:
            self.drop = depth
        elif name in _BLOCK_TAGS:
            self.parts.append("\n")

    def pop(self, name: str, depth: int) -> None:
        """The tag at stack index `depth` closed."""
        if self.depth is None:
            return
        if depth == self.depth:
            self.depth = None
        elif depth == self.drop:
            self.drop = None
        elif self.drop is None and name in _BLOCK_TAGS:
            self.parts.append("\n")

    def add(self, data: str) -> None:
        """A text string inside the currently open tags."""
        if self.depth is not None and self.drop is None:
            self.parts.append(data)


class _Tokenizer(HTMLParser):
    """The standard library's tokenizer with a bound on the work spent on broken markup.

    A construct with no end in the rest of the page ("<!--" with no "-->", "<a" with no ">")
    makes the tokenizer scan to the end of the page, read the construct as text, and try
    again at the next "<": a page of them took quadratic time. Those scans are counted, and
    past a budget of a few times the page's length every later construct is read as text
    the way the tokenizer's own recovery reads an unfinished one, without the scan.
    """

    def __init__(self, budget: int) -> None:
        # Character references are decoded by the subclass, the way BeautifulSoup decoded them.
        super().__init__(convert_charrefs=False)
        self.budget = budget
        self.last_gt = (self.rawdata, -1)  # the last ">" of the text being tokenized

    def parse_starttag(self, i: int) -> int:
        """An opening tag at i, if it can be read."""
        return self._attempt(super().parse_starttag, i)

    def parse_endtag(self, i: int) -> int:
        """A closing tag at i."""
        return self._attempt(super().parse_endtag, i)

    def parse_comment(self, i: int, report: bool = True) -> int:
        """A comment at i."""
        return self._attempt(lambda at: super(_Tokenizer, self).parse_comment(at, report), i)

    def parse_pi(self, i: int) -> int:
        """A processing instruction at i."""
        return self._attempt(super().parse_pi, i)

    def parse_html_declaration(self, i: int) -> int:
        """A doctype, CDATA section or bogus comment at i."""
        return self._attempt(super().parse_html_declaration, i)

    def _attempt(self, parse: Callable[[int], int], i: int) -> int:
        if self.budget < 0:
            return self._as_text(i)
        try:
            end = parse(i)
        except AssertionError:  # markup the tokenizer rejects ("<![x"): its text is kept
            return self._as_text(i)
        if end < 0:
            # It scanned the rest; at the end of input it is scanned again, then searched for ">".
            self.budget -= 3 * (len(self.rawdata) - i)
        return end

    def _as_text(self, i: int) -> int:
        """Read the construct at i as text, as the tokenizer does with an unfinished one."""
        rawdata = self.rawdata
        if self.last_gt[0] is not rawdata:
            self.last_gt = (rawdata, rawdata.rfind(">"))
        end = rawdata.find(">", i + 1) + 1 if self.last_gt[1] > i else 0
        if end <= 0:
            end = rawdata.find("<", i + 1)
            end = i + 1 if end < 0 else end
        self.handle_data(rawdata[i:end])
        return end


class _Page(_Tokenizer):
    """Tokenizer events to a stack of open tag names, the candidate roots and the metadata.

    Tags nest as in BeautifulSoup's html.parser tree: an end tag closes the most recent open tag
    of its name and everything opened after it, and is ignored when none is open.
    """

    def __init__(self, budget: int) -> None:
        super().__init__(budget)
        self.stack: list[str] = []
        self.open_names: Counter[str] = Counter()
        self.closed_void: Counter[str] = Counter()  # void tags whose end tag may still come
        self.pending: list[str] = []
        self.preserving = 0
        self.containers = 0
        self.roots = [_Root(name) for name in _ROOTS]
        self.meta = PageMeta()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """An opening tag; a void tag closes at once and its end tag, if any, is ignored."""
        self._open(tag, attrs)
        if tag in _VOID:
            self._close(tag)
            self.closed_void[tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """A self-closing tag (<br/>, <div/>)."""
        self._open(tag, attrs)
        self._close(tag)

    def handle_endtag(self, tag: str) -> None:
        """A closing tag; one that ends a void tag already closed is ignored."""
        if self.closed_void[tag]:
            self.closed_void[tag] -= 1
        else:
            self._close(tag)

    def handle_data(self, data: str) -> None:
        """Text between tags."""
        self.pending.append(data)

    def handle_charref(self, name: str) -> None:
        """A numeric character reference such as &#8217; or &#x2019;."""
        self.pending.append(_charref(name))

    def handle_entityref(self, name: str) -> None:
        """A named reference; an unknown name stays as written."""
        self.pending.append(_ENTITIES.get(name, "&" + name))

    def handle_comment(self, data: str) -> None:
        """A comment: a string of its own that is not page text."""
        self._string(data, _OTHER)

    def handle_decl(self, decl: str) -> None:
        """A doctype."""
        self._string(decl[len("DOCTYPE ") :], _OTHER)

    def unknown_decl(self, data: str) -> None:
        """A CDATA section (page text) or another declaration."""
        if data.upper().startswith("CDATA["):
            self._string(data[len("CDATA[") :], _CDATA)
        else:
            self._string(data, _OTHER)

    def handle_pi(self, data: str) -> None:
        """A processing instruction."""
        self._string(data, _OTHER)

    def finish(self) -> None:
        """After `close`: the last string, and every tag still open closes."""
        self._flush()
        while self.stack:
            self._pop()

    def _string(self, data: str, kind: str) -> None:
        self._flush()
        self.pending.append(data)
        self._flush(kind)

    def _open(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        depth = len(self.stack)
        # A repeated attribute keeps its last value; a bare one is "".
        self.meta.push(name, {k: v or "" for k, v in attrs}, depth)
        self.stack.append(name)
        self.open_names[name] += 1
        self.preserving += name in _PRESERVE
        self.containers += name in _CONTAINERS
        for root in self.roots:
            root.push(name, depth)

    def _close(self, name: str) -> None:
        self._flush()
        if self.open_names[name]:
            while self._pop() != name:
                pass

    def _pop(self) -> str:
        name = self.stack.pop()
        depth = len(self.stack)
        self.open_names[name] -= 1
        self.preserving -= name in _PRESERVE
        self.containers -= name in _CONTAINERS
        self.meta.pop(depth)
        for root in self.roots:
            root.pop(name, depth)
        return name

    def _flush(self, kind: str = _TEXT) -> None:
        """End the string being read: consecutive data, references included, is one string."""
        if not self.pending:
            return
        data = "".join(self.pending)
        self.pending = []
        if not self.preserving and not data.strip(_ASCII_SPACES):
            data = "\n" if "\n" in data else " "
        is_text = kind == _CDATA or (kind == _TEXT and not self.containers)
        self.meta.add(data, is_text, len(self.stack) - 1)
        if is_text:
            for root in self.roots:
                root.add(data)


def _charref(name: str) -> str:
    """The character a numeric reference names, by the HTML standard's rules."""
    hexadecimal = name.startswith(("x", "X"))
    digits = name[1:] if hexadecimal else name
    # html.parser reports only digits; anything after them stays text, as BeautifulSoup kept it.
    found = (_HEX_DIGITS if hexadecimal else _DIGITS).match(digits)
    if found is None:
        return digits
    return _code_point(found.group(0), 16 if hexadecimal else 10) + digits[found.end() :]


def _code_point(digits: str, base: int) -> str:
    significant = digits.lstrip("0")
    # Past 8 digits a number is beyond Unicode anyway, and int() of a long one is slow or refused.
    number = int(significant or "0", base) if len(significant) <= 8 else 0x110000
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return "\ufffd"
    if 0x80 <= number <= 0x9F:
        try:
            # Windows-1252 bytes written as references (&#147; for “), as the standard says.
            return bytes([number]).decode("cp1252")
        except UnicodeDecodeError:
            pass
    return chr(number)
