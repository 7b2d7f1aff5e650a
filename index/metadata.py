"""Article metadata (outlet, date, title, URL, byline, agency) from text, HTML and manifests.

Evidence is ranked: structured fields (JSON keys, HTML meta tags) first, then explicit
"Published ..." lines, then mastheads and page furniture, then the URL's host. Anything that
cannot be known stays unknown (None); nothing is guessed from the story itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any
from urllib.parse import urlparse

from index.dates import make_date

_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"

# Explicit publication lines, strongest first. Each yields a date; some also an outlet.
_PUBLISHED = [
    re.compile(rf"Published in (?P<outlet>[A-Z][\w&' ]{{1,40}}?), {_MONTH} {_DAY},? {_YEAR}"),
    re.compile(rf"Published [Oo]n:?\s+{_DAY} {_MONTH},? {_YEAR}"),
    re.compile(r"Published:?\s+(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{2}(?:\d{2})?)\b"),
    re.compile(rf"(?:First )?Published(?: on)?\s*:?\s+{_MONTH} {_DAY},? {_YEAR}"),
    re.compile(rf"Last Updated\s*:\s*{_MONTH} {_DAY},? {_YEAR}"),
    re.compile(r"^\s*date (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b", re.M),
]
# Masthead dates near the top of a page: "Friday, 12 September 2025", "Wednesday, August 27, 2025".
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_MASTHEAD_DATES = [
    re.compile(rf"{_WEEKDAY},? {_DAY} {_MONTH},? {_YEAR}"),
    re.compile(rf"{_WEEKDAY},? {_MONTH} {_DAY},? {_YEAR}"),
]
# Page furniture that names its site without saying so.
_FINGERPRINTS = [
    (
        re.compile(r"Business Standard Private Ltd|^Business Standard\s*$", re.M),
        "Business Standard",
    ),
    (re.compile(r"MY KOLKATA EDUGRAPH|regular-article-logo"), "The Telegraph India"),
    (re.compile(r"^Recommended Stories\s*\n\s*list of \d+ items", re.M), "Al Jazeera"),
]
_HOSTS = {
    "dawn.com": "Dawn",
    "aljazeera.com": "Al Jazeera",
    "business-standard.com": "Business Standard",
    "telegraphindia.com": "The Telegraph India",
    "telegraph.co.uk": "The Telegraph",
    "cnn.com": "CNN",
    "edition.cnn.com": "CNN",
    "usatoday.com": "USA Today",
    "theweek.co.uk": "The Week",
    "theweek.com": "The Week",
    "nytimes.com": "The New York Times",
    "washingtonpost.com": "The Washington Post",
    "bbc.com": "BBC",
    "bbc.co.uk": "BBC",
    "reuters.com": "Reuters",
    "apnews.com": "AP",
    "theguardian.com": "The Guardian",
    "npr.org": "NPR",
    "foxnews.com": "Fox News",
    "nbcnews.com": "NBC News",
    "cbsnews.com": "CBS News",
    "abcnews.go.com": "ABC News",
    "delawareonline.com": "Delaware Online",
    "politico.com": "Politico",
    "bloomberg.com": "Bloomberg",
    "wsj.com": "The Wall Street Journal",
    "axios.com": "Axios",
    "forbes.com": "Forbes",
    "cnbc.com": "CNBC",
    "latimes.com": "Los Angeles Times",
    "nypost.com": "New York Post",
    "independent.co.uk": "The Independent",
    "time.com": "Time",
    "espn.com": "ESPN",
    "people.com": "People",
    "variety.com": "Variety",
    "yahoo.com": "Yahoo",
}
_AGENCIES = r"Reuters|AFP|AP|Associated Press|PTI|ANI|IANS|Bloomberg|dpa|Xinhua"
_AGENCY_LINE = re.compile(rf"^\s*(?P<agency>{_AGENCIES})\b(?P<rest>[^\n]*)$", re.M)
_DATELINE = re.compile(r"^\s*(?P<place>[A-Z][A-Z .'-]{2,30})(?::| \(\w+\)\s*[-–—]) ", re.M)
_BYLINE = re.compile(r"^\s*By (?P<name>[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){1,3})\s*$", re.M)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ArticleMeta:
    """What we know about an article; None means unknown."""

    outlet: str | None = None
    date: date | None = None
    title: str | None = None
    url: str | None = None
    byline: str | None = None
    agency: str | None = None
    dateline: str | None = None

    def merged(self, stronger: ArticleMeta) -> ArticleMeta:
        """These values, overridden by every known value of `stronger`."""
        known = {f.name: getattr(stronger, f.name) for f in fields(self)}
        return replace(self, **{k: v for k, v in known.items() if v is not None})


def parse_date(value: Any) -> date | None:
    """Parse a structured date value ("2025/08/27", ISO timestamps, epoch-free strings)."""
    if not value or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if m:
        return make_date(*m.groups())
    for pattern in (
        *_MASTHEAD_DATES,
        re.compile(rf"{_DAY} {_MONTH},? {_YEAR}"),
        re.compile(rf"{_MONTH} {_DAY},? {_YEAR}"),
    ):
        found = pattern.search(text)
        if found:
            return make_date(found["year"], found["month"], found["day"])
    return None


def outlet_from_url(url: str | None) -> str | None:
    """The outlet named by a URL's host: a known name, else the bare host."""
    if not url:
        return None
    try:
        host = (urlparse(url if "//" in url else f"//{url}").hostname or "").lower()
    except ValueError:  # "http://[broken" is no URL, and no reason to lose the article
        return None
    host = re.sub(r"^(www|m|amp|edition|eu|uk|us|news)\.", "", host)
    if not host or "." not in host:
        return None
    return _HOSTS.get(host) or next((v for k, v in _HOSTS.items() if host.endswith("." + k)), host)


