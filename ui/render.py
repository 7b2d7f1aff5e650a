"""HTML for answers, citations and sources.

Everything that comes from the corpus (passages, titles, outlets, URLs) or from the user is
untrusted: it is escaped with `html.escape` before it reaches HTML, only http(s) URLs become
links, and nothing here emits script or event-handler attributes. Citation chips open with
plain <details>/<summary>, so no JavaScript is built from corpus text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from index.dates import format_day
from index.roles import HEADLINE
from index.sentences import split_sentences
from rag.citations import MARKER, label
from rag.types import Answer, AppliedFilters, Citation, Filters, Source

CHIP_SEPARATOR = " · "
Roles = Sequence[tuple[int, int, str]]  # a passage's non-body spans (`Passage.roles`)
RolesByChunk = Mapping[str, Roles]


def esc(value: object) -> str:
    """HTML-escape any value, quotes included (safe in text and attribute positions)."""
    return html.escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or control characters."""
    if not url:
        return None
    candidate = url.strip()
    # Browsers drop tabs and newlines inside schemes ("java\tscript:"), so refuse any.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def link(url: str | None, text: str) -> str:
    """An external link when the URL is safe, else the text (and any unsafe URL) as plain text."""
    good = safe_url(url)
    if good:
        return (
            f'<a href="{esc(good)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{esc(text)}</a>"
        )
    extra = f' <span class="nd-url">({esc(url)})</span>' if url else ""
    return f"{esc(text)}{extra}"


def chip_text(source: Source) -> str:
    """'Dawn · 28 Aug 2025' for a chip."""
    return label(source, CHIP_SEPARATOR)


def _quote_span(c: Citation) -> tuple[int, int] | None:
    span = c.quote_span
    if span is not None and 0 <= span[0] < span[1] <= len(c.passage):
        return span
    where = c.passage.find(c.quote) if c.quote else -1
    return (where, where + len(c.quote)) if where >= 0 else None


