"""HTML rendering of answers, citations and the corpus panel: correct, and inert for hostile text."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest

from rag.types import (
    Answer,
    AnswerSentence,
    AppliedFilters,
    Citation,
    CorpusDocument,
    CorpusSummary,
    Filters,
    Passage,
    Source,
)
from ui import render
from ui.corpus import EMPTY_INDEX, summary_html, timeline_svg

HOSTILE = (
    'Kremlin spokesman said <script>window.__pwned=1</script> and <img src=x onerror="x()"> and '
    "[click](javascript:window.__pwned=3) about the summit in Alaska."
)
# Every tag and attribute the renderer may emit; anything else means corpus text leaked as markup.
ALLOWED_TAGS = {
    "div",
    "span",
    "details",
    "summary",
    "blockquote",
    "mark",
    "a",
    "h3",
    "p",
    "svg",
    "rect",
    "title",
    "text",
    "line",
    "i",
}
ALLOWED_ATTRS = {
    "class",
    "title",
    "href",
    "target",
    "rel",
    "data-cite",
    "role",
    "aria-live",
    "aria-label",
    "viewbox",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "width",
    "height",
    "fill",
    "text-anchor",
    "style",
}


class _Markup(HTMLParser):
    """Collects every start tag and attribute of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(fragment: str) -> None:
    """No unexpected tags, no event handlers, links only to http(s)."""
    parser = _Markup()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name)
            if name == "href":
                assert (value or "").startswith(("http://", "https://")), value
            if name == "style":
                assert (value or "").startswith("background:#"), value


def citation(
    number: int = 1,
    passage: str = HOSTILE,
    quote: str = "",
    url: str | None = None,
    outlet: str | None = "Dawn",
    title: str = "Title",
) -> Citation:
    where = passage.find(quote) if quote else -1
    return Citation(
        doc_id="d1",
        chunk_id=f"d1::{number}",
        outlet=outlet,
        date=date(2025, 8, 28),
        title=title,
        url=url,
        number=number,
        marker=f"[{number}: {outlet}, 28 Aug 2025]",
        label=f"{outlet}, 28 Aug 2025",
        passage=passage,
        span=(0, len(passage)),
        quote=quote,
        quote_span=(where, where + len(quote)) if where >= 0 else None,
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>1</script>",
        "vbscript:x",
        "//evil.example/x",
        "/relative",
        "",
        "https://ok.example/\nx",
        None,
    ],
)
def test_safe_url_refuses_non_http(url: str | None) -> None:
    assert render.safe_url(url) is None


def test_safe_url_keeps_http_and_link_escapes() -> None:
    url = 'https://news.example/a?b=1&c="x"'
    assert render.safe_url(url) == url
    html = render.link(url, "<b>Title</b>")
    assert 'href="https://news.example/a?b=1&amp;c=&quot;x&quot;"' in html
    assert "&lt;b&gt;Title&lt;/b&gt;" in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_javascript_url_becomes_plain_text() -> None:
    html = render.link("javascript:window.__pwned=7", "Evil")
    assert "<a " not in html
    assert "javascript:window.__pwned=7" in html  # shown, not linked


def test_citation_card_escapes_everything_and_highlights_quote() -> None:
    quote = "Kremlin spokesman said <script>window.__pwned=1</script> and"
    c = citation(
        passage=HOSTILE,
        quote=quote,
        url="javascript:window.__pwned=7",
        outlet="<b onmouseover=x()>Evil</b>",
        title="<script>t()</script>Alaska",
    )
    html = render.chip(c)
    assert_inert(html)
    assert (
        "<mark>Kremlin spokesman said &lt;script&gt;window.__pwned=1&lt;/script&gt; and</mark>"
        in html
    )
    assert "&lt;b onmouseover=x()&gt;Evil&lt;/b&gt; · 28 Aug 2025" in html
    assert "&lt;script&gt;t()&lt;/script&gt;Alaska" in html
    assert "<details" in html and "<summary" in html


