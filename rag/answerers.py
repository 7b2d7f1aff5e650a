"""What every answerer is: it reads a question's retrieval and writes an answer to be checked.

The engine runs filters -> retrieval -> answerer -> citation check -> result. An answerer gets a
`Reading` (the question, the conversation and what retrieval found, with the question's weighted
terms) and writes, yielding text as it streams, a `Written`: verbatim sentences with their
passages (extractive), or a reply that cites numbered passages (an LLM). The citation check
(`rag.drafts.check_citations`) turns either into a verified `Draft`.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rag.coverage import Pick
from rag.retrieve import Retrieval
from rag.types import Filters, Passage, Turn

Writing = Generator[str, None, "Written"]  # text deltas as written, then what was written


@dataclass
class Reading:
    """What an answerer reads for one question."""

    question: str
    history: list[Turn]
    retrieval: Retrieval
    week: Filters | None = None  # the as-of week (`rag.filters.as_of_week`), if any
    scoped: bool = False  # whether filters restrict the articles searched


@dataclass
class Written:
    """An answer before its citations are checked; empty when the answerer abstains."""

    picks: list[Pick] = field(default_factory=list)  # verbatim sentences and their passages
    reply: str = ""  # text citing `numbered` passages as [n]
    numbered: dict[int, Passage] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


class Answerer(Protocol):
    """One way of writing answers, chosen per question by its answer mode."""

    @property
    def mode(self) -> Literal["extractive", "llm"]:
        """The answer's mode as reported with it."""
        ...

    @property
    def condenses(self) -> bool:
        """Whether a follow-up is rewritten by `standalone` before retrieval."""
        ...

    def standalone(self, question: str, history: Sequence[Turn]) -> str | None:
        """A follow-up rewritten to stand alone for retrieval (None: the follow-up rules')."""
        ...

    def write(self, reading: Reading) -> Writing:
        """Write the answer, yielding text as it streams; return what was written."""
        ...

    def reachable(self) -> bool | None:
        """Whether the service it writes with answers (None: it needs none)."""
        ...
