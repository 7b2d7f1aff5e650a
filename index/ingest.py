"""The ingestion pipeline: load, clean, extract metadata, chunk, embed, store; incrementally.

Unchanged articles (same content digest) are skipped before anything is embedded (`index.plan`,
which runs ahead in a process of its own, with the workers that prepare articles). Chunks are
embedded in batches that span articles, several requests in flight, and written by a background
thread (`index.writer`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain as _chain
from pathlib import Path

from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.loading import Skipped
from index.plan import Event, Note, Planner, Unchanged
from index.prepare import PreparedDoc, embedding_text
from index.progress import Progress
from index.records import ArticleInfo, ChunkRecord, DocRecord
from index.settings import IngestSettings
from index.store import ChromaStore
from index.workers import ahead, background, default_workers, elsewhere
from index.writer import Writer


@dataclass
class IngestReport:
    """What an ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, see `timing`

    @contextmanager
    def timing(self, step: str) -> Iterator[None]:
        """Add the time spent in the block to `steps[step]`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(step, time.perf_counter() - started)

    def add(self, step: str, seconds: float) -> None:
        """Add seconds to a step."""
        self.steps[step] = self.steps.get(step, 0.0) + seconds

    def profile(self) -> str:
        """Where the time went, one line: the main thread's steps, then the background threads'
        (summed over the threads of a step: the embedding calls in flight overlap)."""
        return ", ".join(f"{step} {seconds:.1f}s" for step, seconds in self.steps.items())

    @property
    def ingested(self) -> int:
        """Articles now in the index from this run's inputs."""
        return len(self.added) + len(self.updated) + len(self.unchanged)


class Ingestor:
    """Runs ingests of files and folders into one store with one embedder."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        settings: IngestSettings,
        *,
        batch_size: int,
        prune: bool = False,
        keywords: KeywordIndex,
        progress: bool = True,
        embed_ahead: int = 1,
    ) -> None:
        self.store = store
        self.keywords = keywords  # brought level at the end, so servers start without building
        workers = settings.ingest_workers
        self.workers = default_workers() if workers is None else workers  # preparing processes
        self.embedder = embedder
        self.settings = settings
        self.batch_size = batch_size  # chunks per embedding call, across articles
        # Several calls in flight: an endpoint answers them while Chroma's write holds the GIL.
        self.embed_ahead = embed_ahead
        self.prune = prune  # remove articles whose files are gone
        self.progress = progress

    def run(self, paths: list[Path], log: Callable[[str], None] = print) -> IngestReport:
        """Bring the index in line with `paths`."""

        def work(run: str, interrupted: list[str], report: IngestReport) -> None:
            if interrupted:
                log(f"finishing an interrupted ingest ({len(interrupted)} articles)")
            self._run(paths, run, interrupted, report, log)

        return self._leased(work)

    def remove(self, doc_ids: list[str]) -> IngestReport:
        """Remove articles by doc id (what an interrupted run left is finished by the next run)."""

        def work(run: str, interrupted: list[str], report: IngestReport) -> None:
            if interrupted:  # finished first, as any run does
                self._run([], run, interrupted, report, lambda _: None)
            self.store.delete_docs(doc_ids)
            report.removed.extend(doc_ids)

        return self._leased(work)

    def _leased(self, work: Callable[[str, list[str], IngestReport], None]) -> IngestReport:
        """Run `work` holding the ingest lease, then bring the keyword index level."""
        started = time.perf_counter()
        report = IngestReport()
        run = uuid.uuid4().hex
        interrupted = self.store.lease.claim(run)  # raises StoreBusy if another ingest is writing
        try:
            work(run, interrupted, report)
        except BaseException:
            # Give the lease up at once (a long-lived process would otherwise hold it), keeping
            # the record of unfinished articles for the next run to complete.
            self.store.lease.drop(run)
            raise
        self.store.lease.release(run)
        with report.timing("keyword index"):
            self.keywords.level(self.store)
            self.keywords.unstage()
        report.seconds = time.perf_counter() - started
        return report

    def _run(
        self,
        paths: list[Path],
        run: str,
        interrupted: list[str],
        report: IngestReport,
        log: Callable[[str], None],
    ) -> None:
        existing = self.store.articles()
        # Articles are read, cleaned and chunked ahead of this thread, which embeds, so the model
        # is busy from the first batch on; with workers, in a process of its own, so the plan
        # also runs on while Chroma writes (which holds this process's GIL).
        plan = Planner(self.settings, self.embedder.name, self.workers, self.keywords)
        run_plan = elsewhere if self.workers > 0 else background
        progress = Progress(paths, self.progress)
        events = run_plan(lambda: plan(paths, existing))
        planned = _recorded(events, report, log, progress)
        try:
            todo = self._embed_and_write(planned, report, run, existing, interrupted, progress)
        finally:
            progress.close()
        for doc_id in set(interrupted) - set(todo):
            old = existing.get(doc_id)
            self.store.drop_stale(doc_id, old.digest if old else None)
        if self.prune:
            self._prune(paths, existing, report, {*report.unchanged, *todo})

    def _embed_and_write(
        self,
        planned: Iterator[PreparedDoc],
        report: IngestReport,
        run: str,
        existing: dict[str, ArticleInfo],
        interrupted: list[str],
        progress: Progress,
    ) -> list[str]:
        """Embed chunks in batches that span articles, ahead of the writer, and hand them to it;
        the doc ids done.

        The lease lists only what is in flight (plus what an interrupted run left), so each
        heartbeat is a small write however large the archive.
        """
        ids: list[str] = []
        writer = Writer(self.store, {*existing, *interrupted})
        in_flight: dict[str, None] = {}  # handed over for embedding, not committed yet
        held, beat = 0, time.monotonic()
        batches = self._batches(_waited(planned, report), report, ids, in_flight)
        embedded = ahead(batches, self._embed, self.embed_ahead)
        try:
            for (batch, done), seconds in embedded:
                report.add("embedding (background)", seconds)
                if held < len(ids) or time.monotonic() - beat > 30:
                    # Before any chunk of a new article is written; also keeps the lease alive.
                    writer.forget_committed(in_flight)
                    writer.hold(run, list(dict.fromkeys([*interrupted, *in_flight])))
                    held, beat = len(ids), time.monotonic()
                with report.timing("waiting for Chroma"):
                    writer.put(batch, done)
                report.chunks += len(batch)
                progress.embedded(len(batch))
                progress.articles(len(done))
        except BaseException:
            embedded.close()  # no more embedding calls
            writer.abort()
            raise
        _finish(writer, report)
        return ids

    def _batches(
        self,
        docs: Iterator[PreparedDoc],
        report: IngestReport,
        ids: list[str],
        in_flight: dict[str, None],
    ) -> Iterator[tuple[list[ChunkRecord], list[DocRecord]]]:
        """Chunks in batches of `batch_size` across articles, each with the articles it
        completes (they can be committed after it); records every article taken."""
        remaining: dict[str, int] = {}
        by_id: dict[str, PreparedDoc] = {}
        pending: list[ChunkRecord] = []
        for doc in _chain(docs, [None]):
            if doc is not None:
                ids.append(doc.record.id)
                in_flight[doc.record.id] = None
                by_id[doc.record.id], remaining[doc.record.id] = doc, len(doc.chunks)
                (report.added if doc.is_new else report.updated).append(doc.record.id)
                pending.extend(doc.chunks)
                if not doc.chunks:
                    yield [], [by_id.pop(doc.record.id).record]
            while pending and (len(pending) >= self.batch_size or doc is None):
                batch, pending = pending[: self.batch_size], pending[self.batch_size :]
                yield batch, _finished(batch, remaining, by_id)

    def _embed(self, work: tuple[list[ChunkRecord], list[DocRecord]]) -> float:
        """Embed one batch's chunks in place (on an `ahead` thread); the seconds it took."""
        started = time.perf_counter()
        batch = work[0]
        texts = [embedding_text(c.text, c.info) for c in batch]
        for record, vector in zip(batch, self.embedder.embed_documents(texts), strict=True):
            record.embedding = vector
        return time.perf_counter() - started

    def _prune(
        self,
        paths: list[Path],
        existing: dict[str, ArticleInfo],
        report: IngestReport,
        seen: set[str],
    ) -> None:
        """Remove articles no longer in the inputs; those of files skipped this time are kept."""
        roots = [p.resolve() for p in paths]
        protected = {str(s.path.resolve()) for s in report.skipped}
        gone = [
            doc_id
            for doc_id, info in existing.items()
            if doc_id not in seen
            and info.source not in protected
            and _under(Path(info.source), roots)
        ]
        self.store.delete_docs(gone)
        report.removed.extend(gone)


