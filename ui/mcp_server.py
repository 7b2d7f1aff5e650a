"""Newsdesk as an MCP server: tools an assistant calls to ask the news archive, search it and see
what it holds, over stdio (`newsdesk mcp`) or streamable HTTP at `/mcp` on `newsdesk serve`.

Answers are the engine's verified answers: each cited sentence comes with its outlet, date,
passage and support score, so an assistant can quote sources rather than paraphrase them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from rag.engine import Newsdesk
from rag.filters import resolve_outlet
from rag.types import Answer, Filters
from ui.guards import Busy, Gate
from ui.settings import ServerSettings

INSTRUCTIONS = (
    "Newsdesk answers questions from a corpus of news articles. Use `ask` for a question and "
    "quote its answer with the inline labels ([1: Outlet, 27 Aug 2025]) as given; use `search` "
    "to read passages yourself; use `corpus` to see which outlets and dates it covers. An "
    "answer with abstained=true means the articles do not answer the question: say so."
)
Outlet = Annotated[
    str | None, Field(description="Only articles from this outlet (as `corpus` lists it).")
]
Since = Annotated[dt.date | None, Field(description="Only articles from this day on (YYYY-MM-DD).")]
Until = Annotated[dt.date | None, Field(description="Only articles up to this day (YYYY-MM-DD).")]
AsOf = Annotated[
    dt.date | None,
    Field(description="Answer as of this day: only articles up to it, 'today' meaning it."),
]


class CitedSource(BaseModel):
    """One citation of an answer: where its sentence comes from and how well it is supported."""

    number: int = Field(description="The number in the answer's inline label.")
    label: str = Field(description="'Outlet, 27 Aug 2025', as the inline label shows it.")
    outlet: str | None
    date: dt.date | None
    title: str | None
    url: str | None
    doc_id: str
    sentence: str = Field(description="The passage sentence the answer's sentence rests on.")
    passage: str = Field(description="The passage the citation points at.")
    support: float = Field(description="Support of the cited sentence by the passage, 0 to 1.")


class AskResult(BaseModel):
    """A verified answer."""

    answer: str = Field(description="The answer, each sentence with its inline citation label.")
    abstained: bool = Field(description="True when the articles do not answer the question.")
    notice: str | None = Field(description="Anything the reader should know, e.g. a fallback.")
    filters: dict[str, Any] = Field(description="The filters applied, and where each came from.")
    citations: list[CitedSource]


class FoundPassage(BaseModel):
    """A passage found by `search`."""

    doc_id: str
    chunk_id: str
    outlet: str | None
    date: dt.date | None
    title: str | None
    url: str | None
    text: str
    score: float = Field(description="Fused relevance: higher is closer to the query.")


class SearchResult(BaseModel):
    """Passages, most relevant first."""

    passages: list[FoundPassage]


class OutletCount(BaseModel):
    outlet: str
    articles: int


class CorpusResult(BaseModel):
    """What the archive holds."""

    articles: int
    outlets: list[OutletCount] = Field(description="Most articles first.")
    first_date: dt.date | None
    last_date: dt.date | None


class NewsTools:
    """The tools, over one engine; `gate` bounds how many questions are answered at once."""

    def __init__(self, engine: Newsdesk, gate: Gate) -> None:
        self.engine, self.gate = engine, gate

    def ask(
        self,
        question: Annotated[str, Field(description="The question, in plain words.")],
        outlet: Outlet = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
    ) -> AskResult:
        """Answer a question from the news articles. Every sentence of the answer carries an
        inline label naming the outlet and date it comes from, checked against its passage."""
        if not question.strip():
            raise ToolError("the question is empty: ask something about the news")
        filters = self._filters(outlet, since, until, as_of)
        with self._slot():
            return _ask_result(self.engine.ask(question, None, filters))

    def search(
        self,
        query: Annotated[str, Field(description="What to look for.")],
        outlet: Outlet = None,
        since: Since = None,
        until: Until = None,
        k: Annotated[int, Field(ge=1, le=20, description="How many passages (1-20).")] = 5,
    ) -> SearchResult:
        """Find passages of news articles about a query, with their outlet, date and URL."""
        if not query.strip():
            raise ToolError("the query is empty: say what to look for")
        filters = self._filters(outlet, since, until, None)
        with self._slot():
            found = self.engine.retriever.search(query, filters, k).passages
        return SearchResult(passages=[FoundPassage(**p.model_dump()) for p in found])

    def corpus(self) -> CorpusResult:
        """Which outlets the archive holds, how many articles of each, and the dates it spans."""
        summary = self.engine.summary()
        counts: dict[str, int] = {}
        for doc in summary.documents:
            counts[doc.outlet or "unknown"] = counts.get(doc.outlet or "unknown", 0) + 1
        outlets = [OutletCount(outlet=o, articles=n) for o, n in counts.items()]
        outlets.sort(key=lambda c: (-c.articles, c.outlet))
        return CorpusResult(
            articles=summary.articles,
            outlets=outlets,
            first_date=summary.first_date,
            last_date=summary.last_date,
        )

    def _filters(
        self,
        outlet: str | None,
        since: dt.date | None,
        until: dt.date | None,
        as_of: dt.date | None,
    ) -> Filters:
        if since and until and since > until:
            raise ToolError(f"since ({since}) is after until ({until}); swap them")
        named = None
        if outlet:
            outlets = self.engine.retriever.catalogue().outlets
            named = resolve_outlet(outlet, outlets)
            if named is None:
                known = ", ".join(outlets[:12]) + (", …" if len(outlets) > 12 else "")
                raise ToolError(f"no outlet {outlet!r} in the archive; it holds: {known}")
        return Filters(outlet=named, since=since, until=until, as_of=as_of)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        try:
            with self.gate.slot():
                yield
        except Busy as exc:
            raise ToolError(str(exc)) from exc


def _ask_result(answer: Answer) -> AskResult:
    cited = [
        CitedSource(
            number=c.number,
            label=c.label,
            outlet=c.outlet,
            date=c.date,
            title=c.title,
            url=c.url,
            doc_id=c.doc_id,
            sentence=c.quote,
            passage=c.passage,
            support=c.support,
        )
        for c in answer.citations
    ]
    return AskResult(
        answer=answer.answer,
        abstained=answer.abstained,
        notice=answer.notice,
        filters=answer.filters.model_dump(mode="json"),
        citations=cited,
    )


def build_mcp(engine: Newsdesk, gate: Gate) -> MCPServer:
    """The MCP server with Newsdesk's three tools."""
    server = MCPServer(name="newsdesk", title="Newsdesk", instructions=INSTRUCTIONS)
    tools = NewsTools(engine, gate)
    server.add_tool(tools.ask, name="ask", title="Ask the news archive")
    server.add_tool(tools.search, name="search", title="Search news passages")
    server.add_tool(tools.corpus, name="corpus", title="What the news archive holds")
    return server


def add_mcp_routes(app: FastAPI, engine: Newsdesk, settings: ServerSettings, gate: Gate) -> None:
    """Streamable HTTP at `/mcp` on `app` (guarded by `ui.doors.ApiDoor`), its session manager
    running for the app's life."""
    server = build_mcp(engine, gate)
    http = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,  # each call stands alone: nothing to keep between requests
        json_response=True,
        max_request_body_size=settings.max_request_bytes,
        host=settings.host,  # loopback keeps the SDK's DNS-rebinding guard
    )
    app.router.routes.extend(http.routes)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        async with server.session_manager.run(), outer(running) as state:
            yield state

    app.router.lifespan_context = lifespan
