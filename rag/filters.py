"""Outlet and date filters: read from the question itself ("according to Dawn", "in
September"), and the one set of rules that applies them, to Chroma's `where` and to the
keyword side's columns alike.

Dates without a year, and relative ones ("last week"), are read relative to the question's
`as_of` day when it has one, else to the newest article in the corpus, because a news corpus is a
snapshot and "last week" means the week it ends on.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from index.dates import day_int, make_date
from index.keyword import Condition
from index.records import ChunkInfo
from rag.types import Filters

_MONTH_NAMES = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
# After a day and a month a year is unambiguous: "on 31 December 3000" is that day.
_DAY_YEAR = r"(?P<year>[1-8]\d{3})"
_ON_DAY = [
    re.compile(rf"\b(?:on|dated)\s+{_DAY}\s+(?:of\s+)?{_MONTH_NAMES}(?:,?\s+{_DAY_YEAR})?\b", re.I),
    re.compile(rf"\b(?:on|dated)\s+{_MONTH_NAMES}\s+{_DAY}(?:,?\s+{_DAY_YEAR})?\b", re.I),
]
_IN_MONTH = re.compile(
    rf"\b(?:in|during|from)\s+(?:early\s+|late\s+|mid-)?{_MONTH_NAMES}(?:\s+{_YEAR})?\b", re.I
)
_IN_YEAR = re.compile(rf"\b(?:in|during)\s+{_YEAR}\b(?!\s*[-–]?\s*\d)", re.I)
_RELATIVE = re.compile(
    r"\b(?:(?:in|over|during)\s+)?(?:the\s+)?(last|past)\s+(week|month|fortnight|few days)\b",
    re.I,
)
_CUES = r"(?:according to|as reported by|reported by|per|from|in|by|did|does|do|has|had)"
_GENERIC = {"the", "news", "daily", "times", "post", "india", "online", "com"}


def outlet_aliases(outlet: str) -> set[str]:
    """Ways a question may name an outlet: full name, without 'The', distinctive word."""
    names = {outlet}
    bare = re.sub(r"^the\s+", "", outlet, flags=re.I)
    names.add(bare)
    words = [w for w in re.findall(r"[A-Za-z]+", bare) if w.lower() not in _GENERIC]
    if len(words) == 1 and len(words[0]) > 3:
        names.add(words[0])
    if re.search(r"\.[a-z]{2,}$", outlet):  # a bare host such as usatoday.com
        names.add(outlet.split(".")[0])
    return {n for n in names if n}


def resolve_outlet(name: str, outlets: Iterable[str]) -> str | None:
    """The corpus outlet that `name` refers to, case-insensitively, or None."""
    wanted = re.sub(r"\s+", " ", name.strip()).lower()
    for outlet in outlets:
        if wanted in {a.lower() for a in outlet_aliases(outlet)}:
            return outlet
    return None


def find_outlet(question: str, outlets: Iterable[str]) -> tuple[str | None, str | None]:
    """(outlet, matched phrase) for an outlet named in the question."""
    pattern, owners = _outlet_pattern(tuple(outlets))
    if pattern is None:
        return None, None
    matches = list(pattern.finditer(question))
    if not matches:
        return None, None
    best = max(matches, key=lambda m: len(m.group(0)))
    return owners[best["name"].lower()], best.group(0)


@lru_cache(maxsize=8)
def _outlet_pattern(outlets: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One compiled alternation of every outlet alias (a corpus can have hundreds of outlets)."""
    owners: dict[str, str] = {}
    for outlet in outlets:
        for alias in outlet_aliases(outlet):
            owners.setdefault(alias.lower(), outlet)
    if not owners:
        return None, owners
    # One-word names ("Dawn") must be capitalised so "at dawn" is not a filter.
    names = sorted((a for o in outlets for a in outlet_aliases(o)), key=len, reverse=True)
    parts = [f"(?i:{re.escape(a)})" if " " in a else re.escape(a) for a in dict.fromkeys(names)]
    cue = rf"(?i:\b{_CUES}\s+)?(?i:\bthe\s+)?"
    return re.compile(rf"{cue}\b(?P<name>{'|'.join(parts)})(?:['’]s)?\b"), owners


