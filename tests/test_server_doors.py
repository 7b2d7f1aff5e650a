"""The server's doors: login throttling, proxy headers, uploads, text that is not Unicode,
history citation numbers, and what the README says an embedding wiki must set."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bench.processes import free_port, running, wait_for_url
from newsdesk.serve import proxy_options
from tests.browser import support
from tests.browser.support import make_settings
from tests.conftest import MODEL_CACHE, ROOT
from ui.api import MAX_CITATION_NUMBER, create_app
from ui.guards import LoginBackoff
from ui.settings import ServerSettings

QUESTION = "What did the Kremlin say about European peacekeeping troops?"
SERVE_TIMEOUT = 120.0  # seconds for `newsdesk serve` to load the model and index

planted_data = support.planted_data  # the shared session fixtures
api_engine = support.api_engine


@pytest.fixture(scope="module")
def make_app(api_engine: Any, planted_data: Path) -> Any:
    """The app over the shared engine with some settings changed (`ui=False`: API only)."""

    def make(ui: bool = True, **overrides: Any) -> FastAPI:
        settings = make_settings(planted_data, **overrides).server
        return create_app(api_engine, settings, ui=ui)

    return make


def _login(client: TestClient, password: str, prefix: str = "") -> httpx.Response:
    return client.post(f"{prefix}/login", data={"username": "ann", "password": password})


# Login brute force


def test_repeated_wrong_passwords_are_refused_with_429_even_the_right_one(make_app: Any) -> None:
    client = TestClient(make_app(auth="ann:right"))
    answers = [_login(client, f"guess-{i}") for i in range(30)]
    codes = [r.status_code for r in answers]
    assert codes[:3] == [400, 400, 400]  # a few honest typos cost nothing
    assert set(codes[3:]) == {429}, codes
    assert int(answers[3].headers["retry-after"]) == 1  # the first wait is one second
    assert all(int(r.headers["retry-after"]) >= 1 for r in answers[3:])
    assert _login(client, "right").status_code == 429  # a guess that happens to be right, too
    # The embed's login is the same door, counted for the same address.
    assert _login(client, "right", "/embed").status_code == 429
    other = TestClient(client.app, client=("10.0.0.9", 5000))
    assert _login(other, "right", "/embed").status_code == 200


def test_login_back_off_grows_per_failure_and_success_clears_it() -> None:
    clock = [0.0]
    backoff = LoginBackoff(clock=lambda: clock[0])  # the middleware's policy, on a test clock
    for _ in range(backoff.free):
        assert backoff.attempt("a") == 0.0
    waits = []
    for _ in range(4):
        waits.append(backoff.attempt("a"))
        clock[0] += waits[-1]
        assert backoff.attempt("a") == 0.0  # allowed once the wait is over (and fails again)
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert backoff.attempt("b") == 0.0  # per client
    backoff.succeeded("a")
    assert [backoff.attempt("a") for _ in range(backoff.free)] == [0.0] * backoff.free
    assert backoff.delay(100) == backoff.longest
    clock[0] += backoff.forget  # a client idle long enough starts afresh
    assert backoff.attempt("a") == 0.0


def test_login_succeeds_after_the_back_off_wait_and_resets_the_count(make_app: Any) -> None:
    client = TestClient(make_app(auth="ann:right"))
    assert [_login(client, "nope").status_code for _ in range(3)] == [400, 400, 400]
    assert _login(client, "right").status_code == 429
    time.sleep(1.05)  # the first wait is one second
    assert _login(client, "right").status_code == 200
    assert [_login(client, "nope").status_code for _ in range(3)] == [400, 400, 400]


def test_login_attempts_count_against_the_shared_rate_limit(make_app: Any) -> None:
    client = TestClient(make_app(auth="ann:right", rate_limit_per_minute=3))
    assert [_login(client, "right").status_code for _ in range(3)] == [200, 200, 200]
    assert _login(client, "right").status_code == 429
    assert client.get("/api/corpus").status_code == 429  # one allowance per address


def test_no_login_throttle_without_a_login(make_app: Any) -> None:
    client = TestClient(make_app())
    # Gradio redirects a login to the page when there is no login; it is never refused.
    codes = {_login(client, "x").status_code for _ in range(6)}
    assert 429 not in codes


# Proxy headers


def test_proxy_headers_are_trusted_from_no_one_by_default() -> None:
    assert proxy_options(ServerSettings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    server = ServerSettings(trusted_proxies="127.0.0.1, 10.0.0.0/8 ,::1")
    assert server.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert proxy_options(server) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["127.0.0.1/32", "10.0.0.0/8", "::1/128"],
    }


def test_a_mistyped_trusted_proxy_is_refused() -> None:
    with pytest.raises(ValueError, match="IP addresses or CIDR"):
        ServerSettings(trusted_proxies="127.0.0.1,proxy.internal")


@contextmanager
def _serve(data: Path, tmp_path: Path, **env: str) -> Iterator[str]:
    """`newsdesk serve --no-ingest` on the planted index, with extra NEWSDESK_* variables."""
    port = free_port()
    script = Path(sys.executable).parent / "newsdesk"
    extra = {f"NEWSDESK_{k.upper()}": v for k, v in env.items()}
    full_env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "NEWSDESK_MODEL_CACHE_DIR": str(MODEL_CACHE),
        **extra,
    }
    command = [str(script), "serve", "--no-ingest", "--port", str(port), "--data-dir", str(data)]
    url, log_path = f"http://127.0.0.1:{port}", tmp_path / f"serve-{port}.log"
    with log_path.open("w") as log, running(command, log=log, env=full_env) as proc:
        try:
            wait_for_url(f"{url}/healthz", proc, timeout=SERVE_TIMEOUT, interval=0.2)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"`newsdesk serve` did not come up: {exc}:\n{log_path.read_text()}")
        yield url


def _corpus_codes(url: str, forwarded: list[str | None]) -> list[int]:
    with httpx.Client(timeout=30) as http:
        return [
            http.get(f"{url}/api/corpus", headers={"X-Forwarded-For": f} if f else None).status_code
            for f in forwarded
        ]


def test_rotating_forwarded_for_does_not_escape_the_rate_limit(
    planted_data: Path, tmp_path: Path
) -> None:
    with _serve(planted_data, tmp_path, rate_limit_per_minute="3") as url:
        assert _corpus_codes(url, [None] * 4) == [200, 200, 200, 429]
        rotating = [f"10.0.0.{n}" for n in range(1, 11)]
        assert set(_corpus_codes(url, rotating)) == {429}  # the header is not believed


def test_a_trusted_proxy_s_forwarded_address_is_the_client(
    planted_data: Path, tmp_path: Path
) -> None:
    env = {"rate_limit_per_minute": "3", "trusted_proxies": "127.0.0.1"}
    with _serve(planted_data, tmp_path, **env) as url:
        one = _corpus_codes(url, ["10.0.0.1"] * 4)
        assert one == [200, 200, 200, 429]
        # Another client behind the proxy has its own allowance...
        assert _corpus_codes(url, ["10.0.0.2"]) == [200]
        # ...and a client cannot pick one by prepending: the proxy appends the real address.
        assert _corpus_codes(url, ["10.0.0.77, 10.0.0.1"]) == [429]


# Uploads


def test_uploads_are_refused_and_store_nothing(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    client = TestClient(make_app())
    for prefix in ("", "/embed"):
        for route in ("upload", "upload_progress", "process_recording"):
            refused = client.post(
                f"{prefix}/gradio_api/{route}",
                files={"files": ("big.bin", b"\0" * 1_000_000, "application/octet-stream")},
            )
            assert refused.status_code == 404, (prefix, route, refused.text[:200])
        assert client.get(f"{prefix}/gradio_api/upload_progress?upload_id=x").status_code == 404
    stored = tmp_path / "gradio"
    assert not stored.exists() or not any(stored.rglob("*.bin"))
    assert client.get("/").status_code == 200 and client.get("/embed/").status_code == 200


# Text that is not valid Unicode


def _post_json(client: TestClient, body: dict[str, Any]) -> httpx.Response:
    # json.dumps writes a lone surrogate as the escape "\ud800", as a hostile client would.
    return client.post(
        "/api/ask", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


@pytest.fixture(scope="module")
def api(make_app: Any) -> TestClient:
    return TestClient(make_app(ui=False), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def first_answer(api: TestClient) -> dict[str, Any]:
    response = api.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _turn(earlier: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A history turn built from an earlier answer, as a client sends it, with some changes."""
    turn = {k: earlier[k] for k in ("question", "answer", "citations", "retrieval_query")}
    return {**turn, "filters": earlier["filters"]["effective"], **changes}


