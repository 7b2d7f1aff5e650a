"""One chat turn as a stream of view updates, independent of Gradio so it can be tested directly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from index.dates import parse_optional_day
from rag.types import Answer, AnswerMode, AppliedFilters, Filters, StreamEvent, Turn
from ui import render
from ui.guards import Busy, Gate, RateLimiter, client_key

ALL_OUTLETS = "All outlets"
WELCOME = (
    '<div class="nd-welcome"><p>Ask a question about the news in the corpus. Every sentence of '
    "an answer cites its outlet and date; open a citation to read the passage.</p></div>"
)


class Engine(Protocol):
    """The part of `rag.engine.Newsdesk` the UI uses."""

    def stream(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        filters: Filters | None = None,
        mode: AnswerMode | None = None,
    ) -> Iterator[StreamEvent]: ...


# The non-body spans of each cited passage, as a browser keeps them beside an answer.
KEPT_ROLES = TypeAdapter(dict[str, list[tuple[int, int, str]]])


@dataclass
class Conversation:
    """Per-browser-session chat state: history for follow-ups, the rendered transcript, and
    the answers as the browser keeps them (so the conversation survives a reload).

    `roles` holds the non-body spans of every passage cited so far, by chunk id: a kept answer
    has no retrieved passages to read them from, and its cards must open as they first did.
    """

    turns: list[Turn] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    last: Answer | None = None
    roles: dict[str, render.Roles] = field(default_factory=dict)

    def add(self, answer: Answer, inline_sources: bool, keep: int) -> None:
        """One answered turn: its history entry, its rendered exchange, and its kept form
        (without the retrieved passages, which nothing shows, but with the roles of the cited
        ones), the newest `keep` of them."""
        cited = render.passage_roles(answer, self.roles)
        self.roles.update(cited)
        extra = render.inline_sources(answer, self.roles) if inline_sources else ""
        body = render.answer_html(answer, self.roles)
        self.blocks.append(render.exchange(answer.question, body, extra))
        self.turns.append(answer.as_turn())
        form = answer.model_dump(mode="json", exclude={"retrieved"}) | {"roles": cited}
        self.kept = [*self.kept, form][-keep:]
        self.last = answer

    def sources(self) -> str | None:
        """The sources panel of the last answer, or None before the first."""
        return render.sources_list(self.last, kept=self.roles) if self.last else None

    @classmethod
    def restored(
        cls, kept: Any, inline_sources: bool, keep: int, max_question_chars: int = 1000
    ) -> Conversation:
        """The conversation a browser kept; a fresh one if what it kept cannot be read (an
        older format, or edited by hand): everything is rendered again here, never trusted."""
        conversation = cls()
        try:
            answers = [Answer.model_validate(item) for item in kept or []]
            roles = [KEPT_ROLES.validate_python(item.get("roles") or {}) for item in kept or []]
        except (ValidationError, TypeError):
            return conversation
        if any(len(a.question) > max_question_chars for a in answers):
            return conversation  # no question the page could have asked
        for found in roles:
            conversation.roles.update(found)
        for answer in answers[-keep:]:
            conversation.add(answer, inline_sources, keep)
        return conversation


@dataclass
class View:
    """What the page shows after one step of a turn."""

    transcript: str
    sources: str
    filters: str
    status: str
    carried: bool = False  # the answer kept an earlier question's filters: offer to drop them


def parse_filters(
    outlet: str | None, since: str | None, until: str | None, as_of: str | None = None
) -> Filters:
    """Filters from the form; raises ValueError with a readable message on a bad date."""

    start, end = parse_optional_day(since, "“Since”"), parse_optional_day(until, "“Until”")
    if start and end and start > end:
        raise ValueError("“Since” is after “Until”, so no article could match.")
    chosen = None if not outlet or outlet == ALL_OUTLETS else outlet
    asked = parse_optional_day(as_of, "“As of”")
    return Filters(outlet=chosen, since=start, until=end, as_of=asked)


@dataclass
class TurnRunner:
    """Runs questions through the engine and renders each step.

    With a `limiter`, each question that reaches the engine counts against the asking client's
    address, in the same buckets as the HTTP API.
    """

    engine: Engine
    gate: Gate
    max_question_chars: int = 1000
    max_history_turns: int = 20
    inline_sources: bool = False
    limiter: RateLimiter | None = None

    def run(
        self,
        conv: Conversation,
        question: str,
        filters: Filters,
        client: str | None = None,
        carry: bool = True,
    ) -> Iterator[View]:
        """Stream one turn; `conv` gains the turn once its final answer arrives.

        `client` is the asking browser's address, for the rate limit. With `carry` False, the
        filters of the previous question are not carried into this one (its words still are).
        """
        question = question.strip()
        problem = self._problem(question) or self._limited(client)
        if problem:
            yield self._view(conv, render.message(problem, "warn"), question, "", None, "")
            return
        history = conv.turns[-self.max_history_turns :] if self.max_history_turns else []
        if history and not carry:
            history = [*history[:-1], history[-1].model_copy(update={"filters": None})]
        try:
            with self.gate.slot():
                yield from self._stream(conv, question, filters, history)
        except Busy as exc:
            yield self._view(conv, render.message(str(exc), "warn"), question, "", None, "")
        except Exception as exc:  # the page must say what failed rather than hang
            text = f"Sorry, answering failed: {type(exc).__name__}: {exc}".splitlines()[0]
            yield self._view(conv, render.message(text, "error"), question, "", None, "")

    def again(
        self, conv: Conversation, filters: Filters, client: str | None = None
    ) -> Iterator[View]:
        """The last question asked again in its place, without the filters it carried from the
        one before. `conv` changes only once the new answer arrives; a failure leaves it whole."""
        if not conv.turns:
            return
        trial = Conversation(conv.turns[:-1], conv.blocks[:-1], conv.kept[:-1], roles=conv.roles)
        for view in self.run(trial, conv.turns[-1].question, filters, client, carry=False):
            if len(trial.turns) == len(conv.turns):  # answered: it replaces the last exchange
                conv.turns, conv.blocks, conv.kept = trial.turns, trial.blocks, trial.kept
                conv.last = trial.last
            yield view

    def _problem(self, question: str) -> str | None:
        if not question:
            return "Type a question first."
        if len(question) > self.max_question_chars:
            return f"The question is {len(question)} characters; the limit is {self.max_question_chars}."
        return None

    def _limited(self, client: str | None) -> str | None:
        if self.limiter is None:
            return None
        wait = self.limiter.check(client_key(client))
        if not wait:
            return None
        return (
            f"Too many questions from your address (the limit is {self.limiter.per_window} "
            f"a minute); try again in {int(wait) + 1} s."
        )

    def _stream(
        self, conv: Conversation, question: str, filters: Filters, history: list[Turn]
    ) -> Iterator[View]:
        text, applied, status = "", None, render.status_line("searching…", None, 0, 0, None)
        yield self._view(conv, render.streaming_body(""), question, "", applied, status)
        for event in self.engine.stream(question, history, filters):
            if event.type == "status":
                applied, text, status = self._status(event, applied, text, status)
            elif event.type == "delta":
                text += event.text
            elif event.answer is not None:
                yield self._finish(conv, event.answer)
                return
            yield self._view(conv, render.streaming_body(text), question, "", applied, status)

    @staticmethod
    def _status(
        event: StreamEvent, applied: AppliedFilters | None, text: str, status: str
    ) -> tuple[AppliedFilters | None, str, str]:
        if "filters" in event.data:
            applied = AppliedFilters.model_validate(event.data["filters"])
        if event.data.get("reset"):
            text = ""  # the LLM failed mid-answer; its partial text must not stay on screen
        if event.text:
            status = render.status_line("writing…", None, 0, 0, event.text)
        return applied, text, status

    def _finish(self, conv: Conversation, answer: Answer) -> View:
        conv.add(answer, self.inline_sources, self.max_history_turns or 1)
        check = answer.citation_check
        status = render.status_line(
            answer.mode, answer.timings.get("total_ms"), check.passed, check.total, answer.notice
        )
        sources = conv.sources() or ""
        return View(
            render.transcript(conv.blocks, WELCOME),
            sources,
            render.filters_line(answer.filters),
            status,
            carried=answer.filters.carried != Filters(),
        )

    def _view(
        self,
        conv: Conversation,
        body: str,
        question: str,
        sources: str,
        applied: AppliedFilters | None,
        status: str,
    ) -> View:
        pending = render.exchange(question, body) if question else body
        return View(
            render.transcript([*conv.blocks, pending], WELCOME),
            sources,
            render.filters_line(applied) if applied else "",
            status,
        )
