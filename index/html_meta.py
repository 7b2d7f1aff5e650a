"""Metadata from an HTML page as it streams past: meta tags, JSON-LD, <h1>, <title>, <time>, link.

Fed by `index.html`'s tokenizer; each field is taken from the first source that has it, in the
order BeautifulSoup's tree gave them before.
"""

from __future__ import annotations

import json
import re
from typing import Any

_META_FIELDS = {
    "og:site_name": "site_name",
    "og:title": "title",
    "og:url": "url",
    "article:published_time": "published",
    "datepublished": "published",
    "pubdate": "published",
    "date": "published",
    "author": "author",
    "article:author": "author",
}


class _TitleString:
    """`soup.title.string`: the first <title>'s only string, reached through only children.

    That holds when everything inside the title reads: tags opening, one string, tags closing.
    """

    def __init__(self) -> None:
        self.found = False
        self.depth: int | None = None
        self.value: str | None = None
        self.broken = False
        self.result: str | None = None

    def push(self, name: str, depth: int) -> None:
        """A tag opened: the title itself, or a child that must come before its string."""
        if not self.found and name == "title":
            self.found, self.depth = True, depth
        elif self.depth is not None and self.value is not None:
            self.broken = True

    def add(self, data: str) -> None:
        """Any string (comments too) inside the open title."""
        if self.depth is None:
            return
        self.broken = self.broken or self.value is not None
        self.value = data

    def pop(self, depth: int) -> None:
        """A tag closed: the title (the result is decided) or a tag inside it."""
        if self.depth is None:
            return
        if depth == self.depth:
            self.depth = None
            self.result = None if self.broken else self.value
        elif self.value is None:
            self.broken = True  # an empty tag inside the title


class PageMeta:
    """The page's metadata as the tokenizer streams by: meta tags, JSON-LD, h1, title, time, link."""

    def __init__(self) -> None:
        self.metas: list[dict[str, str]] = []
        self.ld_strings: list[list[str]] = []  # the strings directly inside each JSON-LD script
        self.ld_depth: int | None = None
        self.h1_found = False
        self.h1_parts: list[str] = []
        self.h1_depth: int | None = None
        self.title = _TitleString()
        self.time: str | None = None
        self.link: tuple[str | None] | None = None  # the canonical link's href, once found

    def push(self, name: str, attrs: dict[str, str], depth: int) -> None:
        """A tag opened at stack index `depth` with these attributes."""
        self.title.push(name, depth)
        if name == "meta":
            self.metas.append(attrs)
        elif name == "script" and attrs.get("type") == "application/ld+json":
            self.ld_strings.append([])
            self.ld_depth = depth
        elif name == "h1" and not self.h1_found:
            self.h1_found, self.h1_depth = True, depth
        elif name == "time" and self.time is None and "datetime" in attrs:
            self.time = attrs["datetime"]
        elif name == "link" and self.link is None and _is_canonical(attrs):
            self.link = (attrs.get("href"),)

    def pop(self, depth: int) -> None:
        """The tag at stack index `depth` closed."""
        self.title.pop(depth)
        if depth == self.ld_depth:
            self.ld_depth = None
        if depth == self.h1_depth:
            self.h1_depth = None

    def add(self, data: str, is_text: bool, parent: int) -> None:
        """A string whose parent is at stack index `parent`; `is_text` when it is page text."""
        self.title.add(data)
        if parent == self.ld_depth:
            self.ld_strings[-1].append(data)
        if is_text and self.h1_depth is not None and (stripped := data.strip()):
            self.h1_parts.append(stripped)

    def fields(self) -> dict[str, Any]:
        """Structured fields, each from the first source that has it."""
        found: dict[str, Any] = {}
        for attrs in self.metas:
            key = (
                attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or ""
            ).lower()
            content = attrs.get("content")
            if key in _META_FIELDS and content and _META_FIELDS[key] not in found:
                found[_META_FIELDS[key]] = content.strip()
        for strings in self.ld_strings:
            _ld_fields(strings[0] if len(strings) == 1 else "", found)
        if "title" not in found and self.h1_found:
            found["title"] = " ".join(self.h1_parts)
        if "title" not in found and self.title.result:
            found["title"] = self.title.result.strip()
        if "published" not in found and self.time is not None:
            found["published"] = self.time
        if "url" not in found and self.link is not None:
            found["url"] = self.link[0]
        return found


def _is_canonical(attrs: dict[str, str]) -> bool:
    return "canonical" in re.findall(r"\S+", attrs.get("rel", ""))


def _ld_fields(text: str, fields: dict[str, Any]) -> None:
    """Add a JSON-LD block's date, headline and publisher to `fields` where they are missing."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return  # unreadable metadata is no reason to lose the article
    for item in _ld_objects(data):
        publisher = item.get("publisher")
        found = {
            "published": item.get("datePublished"),
            "title": item.get("headline"),
            "site_name": publisher.get("name") if isinstance(publisher, dict) else None,
        }
        for key, value in found.items():
            if value is not None and key not in fields:
                fields[key] = value


def _ld_objects(data: Any) -> list[dict[str, Any]]:
    """The objects of a JSON-LD block: it or its list's objects, or their `@graph` objects.

    Pages put anything here (numbers, null, lists of strings); only objects describe the page.
    """
    found: list[dict[str, Any]] = []
    for top in data if isinstance(data, list) else [data]:
        if not isinstance(top, dict):
            continue
        graph = top.get("@graph")
        if isinstance(graph, list):
            found.extend(item for item in graph if isinstance(item, dict))
        else:
            found.append(top)
    return found