def test_a_lone_surrogate_is_a_422_not_a_500(api: TestClient, first_answer: dict[str, Any]) -> None:
    bad = "peace \ud800 talks"
    citation = {**first_answer["citations"][0], "quote": bad}
    for body, where in [
        ({"question": bad}, "question"),
        ({"question": QUESTION, "filters": {"outlet": bad}}, "filters.outlet"),
        ({"question": QUESTION, "history": [_turn(first_answer, answer=bad)]}, "history.0.answer"),
        (
            {"question": QUESTION, "history": [_turn(first_answer, citations=[citation])]},
            "history.0.citations.0.quote",
        ),
        # Beside another error (no question) FastAPI echoes the whole body, surrogate included.
        ({"history": [{"question": bad}]}, "history.0.question"),
    ]:
        response = _post_json(api, body)
        assert response.status_code == 422, (where, response.text[:300])
        errors = {".".join(map(str, e["loc"][1:])): e for e in response.json()["detail"]}
        assert where in errors, errors
        assert errors[where]["msg"].startswith("Text is not valid Unicode"), errors
        assert errors[where]["input"] == "peace \\ud800 talks"  # shown as an escape


def test_a_surrogate_pair_is_ordinary_text(api: TestClient) -> None:
    response = _post_json(api, {"question": f"{QUESTION} \U0001f54a"})
    assert response.status_code == 200, response.text[:300]


