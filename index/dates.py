"""Calendar dates, one rule each: read a user's date, read a stored one, show one, filter on one."""

from __future__ import annotations

from datetime import date

_MONTH_NAMES = (
    ("jan", "january"),
    ("feb", "february"),
    ("mar", "march"),
    ("apr", "april"),
    ("may",),
    ("jun", "june"),
    ("jul", "july"),
    ("aug", "august"),
    ("sep", "sept", "september"),
    ("oct", "october"),
    ("nov", "november"),
    ("dec", "december"),
)
MONTHS = {name: i + 1 for i, names in enumerate(_MONTH_NAMES) for name in names}


# The days a filter may name: room on either side for "the week before" and "the day after".
FIRST_DAY, LAST_DAY = date(1000, 1, 1), date(8999, 12, 31)


def parse_day(value: object, name: str | None = None) -> date:
    """A date a user gave (a date, or YYYY-MM-DD text); a ValueError naming `name` if not one."""
    start = f"{name} must be" if name else "expected"
    if isinstance(value, date):
        day = value
    else:
        text = value.strip() if isinstance(value, str) else value
        try:
            day = date.fromisoformat(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{start} a date like 2025-08-27, not {text!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{start} a date from {FIRST_DAY} to {LAST_DAY}, not {day}")
    return day


def parse_optional_day(value: str | None, name: str) -> date | None:
    """Like `parse_day`, where blank means no date."""
    return parse_day(value, name) if value and value.strip() else None


def read_day(value: object) -> date | None:
    """A stored ISO date (or a date) as a date; None when missing or unreadable."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def format_day(day: date | None) -> str:
    """'28 Aug 2025', or 'unknown date'."""
    return f"{day.day} {day.strftime('%b %Y')}" if day else "unknown date"


def day_int(day: date | None) -> int:
    """20250828 for range filters; 0 for an undated article."""
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def make_date(year: str, month: str, day: str) -> date | None:
    """A date from loose parts ("25" years, month names or numbers); None if impossible."""
    y = int(year) + (2000 if len(year) == 2 else 0)
    m = int(month) if month.isdigit() else MONTHS.get(month.lower().rstrip("."))
    try:
        return date(y, m, int(day)) if m else None
    except ValueError:
        return None
