"""Settings of the web server: where it listens, who may use it, and its limits."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr

from index.settings import Group


def _comma_list(value: object) -> object:
    """`a, b,` as ("a", "b"): environment variables carry lists comma-separated."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _origins(value: object) -> object:
    items = _comma_list(value)
    return tuple(str(o).rstrip("/") for o in items) if isinstance(items, tuple) else items


def _networks(value: object) -> object:
    """`127.0.0.1, 10.0.0.0/8` as normalised networks ("127.0.0.1/32", "10.0.0.0/8").

    uvicorn would quietly treat a mistyped address as a name no peer ever has, so a typo must
    fail here instead of leaving the proxy untrusted without a word.
    """
    items = _comma_list(value)
    if not isinstance(items, list | tuple):
        return items
    try:
        return tuple(str(ipaddress.ip_network(str(i), strict=False)) for i in items)
    except ValueError as exc:
        raise ValueError(f"trusted proxies must be IP addresses or CIDR networks: {exc}") from exc


def _credentials(value: object) -> object:
    """`user:pass,user2:pass2` as (user, password) pairs; entries without a colon are ignored."""
    items = _comma_list(value)
    if not isinstance(items, tuple) or not all(isinstance(i, str) for i in items):
        return items
    pairs = (item.partition(":") for item in items)
    return tuple((user, password) for user, sep, password in pairs if sep and user)


Credentials = Annotated[tuple[tuple[str, SecretStr], ...], BeforeValidator(_credentials)]
Origins = Annotated[tuple[str, ...], BeforeValidator(_origins)]
Networks = Annotated[tuple[str, ...], BeforeValidator(_networks)]


class ServerSettings(Group):
    """`newsdesk serve`: address, access control, embedding and request limits."""

    host: str = Field(default="127.0.0.1", description="Address `newsdesk serve` listens on.")
    port: int = Field(default=7860, description="Port `newsdesk serve` listens on.")
    api_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token the API requires; empty = open."
    )
    auth: Credentials = Field(
        default=(), description="UI basic auth as user:password[,user:password]."
    )
    cors_origins: Origins = Field(
        default=(), description="Comma-separated origins allowed by CORS."
    )
    trusted_proxies: Networks = Field(
        default=(),
        description="Comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed; "
        "empty = none.",
    )
    frame_ancestors: str = Field(
        default="'self'", description="CSP frame-ancestors: sites that may embed /embed."
    )
    max_question_chars: int = Field(default=1000, ge=1, description="Longest accepted question.")
    max_request_bytes: int = Field(
        default=2_000_000,
        ge=10_000,
        description="Largest request body any route accepts; a larger one is refused with 413 "
        "before it is read.",
    )
    max_history_turns: int = Field(default=20, ge=0, description="Most history turns accepted.")
    rate_limit_per_minute: int = Field(
        default=120,
        ge=1,
        description="Requests per minute per client: API, chat questions and logins.",
    )
    concurrency: int = Field(default=8, ge=1, description="Questions answered at once.")
    feed_max_articles: int = Field(
        default=100,
        ge=1,
        description="Most articles one request to the feed (POST /api/articles) may send; the "
        "feed is on only when NEWSDESK_API_TOKEN is set.",
    )
