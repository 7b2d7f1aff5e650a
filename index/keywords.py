"""The keyword index: segments plus a manifest, kept level with the store by catching up.

The store numbers every commit (a commit sequence) and leaves a tombstone for every removal, so
whoever reads it can ask for "everything after N". The manifest records the N its segments are
level with; a process that finds the store ahead fetches only those articles and chunks, writes
them as one small segment and moves N. Nothing is rebuilt from the whole store except the very
first time a folder is filled. An ingest builds the segments of its own articles while it
writes them (`Stager`, in its planning process) and leaves them staged; catching up adopts a
staged segment, instead of reading its articles back from the store, once every article in it is
committed at the version it holds. Small segments are merged in tiers (eight of a size make one of
the next), the way Lucene merges, so their number stays logarithmic in the archive.

Which rows are live (`index.liveness`): an article belongs to the newest segment that holds it,
unless a tombstone newer than that segment removes it. BM25 counts document frequencies over live
rows only, so its scores equal those of an index rebuilt from scratch. Merges drop dead rows for
good, and with them the tombstones nothing older is left to remove.

On disk (a folder per store) the index is shared by every process on the machine: the ingest
leaves it level when it finishes, and a server opening the folder maps the segments instead of
reading the store. Writers take the folder's lock; readers never wait for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import segments
from index.lease import locked
from index.liveness import full_tier, live_docs, live_rows, merge_group, needed_tombstones
from index.records import ArticleInfo, ChunkRecord, DocRecord
from index.segments import Entry, Segment
from index.store import ChromaStore

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
FORMAT = 1
PAGE_DOCS = 500  # articles per new segment: bounds the memory of a fill (and of a merge of 8)
STAGED = "staged"  # sub-folder of segments built ahead of their articles' commit
MERGING = ".merging"  # under a staging folder: merged segments not swapped in yet


@dataclass
class Manifest:
    """Which segments make the index, and the commit sequence they are level with."""

    store: str = ""
    terms: str = ""  # the tokens' version (`index.terms.tokens_version`)
    seq: float = -math.inf  # -inf: never filled
    segments: list[str] = field(default_factory=list)
    gone: dict[str, float] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # (inode, mtime_ns) of the file it was read from

    def to_json(self) -> str:
        """The manifest file's text."""
        head = {"format": FORMAT, "store": self.store, "terms": self.terms, "seq": self.seq}
        return json.dumps({**head, "gone": self.gone, "segments": self.segments})


@dataclass(frozen=True)
class View:
    """The index as of one moment: its segments, oldest first, and which rows are live."""

    revision: str
    seq: float = -math.inf  # the commit sequence it includes
    stamp: tuple[int, int] = (0, 0)  # the manifest's, to notice merges
    segments: tuple[Segment, ...] = ()
    docs: tuple[np.ndarray, ...] = ()  # per segment, which of its articles are live
    live: tuple[np.ndarray, ...] = ()  # per segment, which of its rows are live


