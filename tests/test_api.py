"""The HTTP API against a real index: schema, answers, auth, limits, headers and concurrency,
and the chat's Gradio handlers, which only the pages may call."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser import support
from tests.browser.support import ARTICLES, EVIL_QUESTION, live_server, make_settings
from ui.api import MAX_TURN_CHARS, MAX_TURN_CITATIONS, HealthCache, create_app

QUESTION = "What did the Kremlin say about European peacekeeping troops?"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

planted_data = support.planted_data  # the shared session fixtures
api_engine = support.api_engine


@pytest.fixture(scope="module")
def make_app(api_engine: Any, planted_data: Path) -> Any:
    """An API-only app over the shared engine with some settings changed."""

    def make(**overrides: Any) -> FastAPI:
        return create_app(api_engine, make_settings(planted_data, **overrides).server, ui=False)

    return make


@pytest.fixture(scope="module")
def client(make_app: Any) -> TestClient:
    return TestClient(make_app())


def test_openapi_schema_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/corpus", "/healthz"} <= set(schema["paths"])
    ask = schema["paths"]["/api/ask"]["post"]
    assert ask["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AskResponse"
    )
    assert {"AskResponse", "AskRequest", "CitationRef", "RetrievedPassage", "CorpusSummary"} <= set(
        schema["components"]["schemas"]
    )
    include = next(p for p in ask["parameters"] if p["name"] == "include")
    assert "retrieved[].text" in include["description"]
    assert client.get("/docs").status_code == 200
    # History turns document what a client must send back for filters to carry over.
    schemas = schema["components"]["schemas"]
    history = schemas["AskRequest"]["properties"]["history"]
    assert (
        history["items"]["$ref"].endswith("/HistoryTurn")
        and "filters.effective" in (history["description"])
    )
    turn = schemas["HistoryTurn"]["properties"]
    assert {"question", "answer", "citations", "filters", "retrieval_query"} <= set(turn)
    assert turn["question"]["maxLength"] == MAX_TURN_CHARS
    assert turn["citations"]["maxItems"] == MAX_TURN_CITATIONS
    assert "filters.effective" in turn["filters"]["description"]


def test_ask_returns_citations_with_outlet_and_date(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body["abstained"] and body["mode"] == "extractive"
    assert body["citations"], body
    for c in body["citations"]:
        assert c["outlet"] and DATE.match(c["date"]) and c["marker"] in body["answer"]
        assert c["quote"] and "passage" not in c


def test_a_passage_is_sent_once_and_only_when_asked_for(
    client: TestClient, api_engine: Any
) -> None:
    full = api_engine.ask(QUESTION).model_dump_json()
    lean = client.post("/api/ask", json={"question": QUESTION})
    assert 3 * len(lean.content) <= len(full), (len(lean.content), len(full))
    assert all(p["text"] is None and p["roles"] is None for p in lean.json()["retrieved"])
    body = client.post("/api/ask?include=passages", json={"question": QUESTION}).json()
    texts = {p["chunk_id"]: p["text"] for p in body["retrieved"]}
    assert all(isinstance(p["roles"], list) for p in body["retrieved"])
    for c in body["citations"]:  # each citation's passage is the retrieved one it names
        assert c["quote"] in texts[c["chunk_id"]] and "passage" not in c
    raw = json.dumps(body)
    assert all(raw.count(json.dumps(t)[1:-1]) == 1 for t in texts.values())
    refused = client.post("/api/ask?include=everything", json={"question": QUESTION})
    assert refused.status_code == 422


def test_ask_with_filters_and_follow_up_history(client: TestClient) -> None:
    first = client.post(
        "/api/ask", json={"question": QUESTION, "filters": {"outlet": "Dawn"}}
    ).json()
    assert {c["outlet"] for c in first["citations"]} == {"Dawn"}
    assert first["filters"]["explicit"]["outlet"] == "Dawn"
    turn = {k: first[k] for k in ("question", "answer", "citations", "retrieval_query")}
    turn["filters"] = first["filters"]["effective"]
    follow = client.post(
        "/api/ask", json={"question": "And what about security guarantees?", "history": [turn]}
    )
    assert follow.status_code == 200, follow.text
    assert follow.json()["filters"]["effective"]["outlet"] == "Dawn"  # carried from the history


def test_ask_as_of_a_day_reads_last_week_from_it(client: TestClient) -> None:
    body = {"question": "What did the Kremlin say last week?", "filters": {"as_of": "2025-09-01"}}
    effective = client.post("/api/ask", json=body).json()["filters"]["effective"]
    assert (effective["as_of"], effective["since"]) == ("2025-09-01", "2025-08-25")


def test_date_filter_outside_the_corpus_abstains_with_note(client: TestClient) -> None:
    body = client.post(
        "/api/ask", json={"question": QUESTION, "filters": {"since": "2030-01-01"}}
    ).json()
    assert body["abstained"] and "No articles" in body["filters"]["note"]


def test_corpus_and_healthz(client: TestClient) -> None:
    corpus = client.get("/api/corpus").json()
    assert corpus["articles"] == ARTICLES == len(corpus["documents"])
    assert "Dawn" in corpus["outlets"] and corpus["first_date"] == "2025-08-27"
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["documents"] == ARTICLES and health["index_loaded"]


def test_api_returns_planted_text_as_json_data(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": EVIL_QUESTION})
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" in response.json()["answer"]  # raw data; escaping is the renderer's job


def test_auth_required_when_token_set(make_app: Any) -> None:
    client = TestClient(make_app(api_token="s3cret"))
    body = {"question": QUESTION}
    missing = client.post("/api/ask", json=body)
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (
        client.post("/api/ask", json=body, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert client.get("/api/corpus").status_code == 401
    ok = client.post("/api/ask", json=body, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["citations"]
    assert client.get("/healthz").status_code == 200  # probes need no token


def test_the_token_is_checked_before_the_body_is_parsed(make_app: Any) -> None:
    client = TestClient(make_app(api_token="s3cret"))
    broken = b'{"question": ' + b"[" * 100_000  # parsed, it would be a 422 after real work
    refused = client.post("/api/ask", content=broken, headers={"Content-Type": "application/json"})
    assert refused.status_code == 401
    passed = client.post(
        "/api/ask",
        content=broken,
        headers={"Content-Type": "application/json", "Authorization": "Bearer s3cret"},
    )
    assert passed.status_code in (400, 422)  # with the token, the body is read: broken


def test_a_cors_preflight_needs_no_token(make_app: Any) -> None:
    client = TestClient(make_app(api_token="s3cret", cors_origins="https://news.example"))
    preflight = client.options(
        "/api/ask",
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    refused = client.post("/api/ask", json={}, headers={"Origin": "https://news.example"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "https://news.example"


def test_auth_off_by_default(client: TestClient) -> None:
    assert client.get("/api/corpus").status_code == 200


def test_question_too_long(make_app: Any) -> None:
    client = TestClient(make_app(max_question_chars=50))
    response = client.post("/api/ask", json={"question": "x" * 51})
    assert response.status_code == 413
    assert "limit is 50" in response.json()["detail"]


def test_history_turn_fields_are_bounded(client: TestClient) -> None:
    first = client.post("/api/ask", json={"question": QUESTION}).json()
    turn = {k: first[k] for k in ("question", "answer", "citations", "retrieval_query")}
    turn["filters"] = first["filters"]["effective"]
    follow = {"question": "And what about security guarantees?"}
    assert client.post("/api/ask", json={**follow, "history": [turn]}).status_code == 200
    big = "x" * (MAX_TURN_CHARS + 1)
    citation = first["citations"][0]
    for field, value in [
        ("question", big),
        ("answer", big),
        ("retrieval_query", big),
        ("citations", [citation] * (MAX_TURN_CITATIONS + 1)),
        ("citations", [{**citation, "quote": big * 3}]),
    ]:
        response = client.post("/api/ask", json={**follow, "history": [{**turn, field: value}]})
        assert response.status_code == 422, (field, response.text[:300])
        assert field in json.dumps(response.json()["detail"])


def test_history_too_long_and_blank_question(make_app: Any) -> None:
    client = TestClient(make_app(max_history_turns=2))
    history = [{"question": f"q{i}", "answer": "a"} for i in range(3)]
    response = client.post("/api/ask", json={"question": QUESTION, "history": history})
    assert response.status_code == 422 and "limit is 2" in response.json()["detail"]
    assert client.post("/api/ask", json={"question": "   "}).status_code == 422
    assert client.post("/api/ask", json={"question": ""}).status_code == 422
    assert client.post("/api/ask", json={"question": QUESTION, "mode": "magic"}).status_code == 422


def test_rate_limit_per_client(make_app: Any) -> None:
    app = make_app(rate_limit_per_minute=3)
    client = TestClient(app)
    codes = [client.get("/api/corpus").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/corpus")
    assert (
        "rate limit of 3" in limited.json()["detail"] and int(limited.headers["retry-after"]) >= 1
    )
    # Keyed by address only: other credentials share the bucket, another address has its own.
    other = client.get("/api/corpus", headers={"Authorization": "Bearer other-client"})
    assert other.status_code == 429
    assert TestClient(app, client=("10.0.0.2", 5000)).get("/api/corpus").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_wrong_tokens_use_up_the_rate_limit(make_app: Any) -> None:
    client = TestClient(make_app(rate_limit_per_minute=3, api_token="s3cret"))
    codes = [
        client.get("/api/corpus", headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]  # no fresh allowance per guessed token
    right = client.get("/api/corpus", headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 429  # the address is limited, whatever it sends now


def test_security_headers_and_cors(make_app: Any) -> None:
    client = TestClient(
        make_app(
            cors_origins="https://news.example, https://b.example/",
            frame_ancestors="'self' https://news.example",
        )
    )
    response = client.get("/healthz")
    assert (
        response.headers["content-security-policy"] == "frame-ancestors 'self' https://news.example"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    preflight = {
        "Origin": "https://b.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = client.options("/api/ask", headers=preflight)
    assert allowed.headers.get("access-control-allow-origin") == "https://b.example"
    refused = client.options("/api/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers


def test_ui_pages_carry_the_headers(api_engine: Any, planted_data: Path) -> None:
    client = TestClient(create_app(api_engine, make_settings(planted_data).server))
    for path in ("/", "/embed/", "/gradio.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert client.get("/healthz").status_code == 200  # the UI mount does not shadow the API


def test_twenty_concurrent_requests_on_a_real_server(make_app: Any, api_engine: Any) -> None:
    questions = [
        QUESTION,
        EVIL_QUESTION,
        "What did Peskov say about security guarantees?",
        "Are the Russia-Ukraine peace talks on pause?",
        "What did the Kremlin say about NATO military infrastructure?",
    ]
    expected = {q: api_engine.ask(q).answer for q in questions}
    asks = [questions[i % len(questions)] for i in range(20)]
    with live_server(make_app(concurrency=4)) as server, httpx.Client(timeout=120) as http:

        def ask(question: str) -> tuple[str, int, dict[str, Any]]:
            response = http.post(f"{server.url}/api/ask", json={"question": question})
            return question, response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(ask, asks))
    assert len(results) == 20
    for question, status, body in results:
        assert status == 200, body
        assert body["question"] == question and body["answer"] == expected[question]
        assert body["citations"]


class BrokenEngine:
    """An engine whose index has gone away."""

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("chroma folder vanished")

    def health(self) -> dict[str, Any]:
        raise RuntimeError("chroma folder vanished")


def test_failures_are_json_and_health_turns_unready(planted_data: Path) -> None:
    app = create_app(BrokenEngine(), make_settings(planted_data).server, ui=False)  # type: ignore[arg-type]
    client = TestClient(app, raise_server_exceptions=False)
    failed = client.post("/api/ask", json={"question": QUESTION})
    assert failed.status_code == 500 and failed.json() == {
        "detail": "internal error; see the server log"
    }
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert "vanished" not in health.text  # the reason is logged, not shown to anyone asking


class CountingEngine:
    """An engine whose health check is counted (it probes the LLM endpoint, which is slow)."""

    def __init__(self) -> None:
        self.checks = 0

    def health(self) -> dict[str, Any]:
        self.checks += 1
        return {
            "index_loaded": True,
            "documents": 6,
            "chunks": 9,
            "mode": "llm",
            "llm_reachable": True,
        }


def test_healthz_reuses_the_engine_health_for_a_while(planted_data: Path) -> None:
    engine = CountingEngine()
    client = TestClient(create_app(engine, make_settings(planted_data).server, ui=False))  # type: ignore[arg-type]
    for _ in range(5):
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["llm_reachable"] is True
    assert engine.checks == 1
    now = [0.0]
    cache = HealthCache(engine.health, ttl=30.0, clock=lambda: now[0])
    cache.get()
    now[0] = 29.0
    cache.get()
    assert engine.checks == 2
    now[0] = 30.0
    cache.get()
    assert engine.checks == 3


def test_ui_login_when_auth_set(api_engine: Any, planted_data: Path) -> None:
    client = TestClient(
        create_app(api_engine, make_settings(planted_data, auth="ann:pw1,bob:pw2").server)
    )
    assert client.get("/config").status_code == 401
    assert client.get("/embed/config").status_code == 401
    assert client.post("/login", data={"username": "ann", "password": "nope"}).status_code == 400
    assert client.post("/login", data={"username": "bob", "password": "pw2"}).status_code == 200
    assert client.get("/config").status_code == 200


def _queue_turn(client: TestClient, fn_index: int, data: list[Any], prefix: str = "") -> str:
    """Run one handler the way the page does (join Gradio's queue, read the event stream);
    returns the final transcript HTML."""
    session = uuid.uuid4().hex
    joined = client.post(
        f"{prefix}/gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session},
    )
    assert joined.status_code == 200, joined.text
    with client.stream(
        "GET", f"{prefix}/gradio_api/queue/data", params={"session_hash": session}
    ) as events:
        for line in events.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                assert message["success"], message
                return str(message["output"]["data"][0])
    raise AssertionError("the queue stream ended without a result")


def test_chat_handlers_are_private_and_rate_limited(api_engine: Any, planted_data: Path) -> None:
    settings = make_settings(planted_data, api_token="tok", rate_limit_per_minute=2)
    with TestClient(
        create_app(api_engine, settings.server)
    ) as client:  # `with`: runs Gradio's queue
        for prefix in ("", "/embed"):
            assert client.get(f"{prefix}/gradio_api/info").json()["named_endpoints"] == {}
            deps = client.get(f"{prefix}/config").json()["dependencies"]
            assert deps and {d["api_visibility"] for d in deps} == {"private"}
            for route in ("run", "api", "call", "call/v2"):  # Gradio's call-by-name routes
                refused = client.post(
                    f"{prefix}/gradio_api/{route}/respond",
                    json={"data": [QUESTION, None]},
                    headers={"Authorization": "Bearer tok"},
                )
                assert refused.status_code == 404, (prefix, route, refused.text[:200])
        respond = next(d["id"] for d in deps if d["api_name"] == "respond")  # the embed's
        for _ in range(2):
            assert "nd-cite" in _queue_turn(client, respond, [QUESTION, None], "/embed")
        limited = _queue_turn(client, respond, [QUESTION, None], "/embed")
        assert "Too many questions" in limited and "nd-cite" not in limited
        # The UI and the API draw on one allowance per address.
        corpus = client.get("/api/corpus", headers={"Authorization": "Bearer tok"})
        assert corpus.status_code == 429


@pytest.mark.parametrize(
    "filters",
    [{"as_of": "0001-01-01"}, {"as_of": "9999-12-31"}, {"outlett": "Dawn"}],
)
def test_a_filter_off_the_calendar_or_misspelt_is_a_422_not_a_500(
    client: TestClient, filters: dict[str, str]
) -> None:
    body = {"question": "What did the Kremlin say last week?", "filters": filters}
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422, response.text


def test_a_streamed_body_over_the_limit_is_a_413_from_the_api(make_app: Any) -> None:
    client = TestClient(make_app(max_request_bytes=50_000))

    def body() -> Any:  # no Content-Length: the limit counts what arrives
        yield b'{"question": "' + b"x" * 40_000
        yield b"x" * 40_000 + b'"}'

    response = client.post("/api/ask", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
