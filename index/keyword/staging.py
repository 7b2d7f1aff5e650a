"""Staged segments: what an ingest builds of its own articles before they are committed.

An ingest's planning process tokenises its articles as it prepares them and saves them as
segments under the keyword folder's `staged/<tokenizer>` sub-folder, merging full tiers as it
goes. Catching up adopts (moves into the index) a staged segment once every article in it is
committed at the version it holds, instead of reading those articles back from the store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from index.keyword import segments
from index.keyword.liveness import full_tier
from index.keyword.segments import Entry, Tokenizer
from index.lease import locked
from index.records import ArticleInfo, ChunkRecord, DocRecord

STAGED = "staged"  # sub-folder of segments built ahead of their articles' commit
MERGING = ".merging"  # under a staging folder: merged segments not swapped in yet
LOCK = ".lock"  # in the keyword folder: held by whoever changes it


def folder_lock(folder: Path) -> AbstractContextManager[None]:
    """The keyword folder's writer lock (readers never take it)."""
    folder.mkdir(parents=True, exist_ok=True)
    return locked(folder / LOCK)


def staging_folder(folder: Path, terms: str) -> Path:
    """Where this tokenizer's staged segments go: a process on another version (an upgrade
    while a server runs) never adopts tokens that are not its own."""
    return folder / STAGED / hashlib.sha256(terms.encode()).hexdigest()[:12]


def adopt(
    folder: Path, terms: str, seq: float, articles: list[tuple[str, ArticleInfo]]
) -> tuple[list[str], list[tuple[str, ArticleInfo]]]:
    """Staged segments whose articles are all among `articles` at the version they hold,
    moved into `folder` as of `seq`; and the articles none of them holds. Under the lock."""
    staging = staging_folder(folder, terms)
    if not staging.is_dir():
        return [], articles
    wanted = {doc_id: info.digest for doc_id, info in articles}
    names = []
    for name in sorted(p.name for p in staging.iterdir() if p.name.startswith("seg-")):
        held = segments.read_articles(staging, name)
        if all(wanted.get(doc_id) == info.digest for doc_id, info in held):
            segments.adopt(staging, name, folder, seq)
            names.append(name)
            for doc_id, _ in held:
                del wanted[doc_id]
    return names, [a for a in articles if a[0] in wanted]


def unstage(folder: Path) -> None:
    """Drop every staged segment (an ingest's end: what was not adopted is stale)."""
    if (folder / STAGED).exists():
        with folder_lock(folder):
            shutil.rmtree(folder / STAGED, ignore_errors=True)


class Stager:
    """Builds keyword segments of an ingest's articles as they are prepared, PAGE_DOCS at a time,
    and merges their full tiers, so the ingest does not read them back and tokenise them, or
    merge them, after its last write."""

    def __init__(self, folder: Path, tokenize: Tokenizer, terms: str) -> None:
        self.folder = folder  # the keyword index's
        self.staging = staging_folder(folder, terms)
        self.tokenize = tokenize
        self.articles: list[tuple[str, ArticleInfo]] = []
        self.entries: list[Entry] = []
        self.staged: list[tuple[str, int]] = []  # (name, rows) of what is staged

    def add(self, record: DocRecord, chunks: Sequence[ChunkRecord]) -> None:
        """One prepared article and its chunks."""
        self.articles.append((record.id, record.info))
        self.entries.extend(Entry(c.id, c.text, c.info) for c in chunks)
        if len(self.articles) >= segments.PAGE_DOCS:
            self.flush()

    def flush(self) -> None:
        """Stage what has been added since the last page."""
        if self.articles:
            self.staged.append(self.stage(self.articles, self.entries))
            self.staged = self.merge_staged(self.staged)
        self.articles, self.entries = [], []

    def stage(
        self, articles: Sequence[tuple[str, ArticleInfo]], entries: Sequence[Entry]
    ) -> tuple[str, int]:
        """Save a segment of uncommitted articles for catching up to adopt; its name and rows."""
        self.staging.mkdir(parents=True, exist_ok=True)
        segment = segments.build(0.0, articles, entries, self.tokenize)
        return segments.save(segment, self.staging), segment.size

    def merge_staged(self, staged: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Merge a full tier of these staged segments (name, rows); those still staged.

        The planning process calls this as it stages, beside the writes, so the ingest's end has
        no tiers left to merge. Catching up may adopt (move) a staged segment meanwhile, so the
        lock is held to open the tier and to swap the merge in, never while merging.
        """
        staging = self.staging
        with folder_lock(self.folder):
            staged = [s for s in staged if (staging / s[0]).is_dir()]
            group = full_tier([rows for _, rows in staged])
            opened = [segments.load(staging, staged[i][0]) for i in group]
        if not group:
            return staged
        merged = segments.merge([(s, np.ones(s.size, dtype=bool)) for s in opened])
        for segment in opened:
            segment.close()
        sources = [s.name for s in opened]
        name = segments.save(merged, staging / MERGING)
        with folder_lock(self.folder):
            if not all((staging / n).is_dir() for n in sources):  # adopted: drop the merge
                segments.remove(staging / MERGING, name)
                return [s for s in staged if (staging / s[0]).is_dir()]
            os.replace(staging / MERGING / name, staging / name)
            for source in sources:
                segments.remove(staging, source)
        return [s for s in staged if s[0] not in sources] + [(name, merged.size)]
