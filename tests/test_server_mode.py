"""The same code against a real `chroma run` server, as a team shares one index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsdesk.factory import build_ingestor, build_newsdesk
from tests.conftest import CORPUS

pytestmark = pytest.mark.server


def test_ingest_and_ask_through_a_chroma_server(
    chroma_server, settings_factory, real_embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    host, port = chroma_server
    settings = settings_factory(chroma_host=host, chroma_port=port, collection="server-a")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_19c6ca84e65b3e46.txt", "001_c81ca98ac9a2360a.txt", "manifest.yaml"):
        shutil.copy(CORPUS / name, corpus / name)
    report = build_ingestor(settings, progress=False, embedder=real_embedder).run(
        [corpus], log=lambda m: None
    )
    assert report.ingested == 2
    assert not (settings.data_dir / "chroma").exists()  # nothing embedded locally

    engine = build_newsdesk(settings, embedder=real_embedder)
    engine.retriever.live.poll_seconds = 0
    assert "Sumy" in engine.ask("Where was equipment at a key substation hit?").answer
    before = engine.ask("How long did the last Istanbul session last?")
    assert "40 minutes" not in before.answer

    # Another process (here: another client) adds an article; the running engine notices.
    shutil.copy(CORPUS / "002_6d94b88d2c9cad8b.txt", corpus)
    again = build_ingestor(settings, progress=False, embedder=real_embedder).run(
        [corpus], log=lambda m: None
    )
    assert again.added == ["002_6d94b88d2c9cad8b"] and len(again.unchanged) == 2
    after = engine.ask("How long did the last Istanbul session last?")
    assert "40 minutes" in after.answer
    ids = [p.chunk_id for p in engine.ask("Peskov security guarantees").retrieved]
    assert len(ids) == len(set(ids))
    assert engine.summary().articles == 3


def test_unreachable_chroma_server_is_one_clear_line(settings_factory) -> None:  # type: ignore[no-untyped-def]
    from bench.processes import free_port
    from index.store import StoreError
    from newsdesk.factory import build_store

    settings = settings_factory(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(
        StoreError, match=r"cannot open the Chroma server at 127.0.0.1:\d+ .*chroma run"
    ):
        build_store(settings)
