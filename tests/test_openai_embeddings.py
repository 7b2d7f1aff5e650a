"""The OpenAI-compatible embedding backend against a real loopback server."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.embedding import EmbeddingError, OpenAIEmbedder
from index.settings import EmbeddingSettings
from newsdesk.factory import embed_ahead
from tests.fixtures.openai_server import ScriptedOpenAI


def test_documents_are_embedded_through_the_endpoint_as_unit_vectors() -> None:
    with ScriptedOpenAI(dimensions=16) as server:
        embedder = OpenAIEmbedder(server.base_url, "instant")
        vectors = np.array(embedder.embed_documents(["one", "two", "one"]))
        assert vectors.shape == (3, 16)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
        assert np.allclose(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
        assert np.allclose(embedder.embed_query("two"), vectors[1])


def test_one_http_client_serves_every_request() -> None:
    with ScriptedOpenAI(dimensions=8) as server:
        embedder = OpenAIEmbedder(server.base_url, "instant")
        embedder.embed_documents(["a"])
        first = embedder._http()
        embedder.embed_documents(["b"])
        assert embedder._http() is first


def test_an_unreachable_endpoint_names_the_setting_to_fix() -> None:
    with ScriptedOpenAI() as server:
        url = server.base_url
    with pytest.raises(EmbeddingError, match="NEWSDESK_EMBED_BASE_URL"):
        OpenAIEmbedder(url, "instant", timeout=2).embed_documents(["x"])


def test_vectors_travel_as_base64_and_equal_the_json_floats() -> None:
    with ScriptedOpenAI(dimensions=16) as server:
        vectors = OpenAIEmbedder(server.base_url, "instant").embed_documents(["one", "two"])
        assert server.embedding_formats == ["base64"]
        floats = server.embeddings(["one", "two"])["data"]
    assert np.allclose(vectors, [d["embedding"] for d in floats], atol=1e-4)


def test_an_endpoint_that_refuses_base64_is_asked_for_floats_from_then_on() -> None:
    with ScriptedOpenAI(dimensions=16, encodings=("float",)) as server:
        embedder = OpenAIEmbedder(server.base_url, "instant")
        first = embedder.embed_documents(["one"])
        second = embedder.embed_documents(["one"])
    assert np.allclose(first, second)
    assert server.embedding_formats == ["base64", None, None]


def test_requests_in_flight_when_an_endpoint_refuses_base64_are_all_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    together = threading.Barrier(4, timeout=10)
    post = OpenAIEmbedder._post

    def sent_together(self: OpenAIEmbedder, texts: list[str], base64: bool) -> object:
        if base64:  # the first request of each thread: all four leave before any reply
            together.wait()
        return post(self, texts, base64)

    monkeypatch.setattr(OpenAIEmbedder, "_post", sent_together)
    with ScriptedOpenAI(dimensions=16, encodings=("float",)) as server:
        embedder = OpenAIEmbedder(server.base_url, "instant")
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(embedder.embed_documents, [[f"text {i}"] for i in range(4)]))
    assert [len(v) for v in got] == [1, 1, 1, 1]
    assert Counter(server.embedding_formats) == {"base64": 4, None: 4}


def test_an_ingest_keeps_several_requests_in_flight_only_to_an_endpoint() -> None:
    endpoint = EmbeddingSettings(embed_backend="openai", embed_concurrency=3)
    assert embed_ahead(endpoint) == 3
    assert embed_ahead(EmbeddingSettings(embed_concurrency=3)) == 1  # a model in this process