def test_highlight_falls_back_to_finding_the_quote() -> None:
    c = citation(passage="One. Two three. Four.", quote="Two three.")
    c = c.model_copy(update={"quote_span": None})
    assert render.highlighted_passage(c) == "One. <mark>Two three.</mark> Four."
    bad = c.model_copy(update={"quote_span": (5, 999)})
    assert "<mark>" in render.highlighted_passage(bad)  # falls back to searching


def test_answer_html_chips_per_sentence_and_unsupported_flag() -> None:
    c1, c2 = citation(1, "Alpha beta.", "Alpha beta."), citation(2, "Gamma.", "Gamma.", outlet=None)
    answer = Answer(
        question="q",
        answer="Alpha beta. [1: Dawn, 28 Aug 2025] Gamma. [2] Delta. [unsupported]",
        sentences=[
            AnswerSentence(text="Alpha beta.", citations=[1]),
            AnswerSentence(text="Gamma.", citations=[2]),
            AnswerSentence(text="Delta.", citations=[], supported=False),
        ],
        citations=[c1, c2],
    )
    html = render.answer_html(answer)
    assert_inert(html)
    assert html.count('<details class="nd-cite">') == 2
    assert "Dawn · 28 Aug 2025" in html and "unknown outlet · 28 Aug 2025" in html
    assert "nd-unsupported" in html


def test_abstention_renders_as_text_without_markers() -> None:
    answer = Answer(question="q", answer="The corpus does not cover this [1].", abstained=True)
    html = render.answer_html(answer)
    assert "nd-abstain" in html and "[1]" not in html


def test_streaming_body_turns_markers_into_pending_chips() -> None:
    html = render.streaming_body("Said <b>x</b>. [1: <i>Evil</i>, 28 Aug 2025] More [2]")
    assert_inert(html)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;i&gt;Evil&lt;/i&gt; · 28 Aug 2025" in html
    assert html.count("nd-pending") == 2


def test_filters_line_names_understood_phrases_and_note() -> None:
    applied = AppliedFilters(
        from_question=Filters(outlet="Dawn"),
        effective=Filters(outlet="Dawn", since=date(2025, 9, 1)),
        understood=["did Dawn"],
        note="No <b>articles</b>",
    )
    html = render.filters_line(applied)
    assert (
        "Filters applied: outlet Dawn, from 2025-09-01 (understood from the question: “did Dawn”)"
        in html
    )
    assert "No &lt;b&gt;articles&lt;/b&gt;" in html
    assert render.filters_line(None).endswith("Filters applied: none</div>")


def test_status_line_shows_mode_and_notice() -> None:
    html = render.status_line("extractive", 12.4, 3, 3, "The LLM could not <answer>")
    assert "Answer mode: extractive · 12 ms · citations verified 3/3" in html
    assert "The LLM could not &lt;answer&gt;" in html


def test_sources_list_and_inline_sources() -> None:
    answer = Answer(
        question="q", answer="a", citations=[citation(1), citation(2, outlet="Al Jazeera")]
    )
    panel = render.sources_list(answer)
    assert_inert(panel)
    assert "Sources (2)" in panel and panel.count('class="nd-card"') == 2
    empty = Answer(question="q", answer="a")
    assert "No passages cited" in render.sources_list(empty)
    assert render.inline_sources(empty) == ""
    assert "Sources (2)" in render.inline_sources(answer)


