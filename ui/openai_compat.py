"""Newsdesk as an OpenAI-compatible chat model: `GET /v1/models`, `POST /v1/chat/completions`.

A chat front end that speaks OpenAI's API (Open WebUI, LibreChat, the `openai` package) can use
Newsdesk as a model. The last user message is the question and the earlier ones the
conversation. The reply's text carries the inline citation labels; the sources come as data too:
`citations` (URLs in citation order, as Perplexity's API sends them) and `newsdesk` (the typed
citations with the cited sentence, its passage and support). Streamed replies send the verified
answer only, never a draft that verification might still change.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.engine import Newsdesk
from rag.types import Answer, AnswerMode
from ui.guards import Busy, Gate, valid_unicode
from ui.settings import ServerSettings

OWNER = "newsdesk"
SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+(?!\[)")  # a sentence with its labels


class Message(BaseModel):
    """One chat message; content is text or a list of parts (text only)."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields Newsdesk reads; sampling parameters and the like are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    tools: list[Any] | None = None
    functions: list[Any] | None = None


class Refused(Exception):
    """A request OpenAI's API would refuse: its status, message and the parameter at fault."""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code

    def response(self) -> JSONResponse:
        return openai_error(self.status, str(self), self.param, self.code)


def openai_error(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An error in OpenAI's shape, which its clients turn into typed exceptions."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"message": message, "type": kind, "param": param, "code": code}
    return JSONResponse({"error": body}, status_code=status)


def model_ids(engine: Newsdesk) -> dict[str, AnswerMode | None]:
    """`newsdesk` (the server's default mode) and `newsdesk-<mode>` for each mode it offers."""
    ids: dict[str, AnswerMode | None] = {OWNER: None}
    ids.update({f"{OWNER}-{mode.value}": mode for mode in engine.answerers})
    return ids


def add_openai_routes(app: FastAPI, engine: Newsdesk, settings: ServerSettings, gate: Gate) -> None:
    """/v1/models and /v1/chat/completions on `app` (guarded by `ui.doors.ApiDoor`)."""

    @app.get("/v1/models", tags=["openai"])
    def list_models() -> dict[str, Any]:
        """The models a chat client may pick: one per answer mode."""
        ids = model_ids(engine)
        data = [{"id": i, "object": "model", "created": 0, "owned_by": OWNER} for i in ids]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions", tags=["openai"], response_model=None)
    async def chat_completions(request: Request) -> Any:
        """Answer the last user message, as OpenAI's chat completions API does."""
        try:
            asked = _parse(await request.body(), model_ids(engine), settings)
        except Refused as refused:
            return refused.response()
        if asked.stream:
            return StreamingResponse(_streamed(engine, gate, asked), media_type="text/event-stream")
        try:
            answer = await _answer(engine, gate, asked)
        except Busy as exc:
            return openai_error(503, str(exc), code="server_busy")
        return _completion(asked, answer)


class Asked(BaseModel):
    """A chat request as the engine needs it."""

    id: str
    model: str
    mode: AnswerMode | None
    question: str
    exchanges: list[tuple[str, str]]
    stream: bool
    created: int


def _parse(body: bytes, models: dict[str, AnswerMode | None], settings: ServerSettings) -> Asked:
    try:
        request = ChatRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise Refused(400, f"invalid request: {where}: {first['msg']}", where) from None
    if request.tools or request.functions:
        raise Refused(400, "Newsdesk answers from its articles; it does not call tools", "tools")
    if request.model not in models:
        known = ", ".join(models)
        raise Refused(
            404,
            f"model {request.model!r} does not exist; use one of: {known}",
            "model",
            "model_not_found",
        )
    texts = [(str(m.role), _text(m, i)) for i, m in enumerate(request.messages)]
    return _asked(request, texts, models[request.model], settings)


def _text(message: Message, index: int) -> str:
    if isinstance(message.content, list):
        kinds = {part.get("type") for part in message.content}
        if kinds - {"text"}:
            param = f"messages.{index}.content"
            raise Refused(
                400, "Newsdesk reads text only; images and files are not supported", param
            )
        return "\n".join(str(part.get("text", "")) for part in message.content)
    text = message.content or ""
    if not valid_unicode(text):
        raise Refused(400, "message text holds an unpaired surrogate", f"messages.{index}.content")
    return text


def _asked(
    request: ChatRequest,
    texts: list[tuple[str, str]],
    mode: AnswerMode | None,
    settings: ServerSettings,
) -> Asked:
    said = [(role, text) for role, text in texts if role in ("user", "assistant")]
    if not said or said[-1][0] != "user" or not said[-1][1].strip():
        raise Refused(400, "the last message must be a user message with a question", "messages")
    question = said[-1][1].strip()
    if len(question) > settings.max_question_chars:
        limit = settings.max_question_chars
        raise Refused(
            413,
            f"the question is longer than {limit} characters (NEWSDESK_MAX_QUESTION_CHARS)",
            "messages",
        )
    exchanges = (
        _exchanges(said[:-1])[-settings.max_history_turns :] if settings.max_history_turns else []
    )
    return Asked(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        model=request.model,
        mode=mode,
        question=question,
        exchanges=exchanges,
        stream=request.stream,
        created=int(time.time()),
    )


def _exchanges(said: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(question, answer) pairs: each user message with the assistant reply that follows it."""
    out: list[tuple[str, str]] = []
    for role, text in said:
        if role == "user":
            out.append((text, ""))
        elif out and not out[-1][1]:
            out[-1] = (out[-1][0], text)
    return out


async def _answer(engine: Newsdesk, gate: Gate, asked: Asked) -> Answer:
    from starlette.concurrency import run_in_threadpool

    def work() -> Answer:
        with gate.slot():
            history = engine.recall(asked.exchanges)
            return engine.ask(asked.question, history, None, asked.mode)

    return await run_in_threadpool(work)


def _completion(asked: Asked, answer: Answer) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer.answer}
    return {
        "id": asked.id,
        "object": "chat.completion",
        "created": asked.created,
        "model": asked.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **sources(answer),
    }


def sources(answer: Answer) -> dict[str, Any]:
    """`citations` (URLs in citation order) and `newsdesk` (the typed citations and verdicts)."""
    cited = [
        {
            **c.model_dump(
                mode="json", include={"number", "label", "outlet", "date", "title", "url"}
            ),
            "doc_id": c.doc_id,
            "sentence": c.quote,
            "passage": c.passage,
            "support": c.support,
        }
        for c in answer.citations
    ]
    details = {
        "abstained": answer.abstained,
        "mode": answer.mode,
        "notice": answer.notice,
        "filters": answer.filters.model_dump(mode="json"),
        "citations": cited,
    }
    return {"citations": [c.url or "" for c in answer.citations], "newsdesk": details}


def _streamed(engine: Newsdesk, gate: Gate, asked: Asked) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format; the verified answer a sentence at a time."""
    yield _chunk(asked, {"role": "assistant", "content": ""})
    try:
        with gate.slot():
            history = engine.recall(asked.exchanges)
            final = None
            for event in engine.stream(asked.question, history, None, asked.mode):
                if event.type == "final":
                    final = event.answer
                else:
                    yield ": working\n\n"  # keeps proxies from closing a quiet connection
    except Busy as exc:
        yield _event(
            {"error": {"message": str(exc), "type": "server_error", "code": "server_busy"}}
        )
        yield "data: [DONE]\n\n"
        return
    assert final is not None
    for piece in _pieces(final.answer):
        yield _chunk(asked, {"content": piece})
    yield _chunk(asked, {}, finish="stop", extra=sources(final))
    yield "data: [DONE]\n\n"


def _pieces(text: str) -> list[str]:
    """`text` cut after each sentence, so the pieces join back into it exactly."""
    cuts = [0, *(m.end() for m in SENTENCE_END.finditer(text)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def _chunk(
    asked: Asked,
    delta: dict[str, Any],
    finish: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {
        "id": asked.id,
        "object": "chat.completion.chunk",
        "created": asked.created,
        "model": asked.model,
        "choices": [choice],
        **(extra or {}),
    }
    return _event(body)


def _event(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