def _spans(c: Citation, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where the given answer sentences sit in the passage, else the citation's own quote."""
    found = []
    for sentence in sentences:
        where = c.passage.find(sentence) if sentence else -1
        if where >= 0:
            found.append((where, where + len(sentence)))
    if not found and (span := _quote_span(c)):
        found.append(span)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted_passage(
    c: Citation, sentences: Sequence[str] = (), window: tuple[int, int] | None = None
) -> str:
    """The cited passage (or its `window`), escaped, with the cited sentences in <mark>.

    `sentences` are the answer sentences resting on this passage; an extractive answer quotes
    them verbatim. When none is found (a paraphrase) the citation's own quote is marked.
    """
    low, high = window or (0, len(c.passage))
    text, out, pos = c.passage, [], low
    for start, end in _spans(c, sentences):
        start, end = max(start, low), min(end, high)
        if start < end:
            out.append(f"{esc(text[pos:start])}<mark>{esc(text[start:end])}</mark>")
            pos = end
    out.append(esc(text[pos:high]))
    return "".join(out)


NEIGHBOURS = 1  # sentences shown on each side of the cited ones before "Whole passage"


def body_start(c: Citation, roles: Roles = (), sentences: Sequence[str] = ()) -> int:
    """Where the passage's text begins once a headline it opens with is skipped: the card's
    title line already shows the headline, so the passage opens with what follows it.

    Nothing is skipped when a cited sentence lies in the headline or nothing would be left.
    """
    text = c.passage
    pos = len(text) - len(text.lstrip())
    for start, end, role in sorted(roles):
        if role != HEADLINE or not start <= pos < end:
            break  # only a headline at the very top: one further down is the article's own
        pos = min(end, len(text))
        pos += len(text[pos:]) - len(text[pos:].lstrip())
    marked = _spans(c, sentences)
    if pos >= len(text) or (marked and marked[0][0] < pos):
        return 0
    return pos


def excerpt_window(
    c: Citation, sentences: Sequence[str] = (), body: int = 0
) -> tuple[int, int] | None:
    """The cited sentences and one neighbour on each side, as a span of the passage from `body`
    on; None when that would be the whole of it anyway."""
    marked = _spans(c, sentences)
    spans = [(max(s.start, body), s.end) for s in split_sentences(c.passage) if s.end > body]
    if not marked or len(spans) <= 1 + 2 * NEIGHBOURS:
        return None
    first = next((i for i, (_, e) in enumerate(spans) if e > marked[0][0]), 0)
    last = next((i for i, (_, e) in enumerate(spans) if e >= marked[-1][1]), len(spans) - 1)
    low = spans[max(first - NEIGHBOURS, 0)][0]
    high = spans[min(last + NEIGHBOURS, len(spans) - 1)][1]
    return None if (low, high) == (spans[0][0], spans[-1][1]) else (low, high)


def _passage_html(c: Citation, sentences: Sequence[str], roles: Roles = ()) -> str:
    """The cited sentences with a neighbour each side, the whole passage a click away; both
    open with body text rather than the headline again."""
    body = body_start(c, roles, sentences)
    window = excerpt_window(c, sentences, body)
    whole_text = highlighted_passage(c, sentences, (body, len(c.passage)))
    whole = f'<blockquote class="nd-passage">{whole_text}</blockquote>'
    if window is None:
        return whole
    before = "… " if window[0] > body else ""
    after = " …" if window[1] < len(c.passage.rstrip()) else ""
    excerpt = highlighted_passage(c, sentences, window)
    return (
        f'<blockquote class="nd-passage nd-excerpt">{before}{excerpt}{after}</blockquote>'
        f'<details class="nd-whole"><summary>Whole passage</summary>{whole}</details>'
    )


def _also_in(sources: Iterable[Source]) -> str:
    names = [f"{esc(s.title)} ({esc(chip_text(s))})" for s in sources]
    return f'<div class="nd-also">Also carried by: {"; ".join(names)}</div>' if names else ""


def citation_card(c: Citation, sentences: Sequence[str] = (), roles: Roles = ()) -> str:
    """Title, outlet, date, link and the passage with its cited sentence highlighted; `roles`
    are the passage's non-body spans."""
    title = link(c.url, c.title or "Untitled article")
    return (
        f'<div class="nd-card" data-cite="{c.number}">'
        f'<div class="nd-card-head"><span class="nd-num">{c.number}</span> '
        f'<span class="nd-outlet">{esc(c.outlet or "unknown outlet")}</span> · '
        f'<span class="nd-date">{esc(format_day(c.date))}</span></div>'
        f'<div class="nd-title">{title}</div>'
        f"{_passage_html(c, sentences, roles)}{_also_in(c.also_in)}</div>"
    )


def chip(c: Citation, sentence: str = "", roles: Roles = ()) -> str:
    """An inline citation chip that opens to show its passage, `sentence` highlighted."""
    return (
        f'<details class="nd-cite"><summary class="nd-chip" title="{esc(c.title)}">'
        f'<span class="nd-num">{c.number}</span> {esc(chip_text(c))}</summary>'
        f"{citation_card(c, [sentence], roles)}</details>"
    )


def passage_roles(answer: Answer, kept: RolesByChunk | None = None) -> dict[str, Roles]:
    """The non-body spans of each passage the answer cites, by chunk id: from the passages
    retrieved with it, else from `kept` (an answer kept in the browser carries none)."""
    cited = {c.chunk_id: c.passage for c in answer.citations}
    found = {cid: roles for cid, roles in (kept or {}).items() if cid in cited}
    # Spans are offsets into one text: a retrieved passage's roles fit its citation's only
    # when the texts are the same.
    found.update({p.chunk_id: p.roles for p in answer.retrieved if cited.get(p.chunk_id) == p.text})
    return found


def answer_html(answer: Answer, kept: RolesByChunk | None = None) -> str:
    """Answer sentences with their chips; unsupported sentences are flagged; abstentions as text.

    `kept` holds passage roles by chunk id for an answer without its retrieved passages.
    """
    if answer.abstained or not answer.sentences:
        return plain_answer(answer.answer)
    by_number = {c.number: c for c in answer.citations}
    roles = passage_roles(answer, kept)
    parts = []
    for sentence in answer.sentences:
        chips = " ".join(
            chip(by_number[n], sentence.text, roles.get(by_number[n].chunk_id, ()))
            for n in sentence.citations
            if n in by_number
        )
        flag = "" if sentence.supported else ' <span class="nd-unsupported">unsupported</span>'
        parts.append(f'<span class="nd-sent">{esc(sentence.text)}</span> {chips}{flag}')
    return '<div class="nd-answer">' + " ".join(parts) + "</div>"


def streaming_body(text: str) -> str:
    """Partial answer text while it streams: escaped, markers shown as (not yet openable) chips."""
    out, pos = [], 0
    for m in MARKER.finditer(text):
        out.append(esc(text[pos : m.start()]))
        tag = (m.group(2) or "").replace(", ", CHIP_SEPARATOR)
        out.append(
            f'<span class="nd-chip nd-pending"><span class="nd-num">{esc(m.group(1))}</span>'
            f"{' ' + esc(tag) if tag else ''}</span>"
        )
        pos = m.end()
    out.append(esc(text[pos:]))
    return f'<div class="nd-answer nd-streaming">{"".join(out)}<span class="nd-caret"></span></div>'


def plain_answer(text: str) -> str:
    """An abstention or message: escaped text, markers removed."""
    return f'<div class="nd-answer nd-abstain">{esc(MARKER.sub("", text).strip())}</div>'


def _cards(answer: Answer, kept: RolesByChunk | None) -> str:
    """One line per cited source that opens to its card, marking every answer sentence that
    rests on it."""
    roles = passage_roles(answer, kept)
    return "".join(
        f'<details class="nd-source"><summary><span class="nd-num">{c.number}</span> '
        f"{esc(chip_text(c))} — {esc(c.title or 'Untitled article')}</summary>"
        + citation_card(
            c,
            [s.text for s in answer.sentences if c.number in s.citations],
            roles.get(c.chunk_id, ()),
        )
        + "</details>"
        for c in answer.citations
    )


def sources_list(answer: Answer, heading: str = "Sources", kept: RolesByChunk | None = None) -> str:
    """Every passage cited in an answer, as cards (`kept`: as for `answer_html`)."""
    if not answer.citations:
        return f'<div class="nd-sources"><h3>{esc(heading)}</h3><p class="nd-muted">No passages cited.</p></div>'
    count = len(answer.citations)
    return f'<div class="nd-sources"><h3>{esc(heading)} ({count})</h3>{_cards(answer, kept)}</div>'


def inline_sources(answer: Answer, kept: RolesByChunk | None = None) -> str:
    """Sources folded under an answer (embed view; `kept`: as for `answer_html`)."""
    if not answer.citations:
        return ""
    return (
        f'<details class="nd-inline-sources"><summary>Sources ({len(answer.citations)})'
        f"</summary>{_cards(answer, kept)}</details>"
    )


def filters_line(applied: AppliedFilters | None) -> str:
    """'Filters applied: outlet Dawn (understood from the question: “Dawn”)' plus any note."""
    if applied is None:
        return '<div class="nd-filters">Filters applied: none</div>'
    carried = applied.carried
    if carried == Filters():
        text = f"Filters applied: {applied.effective.describe()}"
    else:
        kept = {name for name in Filters.model_fields if getattr(carried, name) is not None}
        own = applied.effective.model_copy(update=dict.fromkeys(kept))
        parts = [own.describe()] if own != Filters() else []
        text = "Filters applied: " + "; ".join(
            [*parts, f"{carried.describe()} — from the previous question"]
        )
    if applied.understood:
        phrases = ", ".join(f"“{p}”" for p in applied.understood)
        text += f" (understood from the question: {phrases})"
    note = f'<div class="nd-note">{esc(applied.note)}</div>' if applied.note else ""
    return f'<div class="nd-filters">{esc(text)}</div>{note}'


def status_line(
    mode: str, total_ms: float | None, passed: int, total: int, notice: str | None
) -> str:
    """Answer mode, time, citation check and any fallback notice."""
    parts = [f"Answer mode: {mode}"]
    if total_ms is not None:
        parts.append(f"{total_ms:.0f} ms")
    if total:
        parts.append(f"citations verified {passed}/{total}")
    line = f'<div class="nd-status">{esc(" · ".join(parts))}</div>'
    if notice:
        line += f'<div class="nd-notice" role="status">{esc(notice)}</div>'
    return line


def exchange(question: str, body: str, extra: str = "") -> str:
    """One question and its answer in the transcript."""
    return f'<div class="nd-turn"><div class="nd-q">{esc(question)}</div>{body}{extra}</div>'


def transcript(blocks: list[str], empty: str) -> str:
    """The whole conversation, or the `empty` HTML before the first question."""
    inner = "".join(blocks) if blocks else empty
    return f'<div class="nd-transcript" aria-live="polite">{inner}</div>'


def message(text: str, kind: str = "info") -> str:
    """A short escaped message box (info, warn or error)."""
    return f'<div class="nd-msg nd-{esc(kind)}">{esc(text)}</div>'