def _join_queue(client: TestClient, prefix: str, data: list[Any]) -> httpx.Response:
    """Ask the page's `respond` handler through Gradio's queue, the body JSON-escaped as a
    script would send it."""
    deps = client.get(f"{prefix}/config").json()["dependencies"]
    respond = next(d["id"] for d in deps if d["api_name"] == "respond")
    body = {"data": data, "fn_index": respond, "session_hash": uuid.uuid4().hex}
    return client.post(
        f"{prefix}/gradio_api/queue/join",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def test_a_lone_surrogate_in_the_chat_is_a_422_not_a_broken_stream(make_app: Any) -> None:
    with TestClient(make_app()) as client:  # `with`: runs Gradio's queue
        for prefix, data in [
            ("/embed", ["peace \ud800 talks", None]),
            ("", [QUESTION, "Dawn\udfff", "", "", None]),  # a dropdown value Gradio echoes
        ]:
            refused = _join_queue(client, prefix, data)
            assert refused.status_code == 422, refused.text[:300]
            assert "not valid Unicode" in refused.json()["detail"]
        # Well-formed text still joins the queue (the body is passed on intact).
        joined = _join_queue(client, "/embed", [f"{QUESTION} \U0001f54a", None])
        assert joined.status_code == 200 and joined.json()["event_id"]


# History citation numbers


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": -5}, "outside 1..10000"),
        ({"number": 0}, "outside 1..10000"),
        ({"number": MAX_CITATION_NUMBER + 1}, "outside 1..10000"),
        ({"marker": "[9: Dawn, 1 Sep 2025]"}, "not one for number"),
        ({"marker": "Dawn"}, "not one for number"),
    ],
)
def test_history_citation_numbers_are_validated(
    api: TestClient, first_answer: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    citation = {**first_answer["citations"][0], **change}
    if "number" in change and "marker" not in change:
        citation["marker"] = f"[{change['number']}: {citation['label']}]"
    history = [_turn(first_answer, citations=[citation])]
    response = api.post(
        "/api/ask", json={"question": "And security guarantees?", "history": history}
    )
    assert response.status_code == 422, response.text[:300]
    assert message in json.dumps(response.json()["detail"])


def test_history_citation_numbers_are_distinct_within_a_turn(
    api: TestClient, first_answer: dict[str, Any]
) -> None:
    citation = first_answer["citations"][0]
    twin = {**citation, "chunk_id": "other::0"}
    history = [_turn(first_answer, citations=[citation, twin])]
    response = api.post(
        "/api/ask", json={"question": "And security guarantees?", "history": history}
    )
    assert response.status_code == 422 and "same number" in response.text


def test_new_citations_number_on_from_a_valid_history(
    api: TestClient, first_answer: dict[str, Any]
) -> None:
    citation = {**first_answer["citations"][0], "chunk_id": "elsewhere::0"}
    citation.update(number=40, marker=f"[40: {citation['label']}]")
    history = [_turn(first_answer, citations=[citation])]
    response = api.post("/api/ask", json={"question": QUESTION, "history": history})
    assert response.status_code == 200, response.text[:300]
    numbers = [c["number"] for c in response.json()["citations"]]
    assert numbers and min(numbers) == 41  # after the highest number in the history


# Cross-origin embedding


def _readme_embedding_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Embedding in a wiki")
    return readme[start : readme.index("### HTTP API", start)]


def test_the_web_component_needs_the_wiki_origin_in_cors(make_app: Any) -> None:
    origin = {"Origin": "https://wiki.example"}
    closed = TestClient(make_app(auth="ann:right"))
    assert _login(closed, "right").status_code == 200
    assert _login(closed, "right", "/embed").status_code == 200
    for path in ("/gradio.js", "/config", "/embed/config"):
        # Gradio's own CORS would let any site read the chat with the visitor's login cookie.
        refused = closed.get(path, headers=origin)
        assert refused.status_code == 200, path
        assert "access-control-allow-origin" not in refused.headers, path
        assert "access-control-allow-credentials" not in refused.headers, path
    opened = TestClient(make_app(cors_origins="https://wiki.example"))
    for path in ("/gradio.js", "/embed/config"):  # the loader, then the component's data
        response = opened.get(path, headers=origin)
        assert response.headers.get("access-control-allow-origin") == "https://wiki.example"
    # ...so the README's example says so rather than calling the setting optional.
    section = _readme_embedding_section()
    component = section[section.index("web component") :]
    assert 'NEWSDESK_CORS_ORIGINS="https://wiki.example' in component


def test_the_readme_explains_running_behind_a_reverse_proxy() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "### Behind a reverse proxy" in readme
    proxy = readme[readme.index("### Behind a reverse proxy") :]
    assert "NEWSDESK_TRUSTED_PROXIES" in proxy[:2000]
    assert "all clients share the proxy's address" not in readme


def test_with_a_login_the_chat_queue_refuses_a_client_without_one_before_reading_its_body(
    make_app: Any,
) -> None:
    with TestClient(make_app(auth="ann:right")) as client:
        broken = b'{"data": ' + b"[" * 100_000  # parsed, it would be a 422 after real work
        for prefix in ("", "/embed"):
            refused = client.post(
                f"{prefix}/gradio_api/queue/join",
                content=broken,
                headers={"Content-Type": "application/json"},
            )
            assert refused.status_code == 401, refused.text[:200]
        assert _login(client, "right").status_code == 200  # sets Gradio's login cookie
        parsed = client.post(
            "/gradio_api/queue/join", content=broken, headers={"Content-Type": "application/json"}
        )
        assert parsed.status_code != 401  # logged in: the body is read (and found broken)
