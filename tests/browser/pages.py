"""What the browser tests do on a page (or inside a frame) and the viewports they do it at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

QUESTION = "What did the Kremlin say about European peacekeeping troops?"
CHIP = re.compile(r"^\d+ (.+) · (\d{1,2} [A-Z][a-z]{2} \d{4}|unknown date)$")
ANSWER_WAIT_MS = 20_000
DANGEROUS = "script, img, iframe, object, embed, [onerror], [onload], [onmouseover], [onclick]"


@dataclass(frozen=True)
class Viewport:
    """A browser window: its name (in test ids and screenshot names), size and kind."""

    name: str
    width: int
    height: int
    mobile: bool = False  # a phone: touch, and the page's meta viewport honoured

    def __str__(self) -> str:
        return self.name


DESKTOP = Viewport("desktop", 1280, 900)
PHONE = Viewport("phone", 390, 844, mobile=True)
VIEWPORTS = [DESKTOP, PHONE]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def ask(scope: Any, question: str) -> None:
    """Type a question into a page or frame and press Ask."""
    scope.locator("#nd-question textarea").fill(question)
    scope.locator("#nd-ask").click()


def final_answer(scope: Any, turn: int) -> Any:
    """The finished answer of the `turn`-th exchange (1-based), once it has rendered."""
    answer = scope.locator(".nd-turn").nth(turn - 1).locator(".nd-answer:not(.nd-streaming)")
    # Longer than expect's default: the paced engine streams for seconds, and a server's first
    # question, or a busy machine, adds to that.
    expect(answer).to_be_visible(timeout=ANSWER_WAIT_MS)
    return answer


def chip_texts(answer: Any) -> list[str]:
    return [" ".join(t.split()) for t in answer.locator("summary.nd-chip").all_inner_texts()]


def open_first_chip(answer: Any) -> Any:
    """Open the answer's first citation chip; its card, with the cited sentence marked in view."""
    answer.locator("summary.nd-chip").first.click()
    card = answer.locator("details.nd-cite[open] .nd-card").first
    mark = card.locator(".nd-passage").first.locator("mark")
    expect(mark).to_have_count(1)  # the sentence this chip belongs to
    expect(mark).to_be_in_viewport()  # the card opens on it, not at the top of the article
    expect(card.locator(".nd-card-head")).to_contain_text(re.compile(r"\d{1,2} [A-Z][a-z]{2} 2025"))
    return card


def open_whole_passage(card: Any) -> Any:
    """Open a card's "Whole passage" toggle; the whole passage, then visible."""
    whole = card.locator("details.nd-whole blockquote")
    expect(whole).to_be_hidden()
    card.locator("details.nd-whole > summary").click()
    expect(whole).to_be_visible()
    return whole


def assert_opens_with_body_text(card: Any) -> None:
    """A card's whole passage opens with body text, not the headline its title line shows."""
    title = " ".join(card.locator(".nd-title").text_content().split())
    passage = card.locator("details.nd-whole blockquote, blockquote.nd-passage").last
    text = " ".join(passage.text_content().split())
    assert title and text and not text.startswith(title), (title, text[:120])


def open_everything(scope: Any) -> None:
    """Open every citation and sources fold, hovering each, as a curious reader would."""
    summaries = scope.locator(".nd-transcript details > summary")
    for i in range(summaries.count()):
        summary = summaries.nth(i)
        summary.hover()
        if summary.evaluate("s => !s.parentElement.open"):
            summary.click()


def assert_not_pwned(page: Any) -> None:
    for frame in page.frames:
        assert frame.evaluate("typeof window.__pwned") == "undefined", frame.url
    assert page.events == []  # no dialogs, no page errors
