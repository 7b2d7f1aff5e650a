"""Doors that refuse a request before its body is read: the API's rate limit and bearer token,
the chat queue's login, and the size of every body.

An ASGI middleware rather than a route dependency because FastAPI reads and parses a request's
body before it resolves dependencies: an unauthenticated client could make the server parse
bodies up to the size cap. Here a request without the token is refused before its body is read.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.guards import RateLimiter, bearer_ok, client_key

GUARDED = ("/api/", "/v1/", "/mcp")  # its own API, the OpenAI-compatible one, MCP


class ApiDoor:
    """Rate limit and bearer token for every `/api/`, `/v1/` and `/mcp` route (CORS preflights
    pass).

    The limit is keyed on the client address alone and checked first, so requests with a wrong
    or missing token use up the same allowance: tokens cannot be guessed faster than the limit.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, token: str, per_minute: int) -> None:
        self.app, self.limiter, self.token, self.per_minute = app, limiter, token, per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._guards(scope):
            await self.app(scope, receive, send)
            return
        host = scope["client"][0] if scope.get("client") else None
        wait = self.limiter.check(client_key(host))
        if wait:
            why = f"rate limit of {self.per_minute} requests per minute exceeded; retry later"
            await _refuse(scope, receive, send, 429, why, {"Retry-After": str(int(wait) + 1)})
        elif not bearer_ok(_header(scope, b"authorization"), self.token):
            why = "missing or wrong API token; send 'Authorization: Bearer <token>'"
            await _refuse(scope, receive, send, 401, why, {"WWW-Authenticate": "Bearer"})
        else:
            await self.app(scope, receive, send)

    @staticmethod
    def _guards(scope: Scope) -> bool:
        path = scope.get("path", "")
        return (
            scope["type"] == "http"
            and path.startswith(GUARDED)
            and scope.get("method") != "OPTIONS"
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(
    scope: Scope, receive: Receive, send: Send, code: int, why: str, headers: dict[str, str]
) -> None:
    body: dict[str, object] = {"detail": why}
    if scope.get("path", "").startswith("/v1/"):  # OpenAI's shape, which its clients read
        kind = {401: "invalid_api_key", 413: "request_too_large"}.get(code, "rate_limit_exceeded")
        body = {
            "error": {"message": why, "type": "invalid_request_error", "param": None, "code": kind}
        }
    await JSONResponse(body, status_code=code, headers=headers)(scope, receive, send)


class LoginFirst:
    """With a chat login, a request to the chat's queue that carries no login cookie at all is
    refused before its body is read; Gradio checks a cookie that is there, once the body (capped
    by `RequestLimits`) is parsed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        joining = scope["type"] == "http" and scope.get("path", "").endswith("/queue/join")
        if joining and not _has_login_cookie(_header(scope, b"cookie") or ""):
            why = "Not authenticated: log in on the chat page first"
            await _refuse(scope, receive, send, 401, why, {})
            return
        await self.app(scope, receive, send)


def _has_login_cookie(cookies: str) -> bool:
    """Whether a Cookie header names one of Gradio's login tokens (`access-token-…`)."""
    return any(part.strip().startswith("access-token") for part in cookies.split(";"))


class _TooLarge(HTTPException):
    """A streamed request body passed the limit: a 413 wherever it is raised (FastAPI turns
    other errors met while reading a body into a 400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class RequestLimits:
    """ASGI middleware refusing a body over `max_bytes` with 413 before any route reads it: at
    once when Content-Length says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on with its body counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await _refuse(scope, receive, send, 413, self._too_large(), {})
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen, started = 0, False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge(self._too_large())
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except _TooLarge:
            if not started:
                await _refuse(scope, receive, send, 413, self._too_large(), {})

    def _too_large(self) -> str:
        return f"request body over {self.max_bytes:,} bytes (NEWSDESK_MAX_REQUEST_BYTES)"
