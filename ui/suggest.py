"""Suggested questions, written from what the corpus's articles say and checked against it.

A suggestion names someone an article quotes ("What did Dmitry Peskov say, according to
Dawn?"), found in the article's body sentences, never its headline; failing that, it asks what
an outlet reported on a day. Each is asked of the index before it is offered, and kept only if
it is answered from the article it came from.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rag.body import body_sentences
from rag.citations import format_day
from rag.types import CorpusDocument, CorpusSummary, Filters

if TYPE_CHECKING:
    from rag.engine import Newsdesk

# Up to four capitalised words right before "said"/"told"/"says": the speaker, without the role
# in lower case before the name ("Kremlin spokesman Dmitry Peskov said" gives "Dmitry Peskov").
SPEAKER = re.compile(
    r"(?<![\w’'])((?:[A-Z][\w’'.-]+ ){0,3}[A-Z][\w’'-]+),? (?:said|says|told|added)\b"
)
NOT_SPEAKERS = {"It", "He", "She", "They", "We", "I", "This", "That", "Officials", "Reuters"}
MAX_ARTICLES = 12  # articles read for suggestions, at most
LEADING = {"The", "But", "And", "Meanwhile", "However", "Also"}


class Suggestions:
    """Suggested questions for an engine's corpus, worked out once per corpus listing."""

    def __init__(self, engine: Newsdesk, limit: int = 3) -> None:
        self.engine = engine
        self.limit = limit
        self._lock = threading.Lock()
        self._cached: tuple[str, list[str]] | None = None

    def for_corpus(self, summary: CorpusSummary) -> list[str]:
        """Up to `limit` questions the index answers, newest articles first, one per outlet."""
        key = summary.model_dump_json(include={"articles", "chunks", "last_date"})
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, self._work_out(summary))
            return list(self._cached[1])

    def _work_out(self, summary: CorpusSummary) -> list[str]:
        found: list[str] = []
        asked_about: set[str] = set()  # a different speaker or outlet for each suggestion
        # A bounded amount of work per corpus: the newest articles of each outlet first.
        for doc in _newest_per_outlet(summary.documents)[:MAX_ARTICLES]:
            for about, question in self._drafts(doc):
                if about in asked_about or not self._answers(question, doc):
                    continue
                found.append(question)
                asked_about.add(about)
                break
            if len(found) >= self.limit:
                break
        return found

    def _drafts(self, doc: CorpusDocument) -> Iterator[tuple[str, str]]:
        """(whom it asks about, question) about what the article says: its speakers, then what
        its outlet reported that day."""
        where = f", according to {doc.outlet}" if doc.outlet else ""
        for who in speakers(self._body(doc)):
            yield who, f"What did {who} say{where}?"
        if doc.outlet and doc.date:
            yield doc.outlet, f"What did {doc.outlet} report on {format_day(doc.date)}?"

    def _body(self, doc: CorpusDocument) -> list[str]:
        """The article's sentences that retrieval hands out for its title."""
        scope = Filters(outlet=doc.outlet, since=doc.date, until=doc.date)
        reading = self.engine.read(doc.title or doc.doc_id, scope)
        passages = [p for p in reading.retrieval.passages if p.doc_id == doc.doc_id]
        return [s.text for p in passages for s in body_sentences(p)]

    def _answers(self, question: str, doc: CorpusDocument) -> bool:
        answer = self.engine.ask(question)
        return not answer.abstained and any(c.doc_id == doc.doc_id for c in answer.citations)


def speakers(sentences: list[str]) -> list[str]:
    """People the sentences quote by name, each once, named ones before one-word ones (an
    institution or a surname)."""
    found: list[str] = []
    for sentence in sentences:
        for match in SPEAKER.finditer(sentence):
            words = match.group(1).split()
            while words and words[0] in LEADING:
                words = words[1:]
            who = " ".join(words)
            after_of = sentence[: match.start()].endswith("of ")  # "the Ministry of Energy"
            if not words or words[0] in NOT_SPEAKERS or after_of:
                continue
            if not any(who in f or f in who for f in found):
                found.append(who)
    return sorted(found, key=lambda w: len(w.split()) < 2)


def _newest_per_outlet(documents: list[CorpusDocument]) -> list[CorpusDocument]:
    """The articles to suggest from: newest first, one per outlet, then the rest."""
    docs = sorted(documents, key=lambda d: str(d.date or ""), reverse=True)
    first: dict[str | None, CorpusDocument] = {}
    for d in docs:
        first.setdefault(d.outlet, d)
    chosen = list(first.values())
    return chosen + [d for d in docs if d not in chosen]
