"""The embed framed by a page of another origin, as a wiki would frame it: it answers with
citation cards and keeps its conversation when `NEWSDESK_FRAME_ANCESTORS` allows that origin, and
the browser refuses the frame when the setting is left at its default. Framed by another site,
where the browser denies the frame storage, it still answers, and forgets the conversation on
reload.

(That the server names the setting in its log at start is checked in tests/test_ui_server.py.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import (
    CHIP,
    QUESTION,
    Viewport,
    ask,
    assert_not_pwned,
    assert_opens_with_body_text,
    chip_texts,
    expect,
    final_answer,
    open_first_chip,
    open_whole_passage,
)
from tests.browser.support import LiveServer, Site

pytestmark = pytest.mark.browser

WIKI = Viewport("wiki", 1000, 800)


def origins(page: Any) -> set[str]:
    """The origins of the page and of every frame in it that loaded."""
    return {frame.evaluate("location.origin") for frame in page.frames}


def embed_frame(page: Any) -> Any:
    return page.frame_locator("#newsdesk")


def ask_in_frame_and_open_a_card(page: Any) -> list[str]:
    """Ask inside the framed embed; the chips, after checking they name outlet and date and that
    the first opens its card on the cited sentence, body text first."""
    frame = embed_frame(page)
    ask(frame, QUESTION)
    answer = final_answer(frame, 1)
    chips = chip_texts(answer)
    assert chips and all(CHIP.match(c) for c in chips), chips
    card = open_first_chip(answer)
    open_whole_passage(card)
    assert_opens_with_body_text(card)
    return chips


def test_an_embed_framed_by_another_origin_answers_with_cards_and_keeps_its_conversation(
    framed_server: LiveServer, other_origin: Site, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page(WIKI)
    page.goto(other_origin.frame("allowed", framed_server.url + "/embed/"))
    expect(embed_frame(page).locator(".nd-welcome")).to_be_visible()
    assert origins(page) == {other_origin.url, framed_server.url}
    assert has_storage(page, framed_server)  # the same site: not a third-party frame
    expect(embed_frame(page).locator(".nd-storage-note")).to_be_hidden()
    chips = ask_in_frame_and_open_a_card(page)
    page.screenshot(path=screenshot_dir / "embed-cross-origin.png")
    page.reload()  # the host page: the frame loads afresh from Newsdesk
    expect(embed_frame(page).locator(".nd-turn")).to_have_count(1)
    answer = final_answer(embed_frame(page), 1)
    assert chip_texts(answer) == chips  # citations and their numbers kept
    assert_opens_with_body_text(open_first_chip(answer))
    assert_not_pwned(page)


def has_storage(page: Any, server: LiveServer) -> bool:
    """Whether the browser lets Newsdesk's frame in `page` use its storage (asked of the
    document, which a replacement for `window.localStorage` does not change)."""
    frame = next(f for f in page.frames if f.url.startswith(server.url))
    return frame.evaluate("document.hasStorageAccess()")


def test_an_embed_framed_by_another_site_answers_with_cards_though_the_browser_denies_it_storage(
    cross_site_server: LiveServer, other_site: Site, open_page: Any, screenshot_dir: Path
) -> None:
    page = open_page(WIKI)
    page.goto(other_site.frame("cross-site", cross_site_server.url + "/embed/"))
    frame = embed_frame(page)
    expect(frame.locator(".nd-welcome")).to_be_visible()
    assert not has_storage(page, cross_site_server)  # a third-party frame, as browsers treat it
    expect(frame.locator(".nd-storage-note")).to_be_visible()
    ask_in_frame_and_open_a_card(page)
    page.screenshot(path=screenshot_dir / "embed-cross-site.png")
    assert_not_pwned(page)  # and no uncaught error, such as reading the denied storage raises
    page.reload()  # nowhere to keep the conversation: the frame starts afresh, and still works
    expect(frame.locator(".nd-welcome")).to_be_visible()
    expect(frame.locator(".nd-turn")).to_have_count(0)


def test_the_browser_refuses_the_embed_to_another_origin_unless_the_setting_allows_it(
    server: LiveServer, other_origin: Site, open_page: Any
) -> None:
    page = open_page(WIKI)
    with page.expect_console_message(lambda m: "frame-ancestors 'self'" in m.text) as message:
        page.goto(other_origin.frame("refused", server.url + "/embed/"))
    assert re.search(r"violates .*frame-ancestors 'self'.* blocked", message.value.text)
    assert server.url not in origins(page)  # nothing of Newsdesk's origin ran in the frame
    expect(embed_frame(page).locator(".nd-welcome")).to_have_count(0)
