"""The answering engine: one object the CLI, the UI and the API all use."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from rag import filters as question_filters
from rag import follow_up
from rag.answerers import Answerer, Reading, Writing, Written
from rag.citations import Numbering
from rag.drafts import Draft, abstain_text, check_citations, closest_articles
from rag.llm import LLMError
from rag.retrieve import Retrieval, Retriever
from rag.settings import AnswerSettings, RetrievalSettings
from rag.support import SupportChecker
from rag.types import (
    Answer,
    AnswerMode,
    AppliedFilters,
    CorpusSummary,
    Filters,
    Health,
    Passage,
    StreamEvent,
    Turn,
)

log = logging.getLogger(__name__)


@dataclass
class Asked:
    """Retrieval for one question: filters, query and passages."""

    question: str
    applied: AppliedFilters
    query: str
    focus: str = ""
    retrieval: Retrieval = field(default_factory=Retrieval)
    notices: list[str] = field(default_factory=list)
    searched: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def passages(self) -> list[Passage]:
        """The passages retrieval found (none before it ran)."""
        return self.retrieval.passages


class Newsdesk:
    """Ask questions of the index; answers cite outlet and date for every sentence."""

    def __init__(
        self,
        retriever: Retriever,
        checker: SupportChecker,
        answer: AnswerSettings,
        retrieval: RetrievalSettings,
        answerers: Mapping[AnswerMode, Answerer],
    ) -> None:
        if AnswerMode.EXTRACTIVE not in answerers:
            raise ValueError("the extractive answerer is required: the others fall back to it")
        self.retriever = retriever
        self.answerers = dict(answerers)
        self.checker = checker
        self.settings = answer
        self.top_k = retrieval.top_k

    @property
    def mode(self) -> AnswerMode:
        """The answer mode questions get unless they ask for another."""
        return self.settings.mode

    # --- public --------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        filters: Filters | None = None,
        mode: AnswerMode | None = None,
    ) -> Answer:
        """Answer a question (optionally in a conversation, within filters)."""
        final: Answer | None = None
        for event in self.stream(question, history, filters, mode):
            if event.type == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        filters: Filters | None = None,
        mode: AnswerMode | None = None,
    ) -> Iterator[StreamEvent]:
        """Answer as events: a status with the filters, text deltas, then the final answer."""
        if not question.strip():
            raise ValueError("the question is empty")
        history = list(history or [])
        answerer, notice = self._choose(mode or self.mode)
        # A follow-up an answerer condenses is retrieved once, after condensing, not also before.
        condense = answerer.condenses and bool(history)
        prep = self._prepare(question.strip(), history, filters or Filters(), search=not condense)
        prep.notices += [notice] if notice else []
        yield StreamEvent(type="status", data={"filters": prep.applied.model_dump(mode="json")})
        if prep.applied.note or (prep.searched and not prep.passages):
            yield from self._final(prep, Draft(), "extractive")
        else:
            yield from self._answer(prep, history, answerer)

    def _choose(self, wanted: AnswerMode) -> tuple[Answerer, str | None]:
        """The answerer to use, and a notice when the wanted one is not configured."""
        if wanted in self.answerers:
            return self.answerers[wanted], None
        configured = next((m for m in self.answerers if m is not AnswerMode.EXTRACTIVE), None)
        return self.answerers[AnswerMode.EXTRACTIVE], (
            f"Answer mode “{wanted}” is not configured here "
            f"(NEWSDESK_LLM={configured or AnswerMode.EXTRACTIVE}); showing the extractive answer."
        )

    def recall(self, exchanges: Sequence[tuple[str, str]]) -> list[Turn]:
        """A conversation known only by its text (question, answer text), as history: each
        earlier question's filters and search query worked out again as they were then, so a
        follow-up keeps its scope for a client that sends back nothing but the messages."""
        turns: list[Turn] = []
        for question, answer in exchanges:
            if not question.strip():
                continue
            prep = self._prepare(question.strip(), turns, Filters(), search=False)
            turns.append(
                Turn(
                    question=question,
                    answer=answer,
                    filters=prep.applied.effective,
                    retrieval_query=prep.query,
                )
            )
        return turns

    def read(self, question: str, filters: Filters | None = None) -> Reading:
        """What an answerer reads for a standalone question: its retrieval within the filters
        (explicit, and read from the question), and its as-of week."""
        prep = self._prepare(question.strip(), [], filters or Filters())
        return self._reading(prep, [])

    def warm(self) -> None:
        """Search once, so the first question does not wait for the query model's first run,
        the vector index's load and the keyword postings' first read."""
        self.retriever.search("What did the government report on the economy?", Filters(), 1)

    def summary(self) -> CorpusSummary:
        """Articles, outlets, date span and per-article metadata of the index."""
        catalogue = self.retriever.catalogue()
        return CorpusSummary.of(catalogue.articles, catalogue.chunks)

    def health(self) -> Health:
        """Readiness: whether the index can be read, article count, LLM reachability."""
        llm = next(
            (a.reachable() for m, a in self.answerers.items() if m is not AnswerMode.EXTRACTIVE),
            None,
        )
        try:
            catalogue = self.retriever.catalogue()
        except Exception as exc:  # the store is unreachable: report it rather than fail
            log.warning("index not readable: %s", exc)
            return Health(index_loaded=False, mode=self.mode, llm_reachable=llm)
        return Health(
            index_loaded=True,
            documents=len(catalogue.articles),
            chunks=catalogue.chunks,
            mode=self.mode,
            llm_reachable=llm,
        )

    # --- retrieval -----------------------------------------------------------------------
    def _prepare(
        self, question: str, history: list[Turn], explicit: Filters, search: bool = True
    ) -> Asked:
        catalogue = self.retriever.catalogue()
        parsed, query, phrases = question_filters.parse_question(
            question, catalogue.outlets, explicit.as_of or catalogue.newest
        )
        applied = AppliedFilters(explicit=explicit, from_question=parsed, understood=phrases)
        prep = Asked(question, applied, query, focus=query)
        if follow_up.is_follow_up(question, history, query):
            prep.query = follow_up.follow_up_query(query, history)
            applied.carried = follow_up.carried_filters(parsed, explicit, history)
        wanted = question_filters.merge(explicit, applied.carried.or_(parsed))
        applied.effective = self._resolve(wanted, catalogue.outlets, applied)
        if applied.carried != Filters() and not self.retriever.matches(applied.effective):
            self._drop_carried(prep, catalogue.outlets, searched=False)
        if not catalogue.chunks:
            applied.note = "The index is empty: run `newsdesk ingest` to add articles."
        elif not applied.note and not self.retriever.matches(applied.effective):
            applied.note = _empty_filter_note(applied.effective, catalogue.dates)
        if not applied.note and search:
            self._search(prep, prep.query)
        return prep

    def _drop_carried(self, prep: Asked, outlets: list[str], searched: bool) -> bool:
        """Search without the filters a conversation carried over, when they left nothing and
        the question's own filters find something; with a notice saying so."""
        applied = prep.applied
        own = self._resolve(
            question_filters.merge(applied.explicit, applied.from_question), outlets, applied
        )
        if not self.retriever.matches(own):
            return False
        prep.notices.append(_dropped_notice(applied.carried, searched))
        applied.carried, applied.effective, applied.note = Filters(), own, None
        return True

    def _widened(self, prep: Asked) -> bool:
        """Searched again without carried filters, when nothing within them answered."""
        if prep.applied.carried == Filters():
            return False
        if not self._drop_carried(prep, self.retriever.catalogue().outlets, searched=True):
            return False
        self._search(prep, prep.query)
        return bool(prep.passages)

    def _search(self, prep: Asked, query: str) -> None:
        found = self.retriever.search(query, prep.applied.effective, self.top_k, prep.focus)
        prep.query, prep.retrieval, prep.searched = query, found, True
        prep.timings.update(found.timings)
        if found.warning:
            prep.notices.append(found.warning)

    def _resolve(self, wanted: Filters, outlets: list[str], applied: AppliedFilters) -> Filters:
        if not wanted.outlet:
            return wanted
        outlet = question_filters.resolve_outlet(wanted.outlet, outlets)
        if outlet is None:
            applied.note = (
                f"No articles from “{wanted.outlet}” are in the corpus; "
                f"its outlets are {', '.join(outlets) or 'none yet'}."
            )
        return wanted.model_copy(update={"outlet": outlet or wanted.outlet})

    # --- answering -----------------------------------------------------------------------
    def _answer(
        self, prep: Asked, history: list[Turn], answerer: Answerer
    ) -> Iterator[StreamEvent]:
        """Retrieval's passages -> the answerer -> the citation check -> the final answer; an
        answerer whose service fails hands the question to the extractive one, with a notice."""
        try:
            if not prep.searched:
                self._search(prep, answerer.standalone(prep.question, history) or prep.query)
                if not prep.passages:
                    yield from self._final(prep, Draft(), answerer.mode)
                    return
            written = yield from self._written(answerer.write(self._reading(prep, history)))
            prep.timings.update(written.timings)
            draft = check_citations(written, prep.passages, self.checker, Numbering(history))
        except LLMError as exc:
            notice = f"The LLM could not answer ({exc}); showing the extractive answer instead."
            prep.notices.append(notice)
            yield StreamEvent(type="status", text=notice, data={"reset": True})
            if not prep.searched:  # condensing failed: retrieve with the follow-up rules' query
                self._search(prep, prep.query)
            yield from self._answer(prep, history, self.answerers[AnswerMode.EXTRACTIVE])
            return
        if not draft.sentences and self._widened(prep):
            yield StreamEvent(type="status", text=prep.notices[-1], data={"reset": True})
            yield from self._answer(prep, history, answerer)
            return
        if written.picks:  # verbatim sentences stream once their citations are numbered
            for sentence in draft.sentences:
                markers = " ".join(draft.citations[n].marker for n in sentence.citations)
                yield StreamEvent(type="delta", text=f"{sentence.text} {markers} ")
        yield from self._final(prep, draft, answerer.mode)

    @staticmethod
    def _written(writing: Writing) -> Generator[StreamEvent, None, Written]:
        """The answerer's text as delta events; returns what it wrote."""
        while True:
            try:
                text = next(writing)
            except StopIteration as stop:
                written: Written = stop.value
                return written
            yield StreamEvent(type="delta", text=text)

    def _reading(self, prep: Asked, history: list[Turn]) -> Reading:
        effective = prep.applied.effective
        return Reading(
            prep.question,
            history,
            prep.retrieval,
            question_filters.as_of_week(effective),
            scoped=not effective.is_empty(),
        )

    def _final(self, prep: Asked, draft: Draft, mode: str) -> Iterator[StreamEvent]:
        abstained = not draft.sentences
        closest = closest_articles(prep.passages) if abstained else []
        text = abstain_text(prep.applied.note, closest) if abstained else draft.text()
        if abstained:
            yield StreamEvent(type="delta", text=text)
        prep.timings["total_ms"] = (time.perf_counter() - prep.started) * 1e3
        answer = Answer(
            question=prep.question,
            answer=text,
            sentences=draft.sentences,
            citations=sorted(draft.citations.values(), key=lambda c: c.number),
            abstained=abstained,
            mode="llm" if mode == "llm" else "extractive",
            notice=" ".join(prep.notices) or None,
            filters=prep.applied,
            retrieval_query=prep.query,
            retrieved=prep.passages,
            closest=closest,
            citation_check=draft.check,
            timings=prep.timings,
        )
        yield StreamEvent(type="final", answer=answer)


def _dropped_notice(carried: Filters, searched: bool) -> str:
    left = "nothing that answers this" if searched else "no articles"
    return (
        f"The filters carried from the previous question ({carried.describe()}) left {left}, "
        "so this answer searched without them."
    )


def _empty_filter_note(effective: Filters, dates: list[date]) -> str:
    span = f" Its articles run from {dates[0]} to {dates[-1]}." if dates else ""
    return f"No articles in the corpus match the filters ({effective.describe()}).{span}"