def from_text(raw: str) -> ArticleMeta:
    """Metadata stated in the scraped text itself."""
    head = "\n".join(raw.splitlines()[:25])
    return ArticleMeta(
        outlet=_outlet_from_text(raw),
        date=_date_from_text(raw, head),
        agency=_agency(head),
        dateline=_dateline(head),
        byline=(m["name"] if (m := _BYLINE.search(head)) else None),
    )


def _outlet_from_text(raw: str) -> str | None:
    if m := _PUBLISHED[0].search(raw):  # "Published in Dawn, ..." names the outlet too
        return m["outlet"].strip()
    return next((name for pattern, name in _FINGERPRINTS if pattern.search(raw)), None)


def _date_from_text(raw: str, head: str) -> date | None:
    for pattern in _PUBLISHED:
        for m in pattern.finditer(raw):
            if found := make_date(m["year"], m["month"], m["day"]):
                return found
    for masthead in _MASTHEAD_DATES:
        if hit := masthead.search(head):
            return make_date(hit["year"], hit["month"], hit["day"])
    return None


def _agency(head: str) -> str | None:
    for m in _AGENCY_LINE.finditer(head):
        rest = m["rest"].strip()
        # A byline line is the agency alone, or followed by a dateline or "Published ...".
        if not rest or re.match(r"^([A-Z]{3,}\b|Published\b)", rest):
            return "AP" if m["agency"] == "Associated Press" else m["agency"]
    return None


def _dateline(head: str) -> str | None:
    if m := re.search(
        rf"^\s*(?:{_AGENCIES}) (?P<place>[A-Z]{{3,}}(?: [A-Z]{{3,}})*)\s*$", head, re.M
    ):
        return m["place"].title()
    if m := _DATELINE.search(head):
        return m["place"].strip().title()
    return None


def from_fields(record: dict[str, Any]) -> ArticleMeta:
    """Metadata from a JSON record or HTML meta tags, mapping common field names."""

    def first(*keys: str) -> Any:
        return next((_text(record[k]) for k in keys if _text(record.get(k))), None)

    url = first("url", "link", "canonical_url")
    authors = first("authors", "author", "byline")
    return ArticleMeta(
        outlet=first("outlet", "source", "site_name", "publisher") or outlet_from_url(url),
        date=parse_date(first("date", "published", "publish_date", "published_at", "pubdate")),
        title=first("title", "headline"),
        url=url,
        byline=str(authors) if authors else None,
    )


def _text(value: Any) -> str | None:
    """A field as text: strings as they are, {"name": ...} objects by name, lists joined."""
    if isinstance(value, list):
        # One level only: a list nested in a list says nothing a byline needs, and JSON can nest
        # deeper than Python can recurse.
        value = ", ".join(t for t in (_scalar_text(v) for v in value) if t)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return without_surrogates(value).strip() or None if isinstance(value, str) else None


def without_surrogates(text: str) -> str:
    """`text` with lone surrogates (from JSON escapes like "\\ud800") replaced by U+FFFD.

    Python strings can hold them, but UTF-8 cannot, so the store, the tokenizer and the model
    would each fail on them.
    """
    return _SURROGATE.sub("\ufffd", text)


def lead_title(clean: str) -> str | None:
    """The headline: the first line if it reads like one, else the first sentence, shortened."""
    lines = [line.strip() for line in clean.splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0]
    if 3 <= len(first.split()) <= 25 and not re.search(r"[.!?][\"'”’]*$", first):
        return first
    first = re.sub(r"^[A-Z][A-Z .'-]{2,30}:\s*", "", first)  # drop a "MOSCOW:" dateline
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return sentence if len(sentence) <= 120 else sentence[:117].rsplit(" ", 1)[0] + "…"
