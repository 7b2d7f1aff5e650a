"""Shared fixtures: settings in temp folders, a fake embedder, the seed index, a Chroma server."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.processes import free_port, running, wait_for_port
from rag.types import Passage
from tests.fixtures.requirements import missing

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "newsdesk" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class FakeEmbedder:
    """Deterministic bag-of-words vectors: for tests where the model is beside the point."""

    name = "fake:hash"

    def __init__(self, dim: int = 64, delay: float = 0.0) -> None:
        self.dim = dim
        self.delay = delay
        self.calls = 0
        self.embedded = 0

    def _vector(self, text: str) -> list[float]:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = float(np.linalg.norm(v)) or 1.0
        return (v / n).tolist()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.embedded += len(texts)
        if self.delay:
            time.sleep(self.delay)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether `condition` holds within `seconds` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings pointing at a fresh data folder, with no .env influence."""
    from newsdesk.settings import Settings

    def make(**overrides: object) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "model_cache_dir": MODEL_CACHE,
            "collection": "test",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


MODEL_CACHE = Path(os.environ.get("NEWSDESK_TEST_MODEL_CACHE", Path.home() / ".cache" / "newsdesk"))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The bundled MiniLM model (ONNX for questions, PyTorch for documents)."""
    from index.embedding import make_embedder

    return make_embedder("auto", "", MODEL_CACHE, 64)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # type: ignore[no-untyped-def]
    """Settings of a seed-corpus index built once per session with the real model."""
    from newsdesk.factory import build_ingestor
    from newsdesk.settings import Settings

    data = tmp_path_factory.mktemp("seed-index")
    settings = Settings(_env_file=None, data_dir=data, model_cache_dir=MODEL_CACHE)  # type: ignore[call-arg]
    report = build_ingestor(settings, progress=False, embedder=real_embedder).run(
        [CORPUS], log=lambda m: None
    )
    assert report.ingested == 5
    return settings


@pytest.fixture(scope="session")
def engine(seed_settings, real_embedder):  # type: ignore[no-untyped-def]
    """The answering engine over the seed index."""
    from newsdesk.factory import build_newsdesk

    return build_newsdesk(seed_settings, embedder=real_embedder)


@pytest.fixture(scope="session")
def server_engine(chroma_server, tmp_path_factory: pytest.TempPathFactory, real_embedder):  # type: ignore[no-untyped-def]
    """The answering engine over a seed index kept on a real `chroma run` server."""
    from newsdesk.factory import build_ingestor, build_newsdesk
    from newsdesk.settings import Settings

    host, port = chroma_server
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("unused"),
        model_cache_dir=MODEL_CACHE,
        chroma_host=host,
        chroma_port=port,
        collection="seed",
    )  # type: ignore[call-arg]
    build_ingestor(settings, progress=False, embedder=real_embedder).run(
        [CORPUS], log=lambda m: None
    )
    return build_newsdesk(settings, embedder=real_embedder)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on loopback for the server-mode tests."""
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        missing("the chroma CLI is not installed")  # fails instead on CI
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    command = [str(exe), "run", "--path", str(path / "db"), "--host", "127.0.0.1"]
    with (
        (path / "server.log").open("w") as log,
        running([*command, "--port", str(port)], log=log) as proc,
    ):
        wait_for_port(port, proc=proc)
        yield "127.0.0.1", port


def make_passage(
    text: str,
    doc: str = "d",
    outlet: str | None = "CNN",
    day: date | None = date(2025, 1, 1),
    **fields: Any,
) -> Passage:
    """A retrieved passage holding `text` whole, for tests of what reads passages."""
    base: dict[str, Any] = {"title": doc, "url": None, "start": 0, "end": len(text), "score": 1.0}
    return Passage(
        doc_id=doc, chunk_id=f"{doc}::0", outlet=outlet, date=day, text=text, **(base | fields)
    )