def test_each_chip_marks_its_own_sentence_and_sources_mark_all() -> None:
    passage = "First point here. Filler text. Second point there."
    c = citation(1, passage, quote="First point here.")
    answer = Answer(
        question="q",
        answer="a",
        citations=[c],
        sentences=[
            AnswerSentence(text="First point here.", citations=[1]),
            AnswerSentence(text="Second point there.", citations=[1]),
        ],
    )
    chips = render.answer_html(answer).split("<details")[1:]
    assert "<mark>First point here.</mark> Filler" in chips[0]
    assert "Filler text. <mark>Second point there.</mark>" in chips[1]
    assert "First point here." in chips[1] and "<mark>First" not in chips[1]
    panel = render.sources_list(answer)
    assert panel.count("<mark>") == 2
    paraphrase = render.highlighted_passage(c, ["A sentence the passage does not contain."])
    assert paraphrase.startswith("<mark>First point here.</mark>")  # falls back to the quote


DOCS = [
    {
        "doc_id": "a",
        "outlet": "Dawn",
        "date": "2025-08-28",
        "title": "Russia pushed back on Wednesday against the idea…",
    },
    {
        "doc_id": "b",
        "outlet": "Al Jazeera",
        "date": "2025-08-27",
        "title": "Russia opposed to European security guarantees for Ukraine, says Kremlin",
    },
    {
        "doc_id": "c",
        "outlet": "<b onmouseover=x()>Evil</b>",
        "date": "2025-08-29",
        "title": "<script>x()</script>Alaska summit talks",
    },
    {
        "doc_id": "d",
        "outlet": None,
        "date": None,
        "title": "Undated piece on the peace talks in Ukraine",
    },
]


def test_summary_and_timeline_are_escaped() -> None:
    summary = {
        "articles": 4,
        "chunks": 9,
        "outlets": ["Al Jazeera", "Dawn", "<b>Evil</b>"],
        "first_date": "2025-08-27",
        "last_date": "2025-08-29",
        "documents": DOCS,
    }
    html = summary_html(CorpusSummary.model_validate(summary))
    assert_inert(html)
    assert "4 articles · 3 outlets · 27 Aug 2025 – 29 Aug 2025" in html
    assert html.count("<rect") == 3  # one bar segment per dated article here
    assert "&lt;b onmouseover=x()&gt;Evil&lt;/b&gt;" in html
    assert "1 article(s) without a date" in html


def test_timeline_buckets_long_spans_by_month() -> None:
    docs = [
        CorpusDocument(doc_id=f"{y}{m}", outlet="Dawn", date=f"202{y}-0{m}-1{m}")
        for y in (3, 4, 5)
        for m in (1, 5, 9)
    ]
    svg = timeline_svg(docs)
    assert "Articles by month and outlet" in svg and svg.count("<rect") == 9
    assert "No dated articles" in timeline_svg([CorpusDocument(doc_id="x", outlet="Dawn")])


def test_empty_corpus_message_names_the_command() -> None:
    assert "No articles yet" in summary_html(CorpusSummary())
    assert "Run “newsdesk ingest”" in EMPTY_INDEX


def test_chip_text_for_unknowns() -> None:
    source = Source(doc_id="x", chunk_id="x::0", outlet=None, date=None, title="t", url=None)
    assert render.chip_text(source) == "unknown outlet · unknown date"


def test_a_card_opens_on_the_cited_sentence_and_its_neighbours_with_the_whole_passage_on_demand() -> (
    None
):
    passage = " ".join(f"Sentence number {i} of a long report." for i in range(1, 13))
    quote = "Sentence number 6 of a long report."
    c = citation(passage=passage, quote=quote)
    card = render.citation_card(c, [quote])
    excerpt = card.split('class="nd-passage nd-excerpt">')[1].split("</blockquote>")[0]
    assert excerpt == (
        "… Sentence number 5 of a long report. <mark>Sentence number 6 of a long report.</mark> "
        "Sentence number 7 of a long report. …"
    )
    whole = card.split('<details class="nd-whole"><summary>Whole passage</summary>')[1]
    assert "Sentence number 1 of" in whole and "Sentence number 12 of" in whole
    short = citation(passage="One here. Two here. Three.", quote="Two here.")
    assert "nd-whole" not in render.citation_card(short, ["Two here."])


