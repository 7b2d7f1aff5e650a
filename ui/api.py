"""The HTTP API (FastAPI): /api/ask, /api/corpus and /healthz, with the UI mounted alongside.

Gradio is not imported here; `create_app` pulls in `ui.app` only when the UI is wanted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from rag.citations import MARKER
from rag.types import AnswerMode, CitationRef, CorpusSummary, Filters, Health, Turn
from ui.doors import ApiDoor, LoginFirst, RequestLimits
from ui.feed_routes import add_feed_routes
from ui.guards import (
    NOT_UNICODE,
    Busy,
    Gate,
    LoginBackoff,
    LoginThrottle,
    NoGradioApi,
    RateLimiter,
    RefuseInvalidText,
    SecurityHeaders,
    valid_unicode,
)
from ui.openai_compat import add_openai_routes
from ui.responses import AskResponse
from ui.settings import ServerSettings

if TYPE_CHECKING:
    from index.feed import Feed
    from rag.engine import Newsdesk

log = logging.getLogger("newsdesk.api")

MAX_TURN_CHARS = 20_000  # per text field of a history turn (question, answer, retrieval_query)
MAX_TURN_CITATIONS = 50  # citations per history turn
MAX_CITATION_CHARS = 50_000  # one history citation as JSON (a passage sent with it is one chunk)
# Numbers start at 1 and grow by the passages a conversation cites; even the longest history the
# limits allow (20 turns of 50 citations) stays far below this.
MAX_CITATION_NUMBER = 10_000
HEALTH_TTL = 30.0  # seconds /healthz reuses the engine's answer (it probes the LLM endpoint)


class HistoryTurn(Turn):
    """An earlier exchange. Send back each answer's fields unchanged: `filters` (the answer's
    `filters.effective`) and `retrieval_query` are what let a follow-up that names no outlet or
    dates keep the earlier ones; without them a follow-up is searched on its own."""

    question: str = Field(max_length=MAX_TURN_CHARS, description="The earlier question.")
    answer: str = Field(default="", max_length=MAX_TURN_CHARS, description="Its answer text.")
    citations: list[CitationRef] = Field(
        default_factory=list,
        max_length=MAX_TURN_CITATIONS,
        description=f"The answer's citations (keeps citation numbers stable across turns); each "
        f"at most {MAX_CITATION_CHARS} characters as JSON. Their passages need not be sent.",
    )
    filters: Filters | None = Field(
        default=None, description="The filters that answer used: its `filters.effective`."
    )
    retrieval_query: str | None = Field(
        default=None, max_length=MAX_TURN_CHARS, description="The answer's `retrieval_query`."
    )

    @field_validator("citations")
    @classmethod
    def _citations_valid(cls, citations: list[CitationRef]) -> list[CitationRef]:
        # The numbers carry on into the follow-up's numbering (it continues after the highest),
        # so each must be one the server could have given.
        numbers = [c.number for c in citations]
        if len(set(numbers)) != len(numbers):
            raise ValueError("two citations of the turn have the same number")
        for c in citations:
            problem = _citation_problem(c)
            if problem:
                raise ValueError(problem)
        return citations


def _citation_problem(citation: CitationRef) -> str | None:
    """Why a history citation cannot be one of the server's own, or None."""
    number = citation.number
    if not 1 <= number <= MAX_CITATION_NUMBER:
        return f"citation number {number} is outside 1..{MAX_CITATION_NUMBER}"
    found = MARKER.match(citation.marker)  # a label may itself hold "]": check the number only
    if not found or int(found.group(1)) != number:
        return f"citation {number} has marker {citation.marker[:40]!r}, not one for number {number}"
    if _json_chars(citation) > MAX_CITATION_CHARS:
        return f"citation {number} is over {MAX_CITATION_CHARS} characters"
    return None


