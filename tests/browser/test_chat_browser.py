"""The chat and embed pages in headless Chromium: streaming, citations, filters, follow-ups,
embedding, layout at desktop and phone width, and a planted script that must never run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import (
    CHIP,
    DANGEROUS,
    PHONE,
    QUESTION,
    VIEWPORTS,
    Viewport,
    ask,
    assert_not_pwned,
    assert_opens_with_body_text,
    chip_texts,
    expect,
    final_answer,
    open_everything,
    open_first_chip,
    open_whole_passage,
)
from tests.browser.support import EVIL_QUESTION, LiveServer

pytestmark = pytest.mark.browser

EMBED = Viewport("embed", 900, 760)  # a host page's column


def choose_outlet(page: Any, name: str) -> None:
    page.locator("#nd-outlet input").click()
    page.get_by_role("option", name=name, exact=True).click()


def side_by_side(page: Any) -> bool:
    """Whether the sources panel sits beside the transcript (else it is stacked below)."""
    transcript = page.locator("#nd-transcript").bounding_box()
    sources = page.locator("#nd-sources").bounding_box()
    if sources["x"] > transcript["x"] + transcript["width"] - 1:
        return True
    assert sources["y"] > transcript["y"] + transcript["height"] - 1  # neither: overlapping
    return False


def assert_no_sideways_scrolling(page: Any, viewport: Viewport) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport.width + 1


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_streams_answer_with_chips_and_opens_passage(
    server: LiveServer, open_page: Any, screenshot_dir: Path, viewport: Viewport
) -> None:
    page = open_page(viewport)
    page.goto(server.url + "/")
    expect(page.locator(".nd-corpus-line")).to_contain_text("6 articles · 5 outlets")
    expect(page.locator(".nd-timeline")).to_be_visible()
    expect(page.locator(".nd-example").first).to_contain_text("What did")
    ask(page, QUESTION)
    pending = page.locator(".nd-streaming .nd-pending").first
    # Partial text with its marker, before the final answer; the first answer also loads the
    # query model, which can take a while on a busy 2-core machine.
    expect(pending).to_be_visible(timeout=30_000)
    expect(pending).to_contain_text(re.compile(r"· \d{1,2} [A-Z][a-z]{2} 2025"))
    answer = final_answer(page, 1)
    chips = chip_texts(answer)
    assert chips and all(CHIP.match(c) for c in chips), chips
    card = open_first_chip(answer)
    mark = card.locator(".nd-passage").first.locator("mark")
    assert " ".join(mark.inner_text().split()) in " ".join(
        answer.locator(".nd-sent").first.inner_text().split()
    )
    expect(card.locator(".nd-title")).not_to_be_empty()
    open_whole_passage(card)  # the whole passage is one click away
    for i in range(answer.locator(".nd-card").count()):
        assert_opens_with_body_text(answer.locator(".nd-card").nth(i))
    assert_sources_lines(page, answer)
    expect(page.locator("#nd-status")).to_contain_text("Answer mode: extractive")
    expect(page.locator("#nd-filters .nd-filters")).to_have_text("Filters applied: none")
    assert side_by_side(page) == (viewport != PHONE)  # stacked on a phone
    assert_no_sideways_scrolling(page, viewport)
    page.screenshot(path=screenshot_dir / f"chat-{viewport}.png", full_page=True)
    assert_not_pwned(page)


def assert_sources_lines(page: Any, answer: Any) -> None:
    """One Sources line per cited source, each opening its card on demand."""
    cited = set(answer.locator(".nd-card").evaluate_all("cards => cards.map(c => c.dataset.cite)"))
    lines = page.locator("#nd-sources details.nd-source")
    expect(lines).to_have_count(len(cited))
    expect(page.locator("#nd-sources .nd-card").first).to_be_hidden()
    lines.first.locator("> summary").click()
    expect(page.locator("#nd-sources .nd-card mark").first).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_outlet_filter_follow_up_and_new_conversation(
    server: LiveServer, open_page: Any, viewport: Viewport
) -> None:
    page = open_page(viewport)
    page.goto(server.url + "/")
    expect(page.locator(".nd-corpus-line")).to_be_visible()
    filters = page.locator("#nd-filters .nd-filters")
    choose_outlet(page, "Dawn")
    ask(page, "What did Russia say about European peacekeeping troops?")
    chips = chip_texts(final_answer(page, 1))
    assert chips and all(" Dawn · " in c for c in chips), chips
    expect(filters).to_have_text("Filters applied: outlet Dawn")

    page.locator("#nd-new").click()
    expect(page.locator(".nd-turn")).to_have_count(0)
    expect(page.locator(".nd-welcome")).to_be_visible()
    choose_outlet(page, "All outlets")
    ask(page, "What did Dawn report about European peacekeeping troops?")
    final_answer(page, 1)
    expect(filters).to_contain_text("outlet Dawn (understood from the question:")
    ask(page, "And what about security guarantees?")
    chips = chip_texts(final_answer(page, 2))
    expect(page.locator(".nd-turn")).to_have_count(2)
    # The follow-up names no outlet: Dawn is carried over from the history the page sent.
    expect(filters).to_have_text("Filters applied: outlet Dawn — from the previous question")
    assert chips and all(" Dawn · " in c for c in chips), chips
    # The carried filter can be dropped: the question is asked again in its place, unfiltered.
    drop = page.locator("#nd-drop")
    expect(drop).to_be_visible()
    drop.click()
    expect(filters).to_have_text("Filters applied: none")
    expect(page.locator(".nd-turn")).to_have_count(2)
    final_answer(page, 2)
    expect(drop).to_be_hidden()
    assert_not_pwned(page)


def test_the_as_of_field_reads_last_week_from_the_day_typed(
    server: LiveServer, open_page: Any
) -> None:
    page = open_page()
    page.goto(server.url + "/")
    expect(page.locator(".nd-corpus-line")).to_be_visible()
    page.locator("#nd-as-of textarea").fill("2025-09-01")
    ask(page, "What did the Kremlin say last week?")
    final_answer(page, 1)
    filters = page.locator("#nd-filters .nd-filters")
    expect(filters).to_contain_text("from 2025-08-25, until 2025-09-01, as of 2025-09-01")

    page.locator("#nd-as-of textarea").fill("1 Sep")
    ask(page, "What did the Kremlin say?")
    expect(page.locator(".nd-transcript")).to_contain_text("“As of”")


def test_chat_page_keeps_planted_script_inert(
    server: LiveServer, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page()
    page.goto(server.url + "/")
    expect(page.locator(".nd-legend")).to_contain_text(
        "<b onmouseover=window.__pwned=4>Evil Gazette</b>"
    )
    expect(page.locator(".nd-example").first).to_contain_text("What did")
    assert page.locator(".nd-example script, .nd-example b, .nd-example img").count() == 0
    ask(page, EVIL_QUESTION)
    answer = final_answer(page, 1)
    expect(answer).to_contain_text("said <script>window.__pwned=1</script> and <img src=x")
    expect(answer).to_contain_text("[click](javascript:window.__pwned=3)")
    open_everything(page)
    sources = page.locator("#nd-sources")
    expect(sources).to_contain_text("<script>window.__pwned=5</script>Alaska summit")
    expect(sources.locator(".nd-url").first).to_have_text("(javascript:window.__pwned=7)")
    for panel in ("#nd-transcript", "#nd-sources", "#nd-corpus"):
        assert page.locator(panel).locator(DANGEROUS).count() == 0, panel
        assert page.locator(panel).locator("a[href^='javascript' i]").count() == 0, panel
    page.locator("#nd-outlet input").click()
    page.get_by_role("option", name=re.compile("Evil Gazette")).hover()
    page.screenshot(path=screenshot_dir / "chat-planted-article.png", full_page=True)
    assert_not_pwned(page)


def test_embed_in_iframe_keeps_planted_script_inert(
    server: LiveServer, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page(EMBED)
    page.goto(server.url + "/test/iframe")
    frame = page.frame_locator("#newsdesk")
    expect(frame.locator(".nd-welcome")).to_be_visible()  # frame-ancestors 'self' lets it load
    expect(frame.locator(".nd-header")).to_have_count(0)  # compact: no header or side panels
    ask(frame, EVIL_QUESTION)
    answer = final_answer(frame, 1)
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned=2">')
    assert chip_texts(answer) and all(CHIP.match(c) for c in chip_texts(answer))
    open_everything(frame)
    inline = frame.locator(".nd-inline-sources .nd-card")
    expect(inline.first).to_be_visible()  # sources inline under the answer
    expect(inline.first.locator("mark")).to_have_count(2)  # both sentences resting on it
    transcript = frame.locator(".nd-transcript")
    assert transcript.locator(DANGEROUS).count() == 0
    assert transcript.locator("a[href^='javascript' i]").count() == 0
    page.screenshot(path=screenshot_dir / "embed-iframe.png", full_page=True)
    assert_not_pwned(page)


def test_embed_as_web_component(server: LiveServer, open_page: Any) -> None:
    page = open_page(EMBED)
    page.goto(server.url + "/test/component")
    expect(page.locator("gradio-app .nd-welcome")).to_be_visible()
    ask(page, QUESTION)
    answer = final_answer(page, 1)
    assert chip_texts(answer)
    expect(page.locator(".nd-inline-sources")).to_be_visible()
    assert_not_pwned(page)


def test_the_embed_fits_a_phone_with_its_cards_and_question_box_in_view(
    server: LiveServer, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page(PHONE)
    page.goto(server.url + "/embed/")
    ask(page, QUESTION)
    open_first_chip(final_answer(page, 1))
    assert_no_sideways_scrolling(page, PHONE)
    expect(page.locator("#nd-question textarea")).to_be_in_viewport()
    page.screenshot(path=screenshot_dir / "embed-phone.png")
    assert_not_pwned(page)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_a_conversation_survives_a_reload_until_a_new_one_is_started(
    server: LiveServer, open_page: Any, screenshot_dir: Path, viewport: Viewport
) -> None:
    page = open_page(viewport)
    page.goto(server.url + "/")
    expect(page.locator(".nd-welcome")).to_be_visible()
    ask(page, QUESTION)
    before = chip_texts(final_answer(page, 1))
    ask(page, "And what about security guarantees?")
    final_answer(page, 2)
    page.reload()
    expect(page.locator(".nd-turn")).to_have_count(2)
    assert chip_texts(final_answer(page, 1)) == before  # citations and their numbers kept
    expect(page.locator("#nd-sources .nd-card").first).to_be_attached()
    # Its cards open as they first did: on the cited sentence, the passage without its headline.
    open_first_chip(final_answer(page, 1))
    cards = page.locator("#nd-transcript .nd-card, #nd-sources .nd-card")
    for i in range(cards.count()):
        assert_opens_with_body_text(cards.nth(i))
    ask(page, "And what did Peskov say about Zelensky?")  # the kept history still carries
    final_answer(page, 3)
    page.screenshot(path=screenshot_dir / f"chat-after-reload-{viewport}.png", full_page=True)
    page.locator("#nd-new").click()
    expect(page.locator(".nd-turn")).to_have_count(0)
    page.reload()
    expect(page.locator(".nd-welcome")).to_be_visible()
    expect(page.locator(".nd-turn")).to_have_count(0)
    assert_not_pwned(page)


def test_the_embed_keeps_its_own_conversation_across_a_reload(
    server: LiveServer, open_page: Any
) -> None:
    page = open_page(EMBED)
    page.goto(server.url + "/embed/")
    ask(page, QUESTION)
    final_answer(page, 1)
    page.reload()
    expect(page.locator(".nd-turn")).to_have_count(1)
    expect(page.locator(".nd-inline-sources").first).to_be_attached()
    page.goto(server.url + "/")  # the chat page keeps a conversation of its own
    expect(page.locator(".nd-welcome")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_a_suggested_question_reads_as_a_question_and_is_answered_with_citations(
    server: LiveServer, open_page: Any, viewport: Viewport
) -> None:
    page = open_page(viewport)
    page.goto(server.url + "/")
    suggestion = page.locator("button.nd-example").first
    expect(suggestion).to_be_visible(timeout=30_000)
    text = suggestion.inner_text().strip()
    assert text.endswith("?") and len(text) < 160, text  # a question a person would ask
    assert "…" not in text and " about Kremlin says" not in text  # no headline pasted in
    suggestion.click()
    answer = final_answer(page, 1)
    assert chip_texts(answer)  # answered from the index, with citations
    assert_no_sideways_scrolling(page, viewport)