def test_the_sources_panel_lists_one_line_per_source_that_opens_its_card() -> None:
    answer = Answer(
        question="q",
        answer="a",
        sentences=[AnswerSentence(text="Peskov spoke.", citations=[1])],
        citations=[citation(passage="Peskov spoke.", quote="Peskov spoke.")],
    )
    panel = render.sources_list(answer)
    line = panel.split('<details class="nd-source"><summary>')[1].split("</summary>")[0]
    assert "Dawn · 28 Aug 2025" in line and "nd-card" not in line
    assert panel.count('class="nd-card"') == 1


HEADLINE = "Kremlin rejects European peacekeepers"
BODY = " ".join(f"Sentence number {i} of a long report." for i in range(1, 8))


def whole_passage(card: str) -> str:
    """The text of a card's whole-passage view (its only passage when there is no excerpt)."""
    whole = card.split('class="nd-passage">')[1]
    return whole.split("</blockquote>")[0]


def test_the_whole_passage_opens_with_body_text_rather_than_the_headline_again() -> None:
    passage = f"{HEADLINE}\n{BODY}"
    quote = "Sentence number 4 of a long report."
    c = citation(passage=passage, quote=quote, title=HEADLINE)
    card = render.citation_card(c, [quote], roles=[(0, len(HEADLINE), "headline")])
    assert whole_passage(card).startswith("Sentence number 1 of")
    assert HEADLINE not in card.replace(f'<div class="nd-title">{HEADLINE}</div>', "")
    assert whole_passage(render.citation_card(c, [quote])).startswith(HEADLINE)  # no roles


def test_only_a_leading_headline_is_skipped_and_never_a_cited_one() -> None:
    later = f"{BODY}\n{HEADLINE}\nThe end of it."
    heading = [(len(BODY) + 1, len(BODY) + 1 + len(HEADLINE), "headline")]
    c = citation(passage=later, title=HEADLINE)
    assert whole_passage(render.citation_card(c, roles=heading)).startswith(BODY)
    standfirst = citation(passage=f"{HEADLINE}\n{BODY}")
    roles = [(0, len(HEADLINE), "standfirst")]  # only a headline repeats the card's title
    assert whole_passage(render.citation_card(standfirst, roles=roles)).startswith(HEADLINE)
    cited = citation(passage=f"{HEADLINE}\n{BODY}", quote=HEADLINE)
    roles = [(0, len(HEADLINE), "headline")]
    card = render.citation_card(cited, [HEADLINE], roles=roles)
    assert whole_passage(card).startswith(f"<mark>{HEADLINE}</mark>")


def test_cards_take_passage_roles_from_the_retrieved_passages_or_from_those_kept() -> None:
    text = f"{HEADLINE}\n{BODY}"
    quote = "Sentence number 4 of a long report."
    c = citation(passage=text, quote=quote, title=HEADLINE)
    roles = [(0, len(HEADLINE), "headline")]
    retrieved = Passage(
        **c.model_dump(include=set(Source.model_fields)),
        start=0,
        end=len(text),
        score=1.0,
        text=text,
        roles=roles,
    )
    sentences = [AnswerSentence(text=quote, citations=[1])]
    answer = Answer(question="q", answer=quote, sentences=sentences, citations=[c])
    fresh = answer.model_copy(update={"retrieved": [retrieved]})
    kept = {c.chunk_id: roles}
    for html_ in (
        render.answer_html(fresh),
        render.sources_list(fresh),
        render.inline_sources(answer, kept),
        render.answer_html(answer, kept),
    ):
        assert whole_passage(html_).startswith("Sentence number 1 of"), html_
    other = retrieved.model_copy(update={"text": f"Another text.\n{text}"})
    stale = answer.model_copy(update={"retrieved": [other]})  # its offsets fit another text
    assert whole_passage(render.answer_html(stale)).startswith(HEADLINE)
