"""Request guards shared by the HTTP API and the chat UI: token auth, rate limit, concurrency gate,
login throttling, the security headers every response carries, and the block on Gradio's
call-by-name and upload routes."""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Busy(RuntimeError):
    """No answering slot became free in time."""


class Gate:
    """Bounds how many questions the engine answers at once, across the API and the UI."""

    def __init__(self, slots: int, wait_seconds: float = 60.0) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self.wait_seconds = wait_seconds

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one answering slot; raises `Busy` when none frees up within `wait_seconds`."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise Busy("the server is answering too many questions; try again shortly")
        try:
            yield
        finally:
            self._slots.release()


class RateLimiter:
    """Sliding-window request limit per client key, kept in memory (one process)."""

    def __init__(
        self, per_minute: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_window = per_minute
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def check(self, key: str) -> float:
        """Record a request; 0.0 if allowed, else the seconds until the next one would be."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.per_window:
                return max(0.001, self.window - (now - hits[0]))
            hits.append(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        # Forget idle clients once a window so the table cannot grow without bound.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        idle = [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]
        for key in idle:
            del self._hits[key]


def client_key(host: str | None) -> str:
    """Rate-limit key: the client address alone.

    Credentials are deliberately left out: keying on them would give every guessed token a
    fresh bucket. The address is the connecting peer's, or the forwarded client's when the peer
    is one of NEWSDESK_TRUSTED_PROXIES (uvicorn rewrites it before the app sees the request).
    """
    return host or "unknown"


NOT_UNICODE = (
    "Text is not valid Unicode: it holds a lone surrogate (\\ud800-\\udfff), which cannot be "
    "encoded as UTF-8"
)


def valid_unicode(text: str) -> bool:
    """Whether `text` can be encoded as UTF-8.

    JSON escapes can spell lone surrogates (`"\\ud800"`): Python keeps them in a str, but no
    tokenizer, index or JSON encoder downstream accepts them.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bearer_ok(authorization: str | None, expected: str) -> bool:
    """Whether an Authorization header carries the expected bearer token (constant time)."""
    if not expected:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), expected)


class NoGradioApi:
    """ASGI middleware refusing Gradio's direct-call and upload routes.

    The pages talk to their handlers only through Gradio's queue (`…/gradio_api/queue/…`); the
    direct routes (`…/gradio_api/run|api|call/…`) would let scripts call a handler by name, and
    the upload routes (`…/gradio_api/upload`, its progress and audio processing) would store any
    file of any size though no page has a file input. All of them answer 404 instead.
    """

    blocked = re.compile(
        r"(^|/)gradio_api/(run|api|call|upload|upload_progress|process_recording)(/|$)"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """404 for the refused routes; everything else passes through."""
        if scope["type"] == "http" and self.blocked.search(scope["path"]):
            response = JSONResponse({"detail": "Not Found"}, status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RefuseInvalidText:
    """ASGI middleware answering 422 when a question sent through Gradio's queue
    (`POST …/gradio_api/queue/join`) holds text that is not valid Unicode.

    Gradio echoes some inputs in its errors (a dropdown value not among the choices) and streams
    the outputs as JSON; either would fail to encode a lone surrogate, breaking the page's event
    stream with a traceback in the log instead of an answer.
    """

    path = re.compile(r"(^|/)gradio_api/queue/join/?$")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a queue join's body and refuse it, or pass it on unchanged."""
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and self.path.search(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        messages = await _read_body(receive)
        if not _json_text_is_valid(b"".join(m.get("body", b"") for m in messages)):
            response = JSONResponse({"detail": NOT_UNICODE}, status_code=422)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read_body(receive: Receive) -> list[Message]:
    """Every message of a request's body, up to its last part or a disconnect."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` giving `messages` again, then whatever the client sends next."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _json_text_is_valid(body: bytes) -> bool:
    """False when `body` is JSON holding a lone surrogate; other bodies are Gradio's to judge."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return True
    return valid_unicode(json.dumps(value, ensure_ascii=False))


class LoginBackoff:
    """Per-client back-off after consecutive failed logins, kept in memory (one process).

    The first `free` failures wait for nothing; after that each attempt must wait `base` seconds,
    doubling per further failure up to `longest`. An attempt is counted as failed when it starts
    and cleared only by a success, so parallel guesses cannot slip past before their answers
    arrive. A client idle for `forget` seconds starts afresh, keeping the table bounded.
    """

    def __init__(
        self,
        free: int = 3,
        base: float = 1.0,
        longest: float = 300.0,
        forget: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base, self.longest, self.forget = free, base, longest, forget
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # key: (consecutive failures, last try)
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def delay(self, failures: int) -> float:
        """Seconds a client with `failures` consecutive failures waits after its last attempt."""
        if failures < self.free:
            return 0.0
        return float(min(self.base * 2 ** (failures - self.free), self.longest))

    def attempt(self, key: str) -> float:
        """Start an attempt: 0.0 if allowed (it counts as failed until `succeeded`), else the
        seconds until one would be."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            failures, last = self._failures.get(key, (0, now))
            if now - last >= self.forget:
                failures = 0
            wait = last + self.delay(failures) - now
            if wait > 0:
                return wait
            self._failures[key] = (failures + 1, now)
            return 0.0

    def succeeded(self, key: str) -> None:
        """A login succeeded: the client's failures are forgotten."""
        with self._lock:
            self._failures.pop(key, None)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self.forget:
            return
        self._last_sweep = now
        idle = [k for k, (_, last) in self._failures.items() if now - last >= self.forget]
        for key in idle:
            del self._failures[key]


class LoginThrottle:
    """ASGI middleware guarding Gradio's login (`POST …/login`, under every mount).

    Each attempt counts against the per-client `limiter` the API and chat share, then against the
    client's `backoff`; a refused attempt gets 429 with Retry-After and never reaches Gradio,
    which answers 200 for a good password and 400 for a bad one.
    """

    path = re.compile(r"(^|/)login/?$")

    def __init__(self, app: ASGIApp, limiter: RateLimiter, backoff: LoginBackoff) -> None:
        self.app = app
        self.limiter = limiter
        self.backoff = backoff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass on a login attempt, recording whether it succeeded."""
        if not self._is_login(scope):
            await self.app(scope, receive, send)
            return
        key = client_key(scope["client"][0] if scope.get("client") else None)
        wait = self.limiter.check(key) or self.backoff.attempt(key)
        if wait:
            response = JSONResponse(
                {"detail": "too many login attempts; retry later"},
                status_code=429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
            await response(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.backoff.succeeded(key)
            await send(message)

        await self.app(scope, receive, watch)

    def _is_login(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and bool(self.path.search(scope["path"]))
        )


class SecurityHeaders:
    """ASGI middleware adding CSP frame-ancestors and nosniff to every HTTP response.

    Pure ASGI rather than BaseHTTPMiddleware so Gradio's streamed (SSE) responses pass through
    untouched.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", f"frame-ancestors {frame_ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                # Several CSP headers are all enforced, so ours is always added; the others
                # are only added when the response lacks them.
                extra = [
                    (n, v)
                    for n, v in self.headers
                    if n == b"content-security-policy" or n not in names
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
