"""The corpus panel: counts, a timeline of articles by date and outlet (inline SVG), and example
questions drawn from article titles. Titles and outlets are untrusted and escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from index.dates import format_day
from rag.types import CorpusDocument, CorpusSummary
from ui.render import esc

EMPTY_INDEX = (
    "The index is empty, so there is nothing to answer from yet. Run “newsdesk ingest” "
    "(with a folder of articles, or alone for the shipped corpus), then reload this page."
)
_PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#be185d"]
_OTHER = "#9ca3af"
_W, _H, _PAD, _AXIS = 320, 110, 6, 16


def summary_html(summary: CorpusSummary) -> str:
    """Articles, outlets and date span, with the timeline chart."""
    if not summary.articles:
        return (
            '<div class="nd-corpus"><h3>Corpus</h3><p class="nd-muted">No articles yet.</p></div>'
        )
    span = _span(summary.first_date, summary.last_date)
    head = f"{summary.articles} articles · {len(summary.outlets)} outlets" + (
        f" · {span}" if span else ""
    )
    return (
        f'<div class="nd-corpus"><h3>Corpus</h3><p class="nd-corpus-line">{esc(head)}</p>'
        f"{timeline_svg(summary.documents)}</div>"
    )


def _span(first: date | None, last: date | None) -> str:
    if first is None or last is None:
        return ""
    return format_day(first) if first == last else f"{format_day(first)} – {format_day(last)}"


def _bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _unit(first: date, last: date) -> str:
    days = (last - first).days
    return "day" if days <= 90 else "week" if days <= 730 else "month"


def _colours(documents: Sequence[CorpusDocument]) -> dict[str, str]:
    ranked = Counter(d.outlet or "unknown outlet" for d in documents).most_common()
    return {
        name: _PALETTE[i] if i < len(_PALETTE) else _OTHER for i, (name, _) in enumerate(ranked)
    }


def timeline_svg(documents: Sequence[CorpusDocument]) -> str:
    """Stacked bars of articles per day (or week/month on long spans), coloured by outlet."""
    dated = [(d, d.date) for d in documents if d.date is not None]
    undated = len(documents) - len(dated)
    if not dated:
        return f'<p class="nd-muted">No dated articles to chart ({undated} undated).</p>'
    first, last = min(day for _, day in dated), max(day for _, day in dated)
    unit = _unit(first, last)
    start, end = _bucket(first, unit), _bucket(last, unit)
    counts = Counter((_bucket(day, unit), d.outlet or "unknown outlet") for d, day in dated)
    colours = _colours([d for d, _ in dated])
    bars = _bars(counts, colours, start, end, unit)
    axis = (
        f'<text x="{_PAD}" y="{_H - 3}" class="nd-axis">{esc(format_day(first))}</text>'
        f'<text x="{_W - _PAD}" y="{_H - 3}" text-anchor="end" class="nd-axis">'
        f"{esc(format_day(last))}</text>"
    )
    svg = (
        f'<svg class="nd-timeline" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="Articles by {unit} and outlet">{bars}{axis}</svg>'
    )
    note = (
        f'<p class="nd-muted">{undated} article(s) without a date are not shown.</p>'
        if undated
        else ""
    )
    return svg + _legend(colours) + note


def _bars(
    counts: Counter[tuple[date, str]], colours: dict[str, str], start: date, end: date, unit: str
) -> str:
    total_days = max((end - start).days, 1)
    per_bucket = Counter[date]()
    for (bucket, _), n in counts.items():
        per_bucket[bucket] += n
    tallest = max(per_bucket.values())
    width = max(3.0, min(24.0, (_W - 2 * _PAD) / (len(per_bucket) * 1.6)))
    plot_h = _H - _AXIS - _PAD
    rects: list[str] = []
    stacked: dict[date, float] = {}
    for (bucket, outlet), n in sorted(counts.items()):
        x = _PAD + ((bucket - start).days / total_days) * (_W - 2 * _PAD - width)
        h = plot_h * n / tallest
        y = _PAD + plot_h - stacked.get(bucket, 0.0) - h
        stacked[bucket] = stacked.get(bucket, 0.0) + h
        tip = f"{outlet}, {unit} of {format_day(bucket)}: {n} article(s)"
        rects.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{colours[outlet]}"><title>{esc(tip)}</title></rect>'
        )
    base = _PAD + plot_h
    return f'<line x1="0" y1="{base}" x2="{_W}" y2="{base}" class="nd-base"/>' + "".join(rects)


def _legend(colours: dict[str, str]) -> str:
    shown = [(name, c) for name, c in colours.items() if c != _OTHER]
    items = "".join(
        f'<span class="nd-key"><i style="background:{c}"></i>{esc(name)}</span>'
        for name, c in shown
    )
    if len(shown) < len(colours):
        items += f'<span class="nd-key"><i style="background:{_OTHER}"></i>other outlets</span>'
    return f'<div class="nd-legend">{items}</div>'
