"""The feed: articles sent to a running server, written by it as the folder's only writer.

Each article is one record in the fields of JSON-lines ingest. The feed keeps it as a file of its
own under the data folder's `feed/` (named for its doc id, so sending it again rewrites the same
file) and runs the ordinary ingest on the files of one request: unchanged articles are skipped,
changed ones replaced, and a record the ingest refuses is reported with its reason while the
others go in. An article is committed whole or not at all (`index.ingest`).

A server writes after other processes may have written (an ingest that began before it started),
so each request writes through a Chroma instance opened for it (`FreshVectors.opened_now`), which
searches then read: the article is citable when the response is sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from index.ingest import Ingestor, IngestReport
from index.loading import NO_TEXT, record_id, record_text
from index.metadata import without_surrogates
from index.store import ChromaStore

log = logging.getLogger("newsdesk.feed")

Status = Literal["added", "updated", "unchanged", "refused"]


@dataclass(frozen=True)
class Outcome:
    """What became of one sent article."""

    doc_id: str | None
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class _Staged:
    """A record written to its file, and what the file held before (None: no file)."""

    doc_id: str
    path: Path
    before: str | None


class UnknownArticle(KeyError):
    """No article has that doc id."""


class Feed:
    """Writes sent articles into `store` with the ingestors `make_ingestor` builds over a store."""

    def __init__(
        self,
        store: ChromaStore,
        make_ingestor: Callable[[ChromaStore], Ingestor],
        folder: Path,
        settle: Callable[[], None],
    ) -> None:
        self.store = store  # the serving store: its searches adopt each request's instance
        self.make_ingestor = make_ingestor
        self.folder = folder
        self.settle = settle  # brings the server's keyword view level with the store
        self._lock = threading.Lock()  # one request writes at a time

    def add(self, records: Sequence[Any]) -> list[Outcome]:
        """Write the records as articles; one outcome per record, in order."""
        with self._lock:
            staged: list[_Staged | Outcome] = []
            for record in records:
                item = self._stage(record, {s.doc_id for s in staged if isinstance(s, _Staged)})
                staged.append(item)
            files = [item.path for item in staged if isinstance(item, _Staged)]
            report = IngestReport()
            if files:
                report = self._write(lambda ingestor: ingestor.run(files, log=log.info))
            outcomes = [_outcome(item, report) for item in staged]
            for item, outcome in zip(staged, outcomes, strict=True):
                if isinstance(item, _Staged) and outcome.status == "refused":
                    _restore(item)  # the file keeps what the index holds
            return outcomes

    def remove(self, doc_id: str) -> None:
        """Remove an article (and the feed's copy of it); UnknownArticle when there is none."""
        with self._lock:
            if not self.store.holds(doc_id):
                raise UnknownArticle(doc_id)
            self._write(lambda ingestor: ingestor.remove([doc_id]))
            self._file(doc_id).unlink(missing_ok=True)

    def _write(self, work: Callable[[Ingestor], IngestReport]) -> IngestReport:
        """Run `work` through a Chroma instance opened now, then search through it."""
        client = self.store.vectors.opened_now()
        try:
            report = work(self.make_ingestor(ChromaStore(client, self.store.prefix)))
        finally:
            self.store.vectors.adopt(client)
            self.settle()
        return report

    def _stage(self, record: Any, taken: set[str]) -> _Staged | Outcome:
        """The record as a file of its own, or why it is refused before the ingest sees it."""
        if not isinstance(record, dict):
            return Outcome(None, "refused", "expected a JSON object with a text field")
        text = record_text(record)
        if not text.strip():
            return Outcome(None, "refused", NO_TEXT)
        doc_id = feed_id(record, text)
        if doc_id in taken:
            return Outcome(doc_id, "refused", "the same doc id came earlier in this request")
        path = self._file(doc_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text(encoding="utf-8") if path.exists() else None
        # Escaped: a lone surrogate a JSON body can spell must not stop the file being written.
        body = json.dumps({**record, "id": doc_id}, sort_keys=True)
        _replace(path, body)
        return _Staged(doc_id, path, before)

    def _file(self, doc_id: str) -> Path:
        name = hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.folder / f"{name}.json"


def feed_id(record: dict[str, Any], text: str) -> str:
    """The article's doc id: the one ingest gives it (its `id` or `url`), else one named for
    its text, so the same text sent twice is one article."""
    fallback = "feed-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return without_surrogates(record_id(record) or fallback)  # as ingest spells it


def _outcome(item: _Staged | Outcome, report: IngestReport) -> Outcome:
    if isinstance(item, Outcome):
        return item
    for status in ("added", "updated", "unchanged"):
        if item.doc_id in getattr(report, status):
            return Outcome(item.doc_id, status)
    reasons = [s.reason for s in report.skipped if s.path == item.path]
    return Outcome(item.doc_id, "refused", "; ".join(reasons) or "not ingested")


def _replace(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _restore(item: _Staged) -> None:
    if item.before is None:
        item.path.unlink(missing_ok=True)
    else:
        _replace(item.path, item.before)
