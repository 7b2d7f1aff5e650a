"""What an ingest has to do: the articles to prepare, in input order, with what the log needs.

The plan reads the inputs, skips what is unreadable, clashing or unchanged (same digest as the
stored article), hands the rest to the workers to prepare (`index.workers`), and stages their
keyword segments as they come back. It reads only its arguments, never the store, so it can run
in a forked process of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.chunking import MAX_CHUNKED_CHARS
from index.keyword import KeywordIndex
from index.loading import Skipped, SourceDoc, discover, read_file
from index.manifest import ManifestError, find_manifest, load_manifest
from index.prepare import PreparedDoc, doc_digest
from index.records import ArticleInfo
from index.settings import IngestSettings
from index.workers import Task, failure, prepared


@dataclass
class Unchanged:
    """An article whose digest matches the stored one: nothing to do."""

    doc_id: str


@dataclass
class Note:
    """A line for the ingest's log."""

    text: str


Event = PreparedDoc | Skipped | Unchanged | Note


class Planner:
    """Plans ingests with one set of settings, for one embedder (its name is in every digest)."""

    def __init__(
        self,
        settings: IngestSettings,
        embedder_name: str,
        workers: int,
        keywords: KeywordIndex,
    ) -> None:
        self.settings = settings
        self.embedder_name = embedder_name
        self.workers = workers  # preparing processes
        self.keywords = keywords  # stages the keyword segments of what is prepared

    def __call__(self, paths: list[Path], existing: dict[str, ArticleInfo]) -> Iterator[Event]:
        """Prepared articles, and what else the report and the log need, in input order.

        Runs in a forked process when there are workers: it reads only its arguments and the
        settings, never the store, and reports through what it yields.
        """
        seen: set[str] = set()
        manifests: dict[Path, dict[str, dict[str, Any]]] = {}

        def tasks() -> Iterator[Task | Skipped | Unchanged]:
            for file, root in discover(paths):
                if root not in manifests:
                    manifests[root], skip = _manifest(root)
                    if skip is not None:
                        yield skip
                for item in _read_guarded(file, root, self.settings.max_bytes):
                    yield self._take(item, manifests[root], seen, existing)

        results: Iterator[PreparedDoc | Skipped | Unchanged] = prepared(tasks(), self.workers)
        stager = self.keywords.stager()
        for taken in results:
            if isinstance(taken, PreparedDoc) and len(taken.record.text) > MAX_CHUNKED_CHARS:
                yield Note(
                    f"{_source_of(taken)}: only the first {MAX_CHUNKED_CHARS:,} characters "
                    "are indexed (the cap on one article's work)"
                )
            if isinstance(taken, PreparedDoc):
                stager.add(taken.record, taken.chunks)
            yield taken
        stager.flush()

    def _take(
        self,
        item: SourceDoc | Skipped,
        entries: dict[str, dict[str, Any]],
        seen: set[str],
        existing: dict[str, ArticleInfo],
    ) -> Task | Skipped | Unchanged:
        """One loaded item as an article to prepare, a skip, or unchanged."""
        if isinstance(item, Skipped):
            return item
        if clash := _clash(item, seen, existing):
            return clash
        seen.add(item.doc_id)
        entry = entries.get(item.manifest_key) or entries.get(item.path.name)
        try:
            digest = doc_digest(item, entry, self.settings, self.embedder_name)
        except Exception as exc:  # a bug met by one hostile article must not stop the corpus
            return Skipped(item.path, f"{item.where}{failure(exc)}")
        old = existing.get(item.doc_id)
        if old and old.digest == digest:
            return Unchanged(item.doc_id)
        return Task(item, entry, digest, old is None, self.settings)


def _manifest(root: Path) -> tuple[dict[str, dict[str, Any]], Skipped | None]:
    """The manifest entries of a corpus folder ({} without one), and a skip when it is unusable."""
    path = find_manifest(root)
    if not path:
        return {}, None
    try:
        return load_manifest(path), None
    except Exception as exc:  # a ManifestError, or a bug: either way, ingest without it
        reason = str(exc) if isinstance(exc, ManifestError) else failure(exc)
        return {}, Skipped(path, f"ignoring manifest: {reason}")


def _source_of(doc: PreparedDoc) -> str:
    """Where an article came from, for messages."""
    return doc.record.info.source or doc.record.id


def _read_guarded(file: Path, root: Path, max_bytes: int) -> Iterator[SourceDoc | Skipped]:
    """`read_file`, where an unexpected error ends that file with a skip instead of the run."""
    try:
        yield from read_file(file, root, max_bytes)
    except Exception as exc:  # a parser bug met by one hostile file must not stop the corpus
        yield Skipped(file, failure(exc))


def _clash(item: SourceDoc, seen: set[str], existing: dict[str, ArticleInfo]) -> Skipped | None:
    """Why an article cannot take its doc id: used in this run, or by another existing file."""
    if item.doc_id in seen:
        return Skipped(item.path, f"{item.where}duplicate doc id {item.doc_id!r}")
    old = existing.get(item.doc_id)
    owner = old.source if old else None
    here = str(item.path.resolve())
    if owner and owner != here and Path(owner).exists():
        return Skipped(
            item.path,
            f"{item.where}doc id {item.doc_id!r} already belongs to {owner}; rename one of them",
        )
    return None
