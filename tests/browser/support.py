"""Shared helpers for the API, serve and browser tests: a seed corpus with a planted hostile
article, its index (built once per session with the real model) and the `planted_data` fixture
over it, and a live uvicorn server in a thread.

`planted_data` is defined here once; each module using it registers it with
`planted_data = support.planted_data` (a fixture from a non-root conftest would not reach
tests outside tests/browser)."""

from __future__ import annotations

import html
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from bench.processes import free_port
from tests.conftest import CORPUS, MODEL_CACHE

if TYPE_CHECKING:
    from newsdesk.settings import Settings

# Every route by which corpus text could run script: tags, event handlers, a javascript: link
# in text, a javascript: URL in metadata, and markup in the outlet and title fields.
EVIL_TEXT = (
    "Kremlin spokesman said <script>window.__pwned=1</script> and "
    '<img src=x onerror="window.__pwned=2"> and [click](javascript:window.__pwned=3) '
    "about the summit in Alaska.\n"
    'The summit in Alaska was called constructive by the Kremlin spokesman, who said <svg onload="'
    'window.__pwned=8"></svg> more talks in Alaska could follow.\n'
)
EVIL_MANIFEST = """
evil.txt:
  outlet: "<b onmouseover=window.__pwned=4>Evil Gazette</b>"
  date: 2025-08-29
  title: "<script>window.__pwned=5</script>Alaska summit <img src=x onerror=window.__pwned=6>"
  url: "javascript:window.__pwned=7"
"""
EVIL_QUESTION = "What did the Kremlin spokesman say about the summit in Alaska?"
ARTICLES = 6  # the five seed articles plus evil.txt


def planted_corpus(target: Path) -> Path:
    """A copy of the seed corpus plus `evil.txt` and its manifest entry."""
    shutil.copytree(CORPUS, target)
    (target / "evil.txt").write_text(EVIL_TEXT, encoding="utf-8")
    with (target / "manifest.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(EVIL_MANIFEST)
    return target


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for the planted index, with no .env influence."""
    from newsdesk.settings import Settings

    values: dict[str, Any] = {"data_dir": data_dir, "model_cache_dir": MODEL_CACHE}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def planted_index(base: Path, embedder: Any) -> Path:
    """The planted corpus's index under `base`, ingested on first use and reused after.

    Every module registering `planted_data` asks for it; the `ready` marker makes all but the
    first a no-op, so a session embeds the corpus once.
    """
    from newsdesk.factory import build_ingestor

    data = base / "planted-index"
    if (data / "ready").exists():
        return data
    if data.exists():
        shutil.rmtree(data)
    corpus = base / "planted-corpus"
    if not corpus.exists():
        planted_corpus(corpus)
    report = build_ingestor(make_settings(data), progress=False, embedder=embedder).run(
        [corpus], log=lambda _: None
    )
    assert report.ingested == ARTICLES, report
    (data / "ready").write_text("ok")
    return data


@pytest.fixture(scope="session")
def planted_data(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Path:
    """The seed corpus plus a hostile article, indexed once per session."""
    return planted_index(tmp_path_factory.getbasetemp(), real_embedder)


@pytest.fixture(scope="session")
def api_engine(planted_data: Path, real_embedder: Any) -> Any:
    """The answering engine over the planted index, shared by the API tests."""
    from newsdesk.factory import build_newsdesk

    return build_newsdesk(make_settings(planted_data), embedder=real_embedder)


@dataclass
class LiveServer:
    """A uvicorn server running an app on a free loopback port."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def live_server(app: Any, timeout: float = 60.0, host: str = "127.0.0.1") -> Iterator[LiveServer]:
    """Serve `app` on a loopback address (`host`) in a background thread for the duration of
    the block."""
    port = free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://{host}:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# A wiki page on another site that frames Newsdesk's embed.
WIKI_PAGE = """<!doctype html><html><head><title>Wiki</title></head><body>
<h1>Team wiki</h1><p>Ask the newsdesk:</p>
<iframe id="newsdesk" src="{src}" title="Newsdesk" style="width:100%;height:600px;border:1px solid #ccc"></iframe>
</body></html>"""


@dataclass
class Site:
    """Another website on loopback; `frame` publishes a page of it that frames a URL."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)

    def frame(self, name: str, src: str) -> str:
        """Publish page `name`, framing `src`; its URL."""
        self.pages[name] = WIKI_PAGE.format(src=html.escape(src, quote=True))
        return f"{self.url}/{name}"
