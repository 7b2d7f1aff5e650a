"""The typed results the engine returns to the CLI, the UI and the HTTP API."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.dates import parse_day
from index.records import ArticleInfo


class AnswerMode(StrEnum):
    """How answers are written: from the passages' own sentences, or by an LLM endpoint."""

    EXTRACTIVE = "extractive"
    OPENAI = "openai"
    OLLAMA = "ollama"


class Filters(BaseModel):
    """Outlet and date-range restrictions on retrieval."""

    model_config = ConfigDict(extra="forbid")  # a misspelt filter must not be ignored

    outlet: str | None = Field(default=None, description="Outlet name, e.g. 'Dawn'.")
    since: date | None = Field(default=None, description="Earliest publication date.")
    until: date | None = Field(default=None, description="Latest publication date.")
    as_of: date | None = Field(
        default=None,
        description="The day the question is asked from: relative dates ('last week') are read "
        "from it, and articles of the week up to it rank first among equals. It leaves nothing "
        "out; use `until` for that.",
    )

    @field_validator("since", "until", "as_of")
    @classmethod
    def _on_the_calendar(cls, day: date | None) -> date | None:
        # Relative dates ("last week") and the as-of week count days from these.
        return None if day is None else parse_day(day)

    def is_empty(self) -> bool:
        """True when nothing is restricted (`as_of` restricts nothing)."""
        return self.outlet is None and self.since is None and self.until is None

    def or_(self, other: Filters) -> Filters:
        """These filters when any is set (`as_of` included), else `other`."""
        return self if self != Filters() else other

    def describe(self) -> str:
        """A short human description, e.g. 'outlet Dawn, from 2025-09-01'."""
        parts = []
        if self.outlet:
            parts.append(f"outlet {self.outlet}")
        if self.since and self.until and self.since == self.until:
            parts.append(f"on {self.since.isoformat()}")
        else:
            if self.since:
                parts.append(f"from {self.since.isoformat()}")
            if self.until:
                parts.append(f"until {self.until.isoformat()}")
        if self.as_of:
            parts.append(f"as of {self.as_of.isoformat()}")
        return ", ".join(parts) or "none"


class AppliedFilters(BaseModel):
    """The filters used for one question and where each came from."""

    explicit: Filters = Field(default_factory=Filters)
    from_question: Filters = Field(default_factory=Filters)
    effective: Filters = Field(default_factory=Filters)
    understood: list[str] = Field(default_factory=list, description="Phrases read as filters.")
    carried: Filters = Field(
        default_factory=Filters,
        description="Filters carried over from the previous question of the conversation "
        "(a follow-up that names none of its own); empty when none were carried.",
    )
    note: str | None = Field(default=None, description="Why a filter matched nothing, etc.")


class Source(BaseModel):
    """An article that carries a passage (the original or a syndicated copy)."""

    doc_id: str
    chunk_id: str
    outlet: str | None
    date: date | None
    title: str
    url: str | None


class PassageRef(Source):
    """A retrieved chunk's place and scores, without its text."""

    start: int
    end: int
    score: float = Field(description="Fused relevance score.")
    dense: float | None = Field(default=None, description="Cosine similarity to the question.")
    bm25: float | None = Field(default=None, description="BM25 score.")
    also_in: list[Source] = Field(default_factory=list, description="Syndicated copies.")


class Passage(PassageRef):
    """A retrieved chunk with its text and scores."""

    text: str
    roles: list[tuple[int, int, str]] = Field(
        default_factory=list,
        description="Spans of `text` that are not body sentences, found at ingest: headline, "
        "standfirst, heading, caption, byline, note, dateline.",
    )

    def source(self) -> Source:
        """The article reference of this passage, without text or scores."""
        return Source(**self.model_dump(include=set(Source.model_fields)))