def _recorded(
    events: Iterator[Event], report: IngestReport, log: Callable[[str], None], progress: Progress
) -> Iterator[PreparedDoc]:
    """The prepared articles of a plan; its other events go to the report, the log and the
    progress bar."""
    for event in events:
        if isinstance(event, Unchanged):
            report.unchanged.append(event.doc_id)
            progress.articles(1)
        elif isinstance(event, Note):
            log(event.text)
        elif isinstance(event, Skipped):
            report.skipped.append(event)
            progress.articles(1)
            log(str(event))
        else:
            yield event


def _waited(planned: Iterator[PreparedDoc], report: IngestReport) -> Iterator[PreparedDoc]:
    """The prepared articles, timing how long the embedding loop waits for each."""
    while True:
        with report.timing("waiting for articles"):
            doc = next(planned, None)
        if doc is None:
            return
        yield doc


def _finished(
    batch: list[ChunkRecord], remaining: dict[str, int], by_id: dict[str, PreparedDoc]
) -> list[DocRecord]:
    """Articles whose last chunk is in this batch: they can be committed after it."""
    done = []
    for record in batch:
        doc_id = record.info.doc_id
        remaining[doc_id] -= 1
        if remaining[doc_id] == 0:
            # Dropped here so the run holds only the articles in flight, not the archive's.
            del remaining[doc_id]
            done.append(by_id.pop(doc_id).record)
    return done


def _under(source: Path, roots: list[Path]) -> bool:
    return any(source == r or source.is_relative_to(r) for r in roots)


def _finish(writer: Writer, report: IngestReport) -> None:
    """Wait for the writer's last writes and record where its time went."""
    with report.timing("waiting for Chroma"):
        writer.close()
    for step, seconds in writer.busy.items():
        report.steps[f"{step} (background)"] = seconds
