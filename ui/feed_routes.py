"""/api/articles: the feed (`index.feed`) over HTTP, for scripts that send new articles.

On only when the server has an API token (the door in `ui.doors` has checked it before any body
is read); without one it answers 403 saying so.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Body, FastAPI, HTTPException
from pydantic import BaseModel, Field

from index.feed import Feed, UnknownArticle
from index.lease import StoreBusy
from ui.settings import ServerSettings

FEED_OFF = (
    "the feed is off on this server: it takes articles only with NEWSDESK_API_TOKEN set, and only "
    "while it owns its data folder (see its log)"
)


class ArticleOutcome(BaseModel):
    """What became of one sent article."""

    doc_id: str | None = Field(description="Its doc id (None when the record had no text).")
    status: Literal["added", "updated", "unchanged", "refused"]
    reason: str | None = Field(default=None, description="Why it was refused.")


class FeedReply(BaseModel):
    """One outcome per sent article, in the order sent, and their counts."""

    articles: list[ArticleOutcome]
    added: int
    updated: int
    unchanged: int
    refused: int


class Removed(BaseModel):
    """An article removed from the index."""

    doc_id: str
    status: Literal["removed"] = "removed"


ARTICLES = Body(
    description="One article or a list of them, each a JSON object in the fields of JSON-lines "
    "ingest: text (or body, content), and optionally title, outlet, date, url and id. The doc id "
    "is the id, else the url, else one named for the text.",
    examples=[{"url": "https://example.com/a", "title": "…", "outlet": "Wire", "text": "…"}],
)


def add_feed_routes(app: FastAPI, feed: Feed | None, settings: ServerSettings) -> None:
    """POST /api/articles and DELETE /api/articles/{doc_id} on `app`."""

    @app.post("/api/articles", response_model=FeedReply, tags=["feed"], responses=_REFUSALS)
    def send_articles(articles: Any = ARTICLES) -> FeedReply:
        """Add or update articles; each is citable once this returns. A refused record is
        named with its reason and never stops the others."""
        records = articles if isinstance(articles, list) else [articles]
        if not records:
            raise HTTPException(422, "no articles sent")
        if len(records) > settings.feed_max_articles:
            raise HTTPException(
                413,
                f"{len(records)} articles sent; the limit is {settings.feed_max_articles} per "
                "request (NEWSDESK_FEED_MAX_ARTICLES)",
            )
        outcomes = _writing(lambda: _on(feed).add(records))
        counted = {s: sum(o.status == s for o in outcomes) for s in _STATUSES}
        return FeedReply(
            articles=[ArticleOutcome(**o.__dict__) for o in outcomes],
            added=counted["added"],
            updated=counted["updated"],
            unchanged=counted["unchanged"],
            refused=counted["refused"],
        )

    @app.delete(
        "/api/articles/{doc_id:path}", response_model=Removed, tags=["feed"], responses=_REFUSALS
    )
    def remove_article(doc_id: str) -> Removed:
        """Remove one article by doc id (percent-encode a URL id's slashes and colon)."""
        try:
            _writing(lambda: _on(feed).remove(doc_id))
        except UnknownArticle:
            raise HTTPException(404, f"no article has doc id {doc_id!r}") from None
        return Removed(doc_id=doc_id)


_STATUSES = ("added", "updated", "unchanged", "refused")
_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {},
    403: {"description": FEED_OFF},
    404: {},
    413: {},
    422: {},
    429: {},
    503: {},
}


def _on(feed: Feed | None) -> Feed:
    if feed is None:
        raise HTTPException(403, FEED_OFF)
    return feed


def _writing(work: Any) -> Any:
    """Run a write; another writer holding the index is a 503 to retry, not an error."""
    try:
        return work()
    except StoreBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from exc
