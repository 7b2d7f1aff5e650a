"""Newsdesk as an OpenAI-compatible model, driven by the `openai` package against a real
`newsdesk serve` on loopback (issue 28)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.browser import support
from tests.fixtures.serving import newsdesk_serving
from ui.openai_compat import _pieces

planted_data = support.planted_data  # the shared session fixture

TOKEN = "tok"
QUESTION = "How long did the last face-to-face session in Istanbul last?"


@pytest.fixture(scope="module")
def served(planted_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("openai") / "serve.log"
    with newsdesk_serving(
        planted_data, log_path, NEWSDESK_API_TOKEN=TOKEN, NEWSDESK_RATE_LIMIT_PER_MINUTE="100000"
    ) as url:
        yield url


@pytest.fixture
def client(served: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served}/v1", api_key=TOKEN, max_retries=0)


def _ask(client: openai.OpenAI, *messages: dict[str, Any], **extra: Any) -> Any:
    return client.chat.completions.create(model="newsdesk", messages=list(messages), **extra)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_the_models_are_the_answer_modes_the_server_offers(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert ids == {"newsdesk", "newsdesk-extractive"}  # no LLM endpoint is configured here


def test_an_answer_carries_its_labels_in_the_text_and_its_citations_as_data(
    client: openai.OpenAI,
) -> None:
    reply = _ask(client, user(QUESTION), temperature=0.2, top_p=0.9, max_tokens=300)
    text = reply.choices[0].message.content
    assert "40 minutes" in text and reply.choices[0].finish_reason == "stop"
    details = reply.model_extra["newsdesk"]
    first = details["citations"][0]
    assert f"[{first['number']}: {first['label']}]" in text  # the inline label, as in the chat
    assert first["sentence"] in first["passage"] and first["support"] >= 0.5
    assert first["outlet"] and first["date"] and not details["abstained"]
    assert reply.model_extra["citations"] == [c["url"] or "" for c in details["citations"]]


def test_a_streamed_answer_is_the_same_answer_with_its_sources_in_the_last_chunk(
    client: openai.OpenAI,
) -> None:
    question = user("What did the Kremlin say about European peacekeeping troops?")
    whole = _ask(client, question).choices[0].message.content
    chunks = list(_ask(client, question, stream=True))
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == whole and pieces == _pieces(whole)
    assert len(pieces) > 1  # a sentence at a time, not one lump
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["newsdesk"]["citations"] and last.model_extra["citations"]


def test_a_follow_up_across_two_turns_keeps_the_earlier_outlet_and_says_so(
    client: openai.OpenAI,
) -> None:
    first = user("According to Dawn, how many households were left without power?")
    earlier = _ask(client, first).choices[0].message.content
    later = _ask(
        client,
        {"role": "system", "content": "You are a helpful assistant."},
        first,
        {"role": "assistant", "content": earlier},
        user("And what did Zelensky say?"),
    )
    filters = later.model_extra["newsdesk"]["filters"]
    assert filters["carried"]["outlet"] == "Dawn" and filters["effective"]["outlet"] == "Dawn"
    assert all(c["outlet"] == "Dawn" for c in later.model_extra["newsdesk"]["citations"])


def test_every_surface_refuses_a_client_without_the_token(served: str) -> None:
    anonymous = openai.OpenAI(base_url=f"{served}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()
    with pytest.raises(openai.AuthenticationError):
        _ask(anonymous, user(QUESTION))
    refused = httpx.post(f"{served}/v1/chat/completions", json={})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"model": "gpt-4o"}, openai.NotFoundError),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, openai.BadRequestError),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:,"}}],
                    }
                ]
            },
            openai.BadRequestError,
        ),
        ({"messages": [{"role": "assistant", "content": "hello"}]}, openai.BadRequestError),
    ],
)
def test_what_newsdesk_cannot_do_is_refused_in_openais_shape(
    client: openai.OpenAI, extra: dict[str, Any], error: type[Exception]
) -> None:
    request: dict[str, Any] = {"model": "newsdesk", "messages": [user(QUESTION)], **extra}
    with pytest.raises(error) as raised:
        client.chat.completions.create(**request)
    assert raised.value.body["message"]  # type: ignore[attr-defined]


def test_streamed_pieces_join_back_into_the_answer() -> None:
    text = "One [1: Dawn, 27 Aug 2025]. Two? Three. [2: Reuters, 1 Jan 2025]\n\nFour"
    pieces = _pieces(text)
    assert "".join(pieces) == text and len(pieces) == 4
    assert pieces[2] == "Three. [2: Reuters, 1 Jan 2025]\n\n"  # a sentence keeps its label


def test_the_python_example_in_the_docs_runs(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "assistants.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S)
    assert code is not None
    source = code.group(1).replace("http://127.0.0.1:7860", served)
    exec(source.replace("YOUR NEWSDESK_API_TOKEN", TOKEN), {})
    printed = capsys.readouterr().out
    assert "40 minutes" in printed and re.search(r"^1 \S.* 2025-\d\d-\d\d ", printed, re.M)
