"""What `/api/ask` returns: each passage once, and its text only when asked for."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rag.types import Answer, AnswerBase, CitationRef, PassageRef


class RetrievedPassage(PassageRef):
    """A passage the answer was written from."""

    text: str | None = Field(
        default=None, description="The passage's text: sent with `?include=passages`."
    )
    roles: list[tuple[int, int, str]] | None = Field(
        default=None,
        description="Spans of `text` that are not body sentences (headline, standfirst, "
        "heading, caption, byline, dateline): sent with `?include=passages`.",
    )


class AskResponse(AnswerBase):
    """An answer as the API returns it.

    A citation names its passage by `chunk_id`: the entry of `retrieved` with that id. Each
    citation carries the sentence it rests on (`quote`); the passages' texts come once, in
    `retrieved[].text`, with `?include=passages`.
    """

    citations: list[CitationRef] = Field(default_factory=list)
    retrieved: list[RetrievedPassage] = Field(default_factory=list)

    @classmethod
    def of(cls, answer: Answer, passages: bool = False) -> AskResponse:
        """The API's form of `answer`, with the passages' texts when `passages`."""
        leave_out: dict[str, Any] = {"citations": {"__all__": {"passage"}}}
        if not passages:
            leave_out["retrieved"] = {"__all__": {"text", "roles"}}
        return cls.model_validate(answer.model_dump(exclude=leave_out))
