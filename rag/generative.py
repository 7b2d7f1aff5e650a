"""The LLM answerer: an LLM writes the answer from numbered passages, citing them as [n].

It assembles the prompt (`prompts/`), fits the passages into the model's context window and
rewrites follow-ups to stand alone before retrieval. What it writes is only a draft: the engine
checks every citation against its passage before anything is shown as cited.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from index.chunking import count_tokens
from index.dates import format_day
from rag.answerers import Reading, Writing, Written
from rag.drafts import ABSTAIN_TOKEN
from rag.llm import ChatModel, LLMError
from rag.prompts import render
from rag.types import Passage, Turn


class LLMAnswerer:
    """Answers through `chat`, in at most `max_sentences` sentences.

    `prompt_tokens` are kept for the system prompt and the question, and every passage costs
    `header_tokens` beyond its text, when the passages are fitted into the context window.
    """

    mode: Literal["llm"] = "llm"
    condenses = True

    def __init__(
        self, chat: ChatModel, max_sentences: int, prompt_tokens: int, header_tokens: int
    ) -> None:
        self.chat = chat
        self.max_sentences = max_sentences
        self.prompt_tokens = prompt_tokens
        self.header_tokens = header_tokens

    def reachable(self) -> bool | None:
        """Whether the LLM endpoint answers."""
        return self.chat.reachable()

    def standalone(self, question: str, history: Sequence[Turn]) -> str | None:
        """The LLM's standalone version of a follow-up (None when it gave nothing)."""
        prompt = render("condense", history=list(history)[-4:], question=question)
        lines = self.chat.complete("You rewrite follow-up questions.", prompt).strip().splitlines()
        return lines[0].strip() if lines and lines[0].strip() else None

    def write(self, reading: Reading) -> Writing:
        """Stream the LLM's reply; an empty reply is an `LLMError`, its abstention no answer."""
        numbered = self.fit(reading.retrieval.passages)
        system = render(
            "answer_system", max_sentences=self.max_sentences, abstain_token=ABSTAIN_TOKEN
        )
        user = render("answer_user", question=reading.question, passages=_listed(numbered))
        t0 = time.perf_counter()
        pieces: list[str] = []
        for delta in self.chat.stream(system, user):
            pieces.append(delta)
            yield delta
        timings = {"llm_ms": (time.perf_counter() - t0) * 1e3}
        reply = "".join(pieces).strip()
        if not reply:
            raise LLMError("the LLM returned an empty reply")
        if reply.startswith(ABSTAIN_TOKEN):
            return Written(timings=timings)
        return Written(reply=reply, numbered=numbered, timings=timings)

    def fit(self, passages: Sequence[Passage]) -> dict[int, Passage]:
        """Number the passages, dropping the weakest until the prompt fits the context window."""
        chat = self.chat
        budget = chat.context_window - chat.max_answer_tokens - self.prompt_tokens
        numbered: dict[int, Passage] = {}
        used = 0
        for n, passage in enumerate(passages, start=1):
            cost = count_tokens(passage.text) + self.header_tokens
            if used + cost > budget:
                break
            numbered[n] = passage
            used += cost
        return numbered


def _listed(numbered: dict[int, Passage]) -> list[dict[str, object]]:
    return [
        {
            "number": n,
            "outlet": p.outlet or "unknown outlet",
            "date": format_day(p.date),
            "title": p.title,
            "text": p.text,
        }
        for n, p in numbered.items()
    ]
