"""`/embed` without the trailing slash redirects to the embed view, with the same headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ui.api import create_app
from ui.settings import ServerSettings

ANCESTORS = "'self' https://news.example"


class StubEngine:
    """Just enough engine for the pages to be built: no index, no model."""

    def summary(self) -> dict[str, Any]:
        return {}

    def health(self) -> dict[str, Any]:
        return {"index_loaded": True, "documents": 0, "chunks": 0, "mode": "extractive"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = ServerSettings(frame_ancestors=ANCESTORS)
    return TestClient(create_app(StubEngine(), settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "target"), [("/embed", "/embed/"), ("/embed?lang=en", "/embed/?lang=en")]
)
def test_embed_without_slash_redirects_with_the_csp(
    client: TestClient, path: str, target: str
) -> None:
    redirect = client.get(path, follow_redirects=False)
    assert redirect.status_code in (307, 308)
    assert redirect.headers["location"] == target
    page = client.get("/embed/")
    assert page.status_code == 200
    csp = f"frame-ancestors {ANCESTORS}"
    assert redirect.headers["content-security-policy"] == page.headers["content-security-policy"]
    assert page.headers["content-security-policy"] == csp


def test_following_the_redirect_reaches_the_embed(client: TestClient) -> None:
    response = client.get("/embed")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [307]
    assert str(response.url).endswith("/embed/")
    assert response.headers["content-security-policy"] == f"frame-ancestors {ANCESTORS}"