def find_dates(question: str, newest: date | None) -> tuple[date | None, date | None, str | None]:
    """(since, until, matched phrase) for a date or period named in the question."""
    anchor = newest or date.today()
    for pattern in _ON_DAY:
        if m := pattern.search(question):
            year = m["year"] or str(_year_for(anchor, m["month"], int(m["day"])))
            day = make_date(year, m["month"], m["day"])
            if day:
                return day, day, m.group(0)
    if m := _IN_MONTH.search(question):
        month = make_date("2000", m["month"], "1")
        if month:
            year = int(m["year"]) if m["year"] else _year_for(anchor, m["month"], 1)
            last = calendar.monthrange(year, month.month)[1]
            return date(year, month.month, 1), date(year, month.month, last), m.group(0)
    if m := _IN_YEAR.search(question):
        return date(int(m["year"]), 1, 1), date(int(m["year"]), 12, 31), m.group(0)
    if m := _RELATIVE.search(question):
        span = {"week": 7, "fortnight": 14, "month": 30, "few days": 3}[m.group(2).lower()]
        return anchor - timedelta(days=span), anchor, m.group(0)
    return None, None, None


def _year_for(anchor: date, month: str, day: int) -> int:
    """The most recent year, up to the anchor, in which month/day falls."""
    candidate = make_date(str(anchor.year), month, str(min(day, 28)))
    return anchor.year if candidate is None or candidate <= anchor else anchor.year - 1


def parse_question(
    question: str, outlets: Iterable[str], newest: date | None
) -> tuple[Filters, str, list[str]]:
    """Filters named in the question, the question with those phrases removed, and the phrases."""
    outlet, outlet_phrase = find_outlet(question, list(outlets))
    since, until, date_phrase = find_dates(question, newest)
    phrases = [p for p in (outlet_phrase, date_phrase) if p]
    query = question
    for phrase in phrases:
        query = query.replace(phrase, " ")
    query = re.sub(r"\s+", " ", query).strip(" ,") or question
    return Filters(outlet=outlet, since=since, until=until), query, phrases


def merge(explicit: Filters, parsed: Filters) -> Filters:
    """Explicit filters win; the question fills in what they leave open."""
    return Filters(
        outlet=explicit.outlet or parsed.outlet,
        since=explicit.since or parsed.since,
        until=explicit.until or parsed.until,
        as_of=explicit.as_of or parsed.as_of,
    )


def as_of_week(filters: Filters) -> Filters | None:
    """The articles an `as_of` day prefers: the seven days before it, through the day after,
    within the other filters.

    The day after counts because outlets date in their own time zones: a quiz dated Friday in
    New York reads articles dated Saturday in Karachi.
    """
    if filters.as_of is None:
        return None
    since, until = filters.as_of - timedelta(days=7), filters.as_of + timedelta(days=1)
    return Filters(
        outlet=filters.outlet,
        since=max(since, filters.since) if filters.since else since,
        until=min(until, filters.until) if filters.until else until,
    )


def conditions(filters: Filters) -> list[Condition]:
    """The filters as (field, operator, value) conditions that must all hold.

    An "until" bound also requires a date: an undated article (date_int 0) is not known to be
    before anything, so it must not pass.
    """
    out: list[Condition] = []
    if filters.outlet:
        out.append(("outlet", "$eq", filters.outlet))
    if filters.since:
        out.append(("date_int", "$gte", day_int(filters.since)))
    if filters.until:
        out += [("date_int", "$lte", day_int(filters.until)), ("date_int", "$gt", 0)]
    return out


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """The Chroma `where` clause for the filters (None when nothing is restricted)."""
    clauses = [{name: {op: value}} for name, op, value in conditions(filters)]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def columns(infos: Sequence[ChunkInfo]) -> dict[str, np.ndarray]:
    """The columns the conditions test, one row per chunk, valued as Chroma stores them."""
    return {
        "outlet": np.array([i.outlet or "" for i in infos], dtype=object),
        "date_int": np.array([day_int(i.date) for i in infos], dtype=np.int64),
    }
