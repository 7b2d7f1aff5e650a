"""The answering engine: one object the CLI, the UI and the API all use."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from index.chunking import count_tokens
from index.dates import format_day
from rag import chat
from rag import filters as question_filters
from rag.answer import (
    ABSTAIN_TOKEN,
    Draft,
    abstain_text,
    closest_articles,
    extractive_draft,
    llm_draft,
)
from rag.answerer import AnswerModel, Evidence, answerable, candidates, choose_ranked
from rag.citations import Numbering, SupportChecker
from rag.extractive import Pick, choose, score_sentences
from rag.llm import ChatModel, LLMError
from rag.prompts import render
from rag.retrieve import Retriever
from rag.settings import AnswerSettings, RetrievalSettings
from rag.types import (
    Answer,
    AnswerMode,
    AppliedFilters,
    Filters,
    Passage,
    StreamEvent,
    Turn,
)

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Retrieval for one question: filters, query and passages."""

    question: str
    applied: AppliedFilters
    query: str
    focus: str = ""
    passages: list[Passage] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    searched: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Newsdesk:
    """Ask questions of the index; answers cite outlet and date for every sentence."""

    def __init__(
        self,
        retriever: Retriever,
        checker: SupportChecker,
        answer: AnswerSettings,
        retrieval: RetrievalSettings,
        llm: ChatModel | None = None,
        answerer: AnswerModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer  # None: sentences chosen by word coverage alone
        self.checker = checker
        self.settings = answer
        self.top_k = retrieval.top_k
        self.llm = llm

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
        chosen, notice = self._choose_mode(mode or self.mode)
        # An LLM follow-up is retrieved once, after the LLM condensed it, not also before.
        condense = chosen is not AnswerMode.EXTRACTIVE and bool(history)
        prep = self._prepare(question.strip(), history, filters or Filters(), search=not condense)
        prep.notices += [notice] if notice else []
        yield StreamEvent(type="status", data={"filters": prep.applied.model_dump(mode="json")})
        if prep.applied.note or (prep.searched and not prep.passages):
            yield from self._final(prep, Draft(), "extractive")
        elif chosen is not AnswerMode.EXTRACTIVE:
            yield from self._stream_llm(prep, history)
        else:
            yield from self._stream_extractive(prep, history)

    def _choose_mode(self, wanted: AnswerMode) -> tuple[AnswerMode, str | None]:
        """The answer mode to use, and a notice when the wanted one is not configured."""
        if wanted is AnswerMode.EXTRACTIVE or (self.llm is not None and self.llm.kind == wanted):
            return wanted, None
        configured = self.llm.kind if self.llm else AnswerMode.EXTRACTIVE
        return AnswerMode.EXTRACTIVE, (
            f"Answer mode “{wanted}” is not configured here (NEWSDESK_LLM={configured}); "
            "showing the extractive answer."
        )

    def warm(self) -> None:
        """Search once, so the first question does not wait for the query model's first run,
        the vector index's load and the keyword postings' first read (about 1 s at 5k articles)."""
        self.retriever.search("What did the government report on the economy?", Filters(), 1)

    def summary(self) -> dict[str, Any]:
        """Articles, outlets, date span and per-article metadata of the index."""
        catalogue = self.retriever.catalogue()
        docs = [
            {
                "doc_id": a.doc_id,
                "outlet": a.outlet,
                "date": a.date.isoformat() if a.date else None,
                "title": a.title or None,
                "url": a.url,
                "chunks": a.chunks,
            }
            for _, a in sorted(catalogue.articles.items())
        ]
        dates = catalogue.dates
        return {
            "articles": len(docs),
            "chunks": catalogue.chunks,
            "outlets": catalogue.outlets,
            "first_date": dates[0].isoformat() if dates else None,
            "last_date": dates[-1].isoformat() if dates else None,
            "documents": docs,
        }

    def health(self) -> dict[str, Any]:
        """Readiness: whether the index can be read, article count, LLM reachability."""
        llm = None if self.llm is None else self.llm.reachable()
        try:
            catalogue = self.retriever.catalogue()
        except Exception as exc:  # the store is unreachable: report it rather than fail
            log.warning("index not readable: %s", exc)
            return {
                "index_loaded": False,
                "documents": 0,
                "chunks": 0,
                "mode": self.mode,
                "llm_reachable": llm,
            }
        return {
            "index_loaded": True,
            "documents": len(catalogue.articles),
            "chunks": catalogue.chunks,
            "mode": self.mode,
            "llm_reachable": llm,
        }

    # --- retrieval -----------------------------------------------------------------------
    def _prepare(
        self, question: str, history: list[Turn], explicit: Filters, search: bool = True
    ) -> Prepared:
        catalogue = self.retriever.catalogue()
        parsed, query, phrases = question_filters.parse_question(
            question, catalogue.outlets, explicit.as_of or catalogue.newest
        )
        applied = AppliedFilters(explicit=explicit, from_question=parsed, understood=phrases)
        focus = query
        if chat.is_follow_up(question, history):
            parsed = chat.carried_filters(parsed, history)
            query = chat.follow_up_query(query, history)
        prep = Prepared(question, applied, query, focus)
        wanted = question_filters.merge(explicit, parsed)
        applied.effective = self._resolve(wanted, catalogue.outlets, applied)
        if not catalogue.chunks:
            applied.note = "The index is empty: run `newsdesk ingest` to add articles."
        elif not applied.note and not self.retriever.matches(applied.effective):
            applied.note = _empty_filter_note(applied.effective, catalogue.dates)
        if not applied.note and search:
            self._search(prep, query)
        return prep

    def _search(self, prep: Prepared, query: str) -> None:
        found = self.retriever.search(query, prep.applied.effective, self.top_k)
        prep.query, prep.passages, prep.searched = query, found.passages, True
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
    def _stream_extractive(self, prep: Prepared, history: list[Turn]) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        focus = self.retriever.terms(prep.focus)
        context = self.retriever.terms(prep.query) if prep.query != prep.focus else []
        if not focus and not context and prep.applied.effective.is_empty():
            # Nothing asked and nothing to scope by ("What is it?"): there is no answer to give.
            yield from self._final(prep, Draft(), "extractive")
            return
        # A follow-up wants something new: skip sentences earlier turns already gave, if possible.
        said = " ".join(turn.answer for turn in history) if context else ""
        # The model learned from standalone questions: follow-ups, and questions of filters
        # alone, keep the choice by word coverage, which weighs carried-over words for them.
        if self.answerer is not None and focus and not context:
            chosen = self._learned_choice(self._evidence(prep, focus))
        else:
            chosen = self._heuristic_choice(focus, context, prep.passages, said)
        prep.timings["compose_ms"] = (time.perf_counter() - t0) * 1e3
        if not chosen:
            yield from self._final(prep, Draft(), "extractive")
            return
        draft = extractive_draft(chosen, prep.passages, Numbering(history))
        for sentence in draft.sentences:
            markers = " ".join(draft.citations[n].marker for n in sentence.citations)
            yield StreamEvent(type="delta", text=f"{sentence.text} {markers} ")
        yield from self._final(prep, draft, "extractive")

    def _heuristic_choice(
        self, focus: list[str], context: list[str], passages: list[Passage], said: str
    ) -> list[Pick]:
        """Sentences by word coverage (also what answers a question of filters alone)."""
        picks = score_sentences(
            focus, passages, self.retriever.tokenize, self.retriever.weight, context
        )
        limit = self.settings.answer_sentences
        return choose([p for p in picks if p.text not in said], limit) or choose(picks, limit)

    def _learned_choice(self, evidence: Evidence) -> list[Pick]:
        """Sentences by the answer model, or none when no sentence covers enough of the question."""
        assert self.answerer is not None
        found = candidates(evidence, self.retriever.tokenize, self.retriever.weight)
        if not answerable(found):
            return []
        best = choose_ranked(self.answerer.rank(found), self.settings.answer_sentences)
        return [Pick(c.text, c.passage, c.coverage, c.score) for c in best]

    def evidence(self, question: str, filters: Filters | None = None) -> Evidence:
        """What the extractive answerer reads for a standalone question (used for training)."""
        prep = self._prepare(question.strip(), [], filters or Filters())
        return self._evidence(prep, self.retriever.terms(prep.focus))

    def _evidence(self, prep: Prepared, focus: list[str]) -> Evidence:
        week = question_filters.as_of_week(prep.applied.effective)
        return Evidence(prep.question, focus, prep.passages, week)

    def _stream_llm(self, prep: Prepared, history: list[Turn]) -> Iterator[StreamEvent]:
        assert self.llm is not None
        try:
            if not prep.searched:
                self._condensed(prep, history)
            if not prep.passages:
                yield from self._final(prep, Draft(), "llm")
                return
            numbered = self._fit(prep)
            system = render(
                "answer_system",
                max_sentences=self.settings.answer_sentences,
                abstain_token=ABSTAIN_TOKEN,
            )
            user = render(
                "answer_user",
                question=prep.question,
                passages=[
                    {
                        "number": n,
                        "outlet": p.outlet or "unknown outlet",
                        "date": format_day(p.date),
                        "title": p.title,
                        "text": p.text,
                    }
                    for n, p in numbered.items()
                ],
            )
            t0 = time.perf_counter()
            pieces: list[str] = []
            for delta in self.llm.stream(system, user):
                pieces.append(delta)
                yield StreamEvent(type="delta", text=delta)
            prep.timings["llm_ms"] = (time.perf_counter() - t0) * 1e3
            reply = "".join(pieces).strip()
            if not reply:
                raise LLMError("the LLM returned an empty reply")
            if reply.startswith(ABSTAIN_TOKEN):
                yield from self._final(prep, Draft(), "llm")
                return
            draft = llm_draft(reply, numbered, prep.passages, self.checker, Numbering(history))
            if not any(s.supported for s in draft.sentences):
                raise LLMError("none of the LLM's sentences is supported by the passages")
            yield from self._final(prep, draft, "llm")
        except LLMError as exc:
            notice = f"The LLM could not answer ({exc}); showing the extractive answer instead."
            prep.notices.append(notice)
            yield StreamEvent(type="status", text=notice, data={"reset": True})
            if not prep.searched:  # condensing failed: retrieve with the follow-up heuristic
                self._search(prep, prep.query)
            yield from self._stream_extractive(prep, history)

    def _condensed(self, prep: Prepared, history: list[Turn]) -> None:
        """Retrieve with the LLM's standalone version of a follow-up (or the heuristic query)."""
        assert self.llm is not None
        prompt = render("condense", history=history[-4:], question=prep.question)
        standalone = (
            self.llm.complete("You rewrite follow-up questions.", prompt).strip().splitlines()
        )
        self._search(
            prep, standalone[0].strip() if standalone and standalone[0].strip() else prep.query
        )

    def _fit(self, prep: Prepared) -> dict[int, Passage]:
        """Number the passages, dropping the weakest until the prompt fits the context window."""
        assert self.llm is not None
        # What the system prompt and the question leave of the window after the answer's share.
        budget = self.llm.context_window - self.llm.max_answer_tokens - 600
        numbered: dict[int, Passage] = {}
        used = 0
        for n, passage in enumerate(prep.passages, start=1):
            cost = count_tokens(passage.text) + 30
            if used + cost > budget:
                break
            numbered[n] = passage
            used += cost
        return numbered

    def _final(self, prep: Prepared, draft: Draft, mode: str) -> Iterator[StreamEvent]:
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


def _empty_filter_note(effective: Filters, dates: list[date]) -> str:
    span = f" Its articles run from {dates[0]} to {dates[-1]}." if dates else ""
    return f"No articles in the corpus match the filters ({effective.describe()}).{span}"