def _json_chars(model: BaseModel) -> int:
    """Length of `model` as compact JSON. Unlike `model_dump_json` this never encodes the text,
    so a lone surrogate is left for the Unicode check to report where it is."""
    return len(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")))


class AskRequest(BaseModel):
    """A question, optionally with the conversation so far, filters and an answer mode."""

    question: str = Field(
        min_length=1,
        description="The question to answer: at most NEWSDESK_MAX_QUESTION_CHARS characters "
        "(default 1000); longer ones are refused with 413.",
    )
    history: list[HistoryTurn] = Field(
        default_factory=list,
        description="Earlier turns, oldest first, at most NEWSDESK_MAX_HISTORY_TURNS (default 20). "
        "Build each from an answer: `question`, `answer`, `citations`, `retrieval_query`, and "
        "`filters` = the answer's `filters.effective` (what carries filters into follow-ups).",
    )
    filters: Filters | None = Field(default=None, description="Outlet and date-range filters.")
    mode: AnswerMode | None = Field(
        default=None, description="Answer mode; default is the server's NEWSDESK_LLM."
    )


class HealthCache:
    """The engine's health report, reused for `ttl` seconds.

    Each report probes the LLM endpoint (up to seconds), and /healthz needs no token, so probes
    must not be triggerable at will. One caller refreshes at a time; failures are not kept.
    """

    def __init__(
        self,
        probe: Callable[[], Health],
        ttl: float = HEALTH_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe = probe
        self.ttl = ttl
        self.clock = clock
        self._value: Health | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Health:
        """The cached report, refreshed when older than `ttl`; raises what the probe raises."""
        with self._lock:
            now = self.clock()
            if self._value is None or now - self._at >= self.ttl:
                self._value, self._at = self.probe(), now
            return self._value


def _check_limits(body: AskRequest, settings: ServerSettings) -> None:
    if len(body.question) > settings.max_question_chars:
        raise HTTPException(
            413,
            f"question is {len(body.question)} characters; the limit is "
            f"{settings.max_question_chars} (NEWSDESK_MAX_QUESTION_CHARS)",
        )
    if len(body.history) > settings.max_history_turns:
        raise HTTPException(
            422,
            f"history has {len(body.history)} turns; the limit is "
            f"{settings.max_history_turns} (NEWSDESK_MAX_HISTORY_TURNS)",
        )
    if not body.question.strip():
        raise HTTPException(422, "question is blank")


def _check_unicode(body: AskRequest) -> None:
    """A 422 like any validation error when some text in `body` is not valid Unicode.

    Pydantic refuses lone surrogates only in fields with a length limit; elsewhere (an outlet, a
    history citation's passage) they would reach the engine, which cannot encode them.
    """
    found = _invalid_text(body.model_dump())
    if found:
        loc, text = found
        error = {"type": "string_unicode", "loc": ("body", *loc), "msg": NOT_UNICODE, "input": text}
        raise RequestValidationError([error])


def _invalid_text(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    """Where in `value` (dicts and lists) the first string that is not valid Unicode is, and it.

    Walked with a stack rather than recursion, so no nesting can exhaust Python's.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, str) and not valid_unicode(item):
            return loc, item
        if isinstance(item, list | tuple):
            item = dict(enumerate(item))
        if isinstance(item, dict):
            # Reversed, so the first problem in document order is the one reported.
            stack.extend(reversed([((*loc, key), v) for key, v in item.items()]))
    return None


def add_api_routes(app: FastAPI, engine: Newsdesk, settings: ServerSettings, gate: Gate) -> None:
    """/api/ask, /api/corpus and /healthz on `app`."""

    # Sync endpoints run in Starlette's threadpool, so slow answers do not block the event loop.
    @app.post(
        "/api/ask",
        response_model=AskResponse,
        tags=["api"],
        responses={401: {}, 413: {}, 422: {}, 429: {}, 503: {}},
    )
    def ask(
        body: AskRequest,
        include: Literal["passages"] | None = Query(
            default=None,
            description="`passages`: also send each retrieved passage's text, once, in "
            "`retrieved[].text` (citations name their passage by `chunk_id`).",
        ),
    ) -> AskResponse:
        """Answer a question from the corpus; every sentence cites outlet and date."""
        _check_limits(body, settings)
        _check_unicode(body)
        try:
            with gate.slot():
                answer = engine.ask(body.question, body.history, body.filters, body.mode)
        except Busy as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
        return AskResponse.of(answer, passages=include == "passages")

    @app.get(
        "/api/corpus",
        response_model=CorpusSummary,
        tags=["api"],
        responses={401: {}, 429: {}},
    )
    def corpus() -> CorpusSummary:
        """Articles, outlets, date span and every indexed document."""
        return engine.summary()

    _add_health_route(app, HealthCache(engine.health))


def _add_health_route(app: FastAPI, health: HealthCache) -> None:
    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Any:
        """Readiness: 200 once the index can be read, 503 otherwise. Reused for 30 s."""
        try:
            return health.get()
        except Exception as exc:  # any failure means not ready; the reason goes to the log only
            log.warning("health check failed: %s", exc)
            return JSONResponse(
                {"status": "unavailable", "detail": "not ready; see the server log"},
                status_code=503,
            )


def _printable(value: Any) -> Any:
    """`value` with every string made encodable (a lone surrogate becomes the text `\\ud800`)."""
    if isinstance(value, str):
        return value if valid_unicode(value) else value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def validation_detail(errors: Sequence[Any]) -> list[Any]:
    """Validation errors as JSON-safe data, saying plainly when text is not valid Unicode.

    FastAPI's own handler echoes each error's input, and input holding a lone surrogate cannot be
    encoded: the 422 would become a 500 with a traceback.
    """
    detail = _printable(jsonable_encoder(errors))
    for error in detail:
        if isinstance(error, dict) and error.get("type") == "string_unicode":
            error["msg"] = NOT_UNICODE
    return list(detail)


def add_error_handlers(app: FastAPI) -> None:
    """JSON for every error: 422 echoing the invalid input safely, 500 without details."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # JSON like every other error; the details stay in the server log.
        log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def create_app(
    engine: Newsdesk, settings: ServerSettings, *, ui: bool = True, feed: Feed | None = None
) -> FastAPI:
    """The FastAPI app: API routes, the feed (`feed`: None answers that it is off), CORS,
    security headers and (unless `ui=False`) the Gradio pages."""
    app = FastAPI(
        title="Newsdesk API",
        version="0.1.0",
        description="Ask questions about a news corpus; answers cite outlet and date for every sentence.",
    )
    # One gate and one rate limiter for the API and the UI alike.
    gate, limiter = Gate(settings.concurrency), RateLimiter(settings.rate_limit_per_minute)
    add_api_routes(app, engine, settings, gate)
    add_openai_routes(app, engine, settings, gate)
    add_feed_routes(app, feed, settings)
    from ui.mcp_server import add_mcp_routes  # the MCP SDK loads only for a server

    add_mcp_routes(app, engine, settings, gate)

    add_error_handlers(app)
    # Inside CORS, so a refusal carries its headers and preflights never reach it.
    app.add_middleware(
        ApiDoor,
        limiter=limiter,
        token=settings.api_token.get_secret_value(),
        per_minute=settings.rate_limit_per_minute,
    )

    # Added even with no origins: Gradio stands its own CORS handling down only when the app has
    # a CORSMiddleware, and its own one allows every origin, with credentials, on a public host.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["*"],
    )
    if ui:
        from ui.app import mount_ui

        app.add_middleware(NoGradioApi)
        app.add_middleware(RefuseInvalidText)
        if settings.auth:  # without a login there is nothing to guess
            app.add_middleware(LoginFirst)
            app.add_middleware(LoginThrottle, limiter=limiter, backoff=LoginBackoff())
        mount_ui(app, engine, settings, gate, limiter)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    # Outermost: nothing else reads a body the limit refuses.
    app.add_middleware(RequestLimits, max_bytes=settings.max_request_bytes)
    return app
