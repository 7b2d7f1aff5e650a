"""Fixtures for the browser tests: the real app on a loopback port and headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tests.browser import support
from tests.browser.pages import DESKTOP, Viewport
from tests.browser.support import LiveServer, Site, live_server, make_settings
from tests.conftest import ROOT
from tests.fixtures.requirements import missing

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Pages a host site would use to embed Newsdesk, served from the app's own origin so the default
# `frame-ancestors 'self'` applies as it would in production.
IFRAME_HOST = """<!doctype html><html><head><title>Host</title></head><body>
<h1>Host page</h1>
<iframe id="newsdesk" src="/embed/" title="Newsdesk" style="width:100%;height:560px;border:1px solid #ccc"></iframe>
</body></html>"""
COMPONENT_HOST = """<!doctype html><html><head><title>Host</title>
<script type="module" src="/gradio.js"></script></head><body>
<h1>Host page</h1><gradio-app src="{origin}/embed"></gradio-app>
</body></html>"""


@lru_cache(maxsize=1)
def browser_missing() -> str | None:
    """Why the browser tests cannot run here (Chromium or Playwright missing), or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a browser test, with the reason, when Chromium or Playwright is missing; fail on CI.

    Runs before the test's fixtures, so a skipped test never starts the server. (A runtest hook
    here applies to the tests under tests/browser/, where every browser test lives.)
    """
    reason = browser_missing() if "browser" in item.keywords else None
    if reason:
        missing(reason)


planted_data = support.planted_data  # the shared session fixture


def _add_host_pages(app: Any, origin: str) -> None:
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    # Inserted first: the Gradio app mounted at / would otherwise answer these paths.
    pages = {"/test/iframe": IFRAME_HOST, "/test/component": COMPONENT_HOST.format(origin=origin)}
    for path, page in pages.items():
        app.router.routes.insert(0, Route(path, lambda _r, page=page: HTMLResponse(page)))


class PacedEngine:
    """The real engine with a pause after each streamed text delta.

    Extractive answers stream in milliseconds; the pause lets the browser show (and the test
    see) the partial text, as it would while an LLM writes.
    """

    def __init__(self, engine: Any, pause: float = 0.5) -> None:
        self.engine = engine
        self.pause = pause

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """The engine's events, pausing after each delta."""
        for event in self.engine.stream(*args, **kwargs):
            yield event
            if event.type == "delta":
                time.sleep(self.pause)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


@contextmanager
def newsdesk_server(data: Path, embedder: Any, **server: Any) -> Iterator[LiveServer]:
    """The full app (API, chat and embed) over the index at `data`, with `server` settings, on
    a free loopback port, with the same-origin host pages."""
    from newsdesk.factory import build_newsdesk
    from ui.api import create_app

    settings = make_settings(data, **server)
    paced = PacedEngine(build_newsdesk(settings, embedder=embedder))
    app = create_app(paced, settings.server)  # type: ignore[arg-type]  # duck-typed wrapper
    with live_server(app) as running:
        _add_host_pages(app, running.url)
        yield running


@pytest.fixture(scope="module")
def server(planted_data: Path, real_embedder: Any) -> Iterator[LiveServer]:
    """Newsdesk over the planted index with the default settings: only its own origin may frame
    the embed."""
    with newsdesk_server(planted_data, real_embedder) as running:
        yield running


@contextmanager
def wiki(host: str) -> Iterator[Site]:
    """A wiki on `host`, on a port of its own, serving the pages that frame Newsdesk."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Route

    pages: dict[str, str] = {}

    def page(request: Any) -> Any:
        name = request.path_params["name"]
        return HTMLResponse(pages[name]) if name in pages else PlainTextResponse("", 404)

    with live_server(Starlette(routes=[Route("/{name}", page)]), host=host) as running:
        yield Site(running.url, pages)


@pytest.fixture(scope="module")
def other_origin() -> Iterator[Site]:
    """A wiki on Newsdesk's host but another port: another origin of the same site."""
    with wiki("127.0.0.1") as site:
        yield site


@pytest.fixture(scope="module")
def other_site() -> Iterator[Site]:
    """A wiki on another loopback address: another site, so the browser treats Newsdesk's frame
    in it as third-party and denies the frame storage."""
    with wiki("127.0.0.2") as site:
        yield site


@contextmanager
def allowing(site: Site, data: Path, embedder: Any) -> Iterator[LiveServer]:
    """Newsdesk with `NEWSDESK_FRAME_ANCESTORS` allowing `site`'s wiki, as the README's wiki
    section sets it."""
    allowed = f"'self' {site.url}"
    with newsdesk_server(data, embedder, frame_ancestors=allowed) as running:
        yield running


@pytest.fixture(scope="module")
def framed_server(
    planted_data: Path, real_embedder: Any, other_origin: Site
) -> Iterator[LiveServer]:
    """Newsdesk that the other origin's wiki may frame."""
    with allowing(other_origin, planted_data, real_embedder) as running:
        yield running


@pytest.fixture(scope="module")
def cross_site_server(
    planted_data: Path, real_embedder: Any, other_site: Site
) -> Iterator[LiveServer]:
    """Newsdesk that the other site's wiki may frame."""
    with allowing(other_site, planted_data, real_embedder) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page at a viewport; records dialogs and page errors on `page.events`."""
    contexts: list[Any] = []

    def open_(viewport: Viewport = DESKTOP) -> Any:
        size = {"width": viewport.width, "height": viewport.height}
        mobile = {"is_mobile": viewport.mobile, "has_touch": viewport.mobile}
        context = browser.new_context(viewport=size, **mobile)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.events = []
        page.on("dialog", lambda d: (page.events.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("pageerror", lambda e: page.events.append(f"pageerror: {e}"))
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