class KeywordIndex:
    """Segments of tokenised chunks, on disk under `folder` (or in memory when it is None).

    `terms` names the tokenizer's version: a folder filled under another is refilled.
    """

    def __init__(
        self, folder: Path | None, tokenize: Callable[[list[str]], list[list[str]]], terms: str
    ) -> None:
        self.folder = folder
        self.tokenize = tokenize
        self.terms = terms
        self._memory = Manifest()  # the manifest when there is no folder
        self._open: dict[str, Segment] = {}
        self._manifest = Manifest()

    # --- reading ------------------------------------------------------------------------
    def view(self, store: ChromaStore) -> View:
        """The index level with the store's head: caught up (a small delta) when it is behind."""
        revision, seq = store.head()
        for attempt in range(3):
            manifest = self._read(store)
            behind = manifest.seq < seq or manifest.seq == -math.inf
            if behind or store.moved_since(manifest.seq):
                with self._lock():
                    manifest = self._catch_up(store, self._read(store))
            try:
                return self._view(revision, manifest)
            except FileNotFoundError:
                # Another process merged these segments away between our read and our open.
                if attempt == 2:
                    raise
                self._manifest = Manifest()
        raise AssertionError("unreachable")

    def stale(self, store: ChromaStore, view: View) -> bool:
        """Whether the store or the folder moved since `view` was taken."""
        if store.revision() != view.revision or self._stamp() != view.stamp:
            return True
        return store.moved_since(view.seq)

    def _view(self, revision: str, manifest: Manifest) -> View:
        self._manifest = manifest
        opened = [self._segment(name) for name in manifest.segments]
        for name in set(self._open) - set(manifest.segments):
            self._open.pop(name).close()
        docs = live_docs(opened, manifest.gone)
        rows = live_rows(opened, docs)
        return View(revision, manifest.seq, manifest.stamp, tuple(opened), tuple(docs), tuple(rows))

    def _segment(self, name: str) -> Segment:
        if name not in self._open:
            assert self.folder is not None  # in memory every segment stays open
            self._open[name] = segments.load(self.folder, name)
        return self._open[name]

    # --- catching up ----------------------------------------------------------------------
    def _catch_up(self, store: ChromaStore, manifest: Manifest) -> Manifest:
        """Bring the manifest level with the store; called under the folder lock."""
        self._sweep(manifest)
        if manifest.seq == -math.inf:
            return self._fill(store)
        changes = store.changes(manifest.seq)
        if changes.seq <= manifest.seq:
            return manifest
        manifest.gone.update(changes.gone)
        manifest.segments.extend(self._build(store, changes.seq, sorted(changes.docs.items())))
        manifest.seq = changes.seq
        return self._write(manifest)

    def _fill(self, store: ChromaStore) -> Manifest:
        """Index the whole store, in segments of PAGE_DOCS articles (memory stays bounded)."""
        seq = store.head()[1]
        manifest = Manifest(store=store.identity(), terms=self.terms, seq=seq)
        articles = sorted(store.articles().items())
        manifest.segments.extend(self._build(store, seq, articles))
        log.info(
            "keyword index filled for the whole store: %d articles (%s)", len(articles), self.terms
        )
        return self._write(manifest)

    def _build(
        self, store: ChromaStore, seq: float, articles: list[tuple[str, ArticleInfo]]
    ) -> list[str]:
        """New segments for these articles, PAGE_DOCS at a time so memory stays bounded (a
        first ingest of an archive catches up with all of it at once)."""
        names, articles = self._adopt(seq, articles)
        if names:  # say so: a fill that adopted an ingest's segments read little of the store
            log.info(
                "keyword index adopted %d staged segment(s), read %d articles",
                len(names),
                len(articles),
            )
        for i in range(0, len(articles), PAGE_DOCS):
            page = articles[i : i + PAGE_DOCS]
            names.append(
                self._add(segments.build(seq, page, _committed(store, page), self.tokenize))
            )
        return names

    def _adopt(
        self, seq: float, articles: list[tuple[str, ArticleInfo]]
    ) -> tuple[list[str], list[tuple[str, ArticleInfo]]]:
        """Staged segments whose articles are all among `articles` at the version they hold,
        moved into the index as of `seq`; and the articles none of them holds. Under the lock."""
        staging = self._staging()
        if staging is None or self.folder is None or not staging.is_dir():
            return [], articles
        wanted = {doc_id: info.digest for doc_id, info in articles}
        names = []
        for name in sorted(p.name for p in staging.iterdir() if p.name.startswith("seg-")):
            held = segments.read_articles(staging, name)
            if all(wanted.get(doc_id) == info.digest for doc_id, info in held):
                segments.adopt(staging, name, self.folder, seq)
                self._open[name] = segments.load(self.folder, name)
                names.append(name)
                for doc_id, _ in held:
                    del wanted[doc_id]
        return names, [a for a in articles if a[0] in wanted]

    def _add(self, segment: Segment) -> str:
        if self.folder is None:
            segment.name = f"mem-{len(self._open)}-{id(segment)}"
            self._open[segment.name] = segment
            return segment.name
        name = segments.save(segment, self.folder)
        self._open[name] = segments.load(self.folder, name)
        return name

    # --- staging: segments an ingest builds before its articles are committed ----------------
    def stager(self) -> Stager | None:
        """Where an ingest hands its prepared articles; None for an index kept in memory."""
        return None if self.folder is None else Stager(self)

    def stage(
        self, articles: Sequence[tuple[str, ArticleInfo]], entries: Sequence[Entry]
    ) -> tuple[str, int]:
        """Save a segment of uncommitted articles for catching up to adopt; its name and rows."""
        staging = self._staging()
        assert staging is not None
        staging.mkdir(parents=True, exist_ok=True)
        segment = segments.build(0.0, articles, entries, self.tokenize)
        return segments.save(segment, staging), segment.size

    def merge_staged(self, staged: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Merge a full tier of these staged segments (name, rows); those still staged.

        An ingest's planning process calls this as it stages, beside the writes, so its end has
        no tiers left to merge. Catching up may adopt (move) a staged segment meanwhile, so the
        lock is held to open the tier and to swap the merge in, never while merging.
        """
        staging = self._staging()
        assert staging is not None
        with self._lock():
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
        with self._lock():
            if not all((staging / n).is_dir() for n in sources):  # adopted: drop the merge
                segments.remove(staging / MERGING, name)
                return [s for s in staged if (staging / s[0]).is_dir()]
            os.replace(staging / MERGING / name, staging / name)
            for source in sources:
                segments.remove(staging, source)
        return [s for s in staged if s[0] not in sources] + [(name, merged.size)]

    def unstage(self) -> None:
        """Drop every staged segment (an ingest's end: what was not adopted is stale)."""
        if self.folder is not None and (self.folder / STAGED).exists():
            with self._lock():
                shutil.rmtree(self.folder / STAGED, ignore_errors=True)

    def _staging(self) -> Path | None:
        """Where this tokenizer's staged segments go: a process on another version (an upgrade
        while a server runs) never adopts tokens that are not its own."""
        if self.folder is None:
            return None
        return self.folder / STAGED / hashlib.sha256(self.terms.encode()).hexdigest()[:12]

    # --- merging ----------------------------------------------------------------------------
    def level(self, store: ChromaStore) -> None:
        """Catch up with the store and merge every full tier: what an ingest leaves behind."""
        self.view(store)
        self.merge_all(store)

    def merge_all(self, store: ChromaStore) -> None:
        """Merge until no tier is full."""
        while self.compact(store):
            pass

    def compact(self, store: ChromaStore) -> bool:
        """Merge one tier of small segments if one is full; whether anything was merged."""
        with self._lock():
            manifest = self._read(store)
            if manifest.seq == -math.inf:
                return False
            opened = [self._segment(n) for n in manifest.segments]
            live = live_rows(opened, live_docs(opened, manifest.gone))
            group = merge_group(opened, live)
            if not group:
                return False
            merged = segments.merge([(opened[i], live[i]) for i in group])
            names = [manifest.segments[i] for i in group]
            kept = [n for n in manifest.segments if n not in names]
            if merged.size:  # a segment whose rows were all dead leaves nothing behind
                kept.insert(group[0], self._add(merged))
            manifest.segments = kept
            manifest.gone = needed_tombstones([self._segment(n) for n in kept], manifest.gone)
            self._write(manifest)
        for name in names:
            if self.folder is not None:
                segments.remove(self.folder, name)
        return True

    # --- the manifest -------------------------------------------------------------------------
    def _read(self, store: ChromaStore) -> Manifest:
        if self.folder is None:
            return self._copy(self._memory)
        stamp = self._stamp()
        if stamp == self._manifest.stamp and stamp != (0, 0):
            return self._copy(self._manifest)
        try:
            body = json.loads((self.folder / MANIFEST).read_text())
        except FileNotFoundError:
            return Manifest()
        except (OSError, ValueError) as exc:
            log.warning("keyword index manifest unreadable (%s); refilling it", exc)
            return Manifest()
        if body.get("format") != FORMAT or body.get("store") != store.identity():
            return Manifest()  # another store of the same name, or an older layout: refill
        if body.get("terms") != self.terms:
            return Manifest()  # made by another tokenizer: refill
        seq = float(body["seq"])
        segs, gone = list(body["segments"]), dict(body["gone"])
        return Manifest(body["store"], self.terms, seq, segs, gone, stamp)

    def _write(self, manifest: Manifest) -> Manifest:
        if self.folder is None:
            manifest.stamp = (self._memory.stamp[0] + 1, 0)
            self._memory = self._copy(manifest)
            return manifest
        tmp = self.folder / f".{MANIFEST}.{os.getpid()}"
        tmp.write_text(manifest.to_json())
        os.replace(tmp, self.folder / MANIFEST)
        manifest.stamp = self._stamp()
        return manifest

    def _stamp(self) -> tuple[int, int]:
        if self.folder is None:
            return self._memory.stamp
        try:
            st = (self.folder / MANIFEST).stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_ino, st.st_mtime_ns)  # replaced, never rewritten: a new inode each time

    def _sweep(self, manifest: Manifest) -> None:
        """Remove what a killed writer left: segments no manifest names (we hold the lock)."""
        if self.folder is not None:
            for name in set(self._listed()) - set(manifest.segments):
                segments.remove(self.folder, name)

    def _listed(self) -> list[str]:
        if self.folder is None or not self.folder.exists():
            return []
        return [p.name for p in self.folder.iterdir() if p.name.startswith(("seg-", ".tmp-"))]

    def _lock(self) -> AbstractContextManager[None]:
        if self.folder is None:
            return nullcontext()
        self.folder.mkdir(parents=True, exist_ok=True)
        return locked(self.folder / ".lock")

    @staticmethod
    def _copy(m: Manifest) -> Manifest:
        return Manifest(m.store, m.terms, m.seq, list(m.segments), dict(m.gone), m.stamp)


class Stager:
    """Builds keyword segments of an ingest's articles as they are prepared, PAGE_DOCS at a time,
    and merges their full tiers, so the ingest does not read them back and tokenise them, or
    merge them, after its last write."""

    def __init__(self, keywords: KeywordIndex) -> None:
        self.keywords = keywords
        self.articles: list[tuple[str, ArticleInfo]] = []
        self.entries: list[Entry] = []
        self.staged: list[tuple[str, int]] = []  # (name, rows) of what is staged

    def add(self, record: DocRecord, chunks: Sequence[ChunkRecord]) -> None:
        """One prepared article and its chunks."""
        self.articles.append((record.id, record.info))
        self.entries.extend(Entry(c.id, c.text, c.info) for c in chunks)
        if len(self.articles) >= PAGE_DOCS:
            self.flush()

    def flush(self) -> None:
        """Stage what has been added since the last page."""
        if self.articles:
            self.staged.append(self.keywords.stage(self.articles, self.entries))
            self.staged = self.keywords.merge_staged(self.staged)
        self.articles, self.entries = [], []


def _committed(store: ChromaStore, articles: Sequence[tuple[str, ArticleInfo]]) -> list[Entry]:
    """The stored chunks that belong to each article's committed version."""
    digest = {doc_id: info.digest for doc_id, info in articles}
    return [
        Entry(cid, text, info)
        for cid, text, info in store.chunks_of(list(digest))
        if digest.get(info.doc_id) == info.digest
    ]
