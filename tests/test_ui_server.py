"""`newsdesk serve`: building the index when empty, and the real CLI serving chat and API."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.processes import free_port, running, wait_for_url
from newsdesk import serve
from newsdesk.serve import ensure_index
from rag.types import CorpusSummary
from tests.browser import support
from tests.browser.support import EVIL_QUESTION
from tests.conftest import FakeEmbedder

planted_data = support.planted_data  # the shared session fixture
SERVE_TIMEOUT = 120.0  # seconds for `newsdesk serve` to load the model and index


def test_ensure_index_ingests_only_when_empty(
    settings_factory: Any, corpus_copy: Path, fake_embedder: Any
) -> None:
    from newsdesk.factory import build_store

    settings = settings_factory(corpus_dir=corpus_copy)
    ensure_index(settings, fake_embedder)
    assert len(build_store(settings).articles()) == 5
    calls = fake_embedder.calls
    ensure_index(settings, fake_embedder)
    assert fake_embedder.calls == calls  # a filled index is left alone


def test_ensure_index_prepares_articles_on_a_thread_and_never_forks_the_server(
    settings_factory: Any, corpus_copy: Path, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.ingest
    from newsdesk.factory import build_store

    def forked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the server forked a preparing process")

    monkeypatch.setattr(index.ingest, "elsewhere", forked)
    settings = settings_factory(corpus_dir=corpus_copy, ingest_workers=2)
    ensure_index(settings, fake_embedder)
    assert len(build_store(settings).articles()) == 5


class CountingEmbedder(FakeEmbedder):
    """Counts questions embedded."""

    queries = 0

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return super().embed_query(text)


def test_the_server_is_ready_with_a_search_done_so_the_first_question_waits_for_no_load(
    settings_factory: Any, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = CountingEmbedder()
    monkeypatch.setattr(serve, "build_embedder", lambda settings: embedder)
    _, engine = serve.build_app(settings_factory(corpus_dir=corpus_copy))
    assert embedder.queries == 1
    assert engine.retriever.snapshot().size > 0


def test_ensure_index_without_corpus_warns(
    settings_factory: Any, tmp_path: Path, fake_embedder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_factory(corpus_dir=tmp_path / "nowhere")
    with caplog.at_level(logging.WARNING, logger="newsdesk.serve"):
        ensure_index(settings, fake_embedder)
    assert "newsdesk ingest" in caplog.text


class EmptyEngine:
    def summary(self) -> CorpusSummary:
        return CorpusSummary()


def test_empty_index_start_page_says_how_to_fill_it() -> None:
    from ui.app import _start_page  # imports Gradio

    summary, start = _start_page(EmptyEngine())  # type: ignore[arg-type]
    assert summary.articles == 0
    assert "newsdesk ingest" in start and "nd-warn" in start


@pytest.fixture
def served(planted_data: Path, tmp_path: Path) -> Iterator[str]:
    """`newsdesk serve --no-ingest` on the planted index, as a subprocess on loopback."""
    port = free_port()
    script = Path(sys.executable).parent / "newsdesk"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NEWSDESK_API_TOKEN": "tok"}
    command = [str(script), "serve", "--no-ingest", "--port", str(port)]
    url, log_path = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    with (
        log_path.open("w") as log,
        running([*command, "--data-dir", str(planted_data)], log=log, env=env) as proc,
    ):
        try:
            wait_for_url(f"{url}/healthz", proc, timeout=SERVE_TIMEOUT, interval=0.2)
        except (RuntimeError, TimeoutError) as exc:  # the server log says why
            pytest.fail(f"`newsdesk serve` did not come up: {exc}:\n{log_path.read_text()}")
        served_logs[url] = log_path
        yield url


served_logs: dict[str, Path] = {}


def test_serve_says_at_start_who_may_frame_the_chat_and_which_setting_allows_more(
    served: str,
) -> None:
    log = served_logs[served].read_text()
    assert "only pages of this server's own origin may frame /embed" in log
    assert "NEWSDESK_FRAME_ANCESTORS=\"'self' https://wiki.example.com\"" in log


def test_serve_cli_serves_chat_and_api(served: str) -> None:
    health = httpx.get(f"{served}/healthz").json()
    assert health["documents"] == 6 and health["status"] == "ok"
    page = httpx.get(f"{served}/")
    assert page.status_code == 200 and "<gradio-app" in page.text
    assert httpx.get(f"{served}/embed/").status_code == 200
    # The chat's handlers are not callable by name, with or without the API token.
    for path in (
        "/gradio_api/run/respond",
        "/gradio_api/call/respond",
        "/embed/gradio_api/call/respond",
    ):
        refused = httpx.post(
            f"{served}{path}",
            json={"data": [EVIL_QUESTION, None]},
            headers={"Authorization": "Bearer tok"},
        )
        assert refused.status_code == 404, path
    assert httpx.post(f"{served}/api/ask", json={"question": EVIL_QUESTION}).status_code == 401
    answer = httpx.post(
        f"{served}/api/ask",
        json={"question": EVIL_QUESTION},
        headers={"Authorization": "Bearer tok"},
        timeout=60,
    )
    assert answer.status_code == 200 and answer.json()["citations"]
