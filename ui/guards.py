"""Request guards shared by the HTTP API and the chat UI: token auth, rate limit, concurrency gate,
the security headers every response carries, and the block on Gradio's call-by-name routes."""

from __future__ import annotations

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
    fresh bucket. Behind a reverse proxy every request shares the proxy's address.
    """
    return host or "unknown"


def bearer_ok(authorization: str | None, expected: str) -> bool:
    """Whether an Authorization header carries the expected bearer token (constant time)."""
    if not expected:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), expected)


class NoGradioApi:
    """ASGI middleware refusing Gradio's direct-call routes (`…/gradio_api/run|api|call/…`).

    The pages talk to their handlers only through Gradio's queue (`…/gradio_api/queue/…`); the
    direct routes would let scripts call a handler by name, so they answer 404 instead.
    """

    blocked = re.compile(r"(^|/)gradio_api/(run|api|call)(/|$)")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """404 for the direct-call routes; everything else passes through."""
        if scope["type"] == "http" and self.blocked.search(scope["path"]):
            response = JSONResponse({"detail": "Not Found"}, status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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