class CitationRef(Source):
    """One inline marker and the passage it points at, named by `chunk_id`."""

    number: int
    marker: str = Field(description="The marker as it appears in the answer text.")
    label: str = Field(description="'Outlet, 28 Aug 2025' as shown to the reader.")
    span: tuple[int, int] = Field(description="Passage span in the article's cleaned text.")
    quote: str = Field(default="", description="The passage sentence the answer rests on.")
    quote_span: tuple[int, int] | None = Field(default=None, description="Quote span in passage.")
    support: float = Field(default=1.0, description="Support score of the cited sentence.")
    also_in: list[Source] = Field(default_factory=list)


class Citation(CitationRef):
    """A citation with its passage's text."""

    passage: str


class AnswerSentence(BaseModel):
    """A sentence of the answer and the citation numbers that support it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool = True


class CitationCheck(BaseModel):
    """How the citations of one answer fared in verification."""

    total: int = 0
    passed: int = 0
    repaired: int = 0
    dropped: int = 0
    unsupported_sentences: int = 0


class Turn(BaseModel):
    """A previous exchange in a conversation."""

    question: str
    answer: str = ""
    citations: list[CitationRef] = Field(default_factory=list)
    filters: Filters | None = None
    retrieval_query: str | None = None


class AnswerBase(BaseModel):
    """What every form of an answer holds besides its citations and passages."""

    question: str
    answer: str
    sentences: list[AnswerSentence] = Field(default_factory=list)
    abstained: bool = False
    mode: Literal["extractive", "llm"] = "extractive"
    notice: str | None = Field(default=None, description="Shown to the user, e.g. a fallback.")
    filters: AppliedFilters = Field(default_factory=AppliedFilters)
    retrieval_query: str = ""
    closest: list[Source] = Field(
        default_factory=list, description="Nearest articles when abstaining."
    )
    citation_check: CitationCheck = Field(default_factory=CitationCheck)
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per step.")


class Answer(AnswerBase):
    """Everything about one answered question."""

    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[Passage] = Field(default_factory=list)

    def as_turn(self) -> Turn:
        """This answer as history for a follow-up question."""
        return Turn(
            question=self.question,
            answer=self.answer,
            citations=list[CitationRef](self.citations),
            filters=self.filters.effective,
            retrieval_query=self.retrieval_query,
        )


class StreamEvent(BaseModel):
    """One step of a streamed answer: text deltas, then the final verified answer."""

    type: Literal["status", "delta", "final"]
    text: str = ""
    answer: Answer | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CorpusDocument(BaseModel):
    """One indexed article."""

    doc_id: str
    outlet: str | None = None
    date: dt.date | None = None
    title: str | None = None
    url: str | None = None
    chunks: int = 0


class CorpusSummary(BaseModel):
    """What the index holds: the one listing the API, the chat page and the CLI show."""

    articles: int = 0
    chunks: int = 0
    outlets: list[str] = Field(default_factory=list, description="Most articles first.")
    first_date: date | None = None
    last_date: date | None = None
    documents: list[CorpusDocument] = Field(default_factory=list)

    @classmethod
    def of(cls, articles: Mapping[str, ArticleInfo], chunks: int | None = None) -> CorpusSummary:
        """The listing of these articles, by doc id; `chunks` defaults to their chunk counts'
        sum."""
        docs = [
            CorpusDocument(
                doc_id=doc_id,
                outlet=a.outlet,
                date=a.date,
                title=a.title or None,
                url=a.url,
                chunks=a.chunks,
            )
            for doc_id, a in sorted(articles.items())
        ]
        counts = Counter(d.outlet for d in docs if d.outlet)
        dates = sorted(d.date for d in docs if d.date)
        return cls(
            articles=len(docs),
            chunks=sum(d.chunks for d in docs) if chunks is None else chunks,
            outlets=sorted(counts, key=lambda o: (-counts[o], o)),
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
            documents=docs,
        )


class Health(BaseModel):
    """Readiness of the engine and its index."""

    status: Literal["ok"] = "ok"
    index_loaded: bool
    documents: int = 0
    chunks: int = 0
    mode: str
    llm_reachable: bool | None = None
