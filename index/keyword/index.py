"""The keyword index on disk: its segment list, read and caught up with the store, and merged.

A folder holds the segments and a manifest naming them with the commit sequence they are level
with. Writers take the folder's lock; readers never wait for it.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.keyword import segments, staging
from index.keyword.files import Damaged, verified
from index.keyword.liveness import live_docs, live_rows, merge_group, needed_tombstones
from index.keyword.segments import Entry, Segment
from index.keyword.staging import Stager, folder_lock
from index.records import ArticleInfo
from index.store import ChromaStore

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
FORMAT = 1


@dataclass
class KeywordManifest:
    """Which segments make the index, and the commit sequence they are level with."""

    store: str = ""
    terms: str = ""  # the tokens' version (`index.keyword.terms.tokens_version`)
    seq: float = -math.inf  # -inf: never filled
    segments: list[str] = field(default_factory=list)
    gone: dict[str, float] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # (inode, mtime_ns) of the file it was read from

    def to_json(self) -> str:
        """The manifest file's text."""
        head = {"format": FORMAT, "store": self.store, "terms": self.terms, "seq": self.seq}
        return json.dumps({**head, "gone": self.gone, "segments": self.segments})

    def copy(self) -> KeywordManifest:
        """A copy whose lists a caller may change."""
        return KeywordManifest(
            self.store, self.terms, self.seq, list(self.segments), dict(self.gone), self.stamp
        )


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
    """Segments of tokenised chunks, on disk under `folder`.

    `terms` names the tokenizer's version: a folder filled under another is refilled.
    """

    def __init__(
        self, folder: Path, tokenize: Callable[[list[str]], list[list[str]]], terms: str
    ) -> None:
        self.folder = folder
        self.tokenize = tokenize
        self.terms = terms
        self._open: dict[str, Segment] = {}
        self._manifest = KeywordManifest()

    # --- reading ------------------------------------------------------------------------
    def view(self, store: ChromaStore) -> View:
        """The index level with the store's head: caught up (a small delta) when it is behind.

        A segment whose files fail their checksums is rebuilt from the store first."""
        revision, seq = store.revisions.head()
        merged_away, mended = 0, set()
        while True:
            manifest = self._read(store)
            behind = manifest.seq < seq or manifest.seq == -math.inf
            if behind or store.revisions.moved_since(manifest.seq):
                with self._lock():
                    manifest = self._catch_up(store, self._read(store))
            try:
                return self._view(revision, manifest)
            except FileNotFoundError:
                # Another process merged these segments away between our read and our open.
                merged_away += 1
                if merged_away == 3:
                    raise
                self._manifest = KeywordManifest()
            except Damaged as damage:
                if damage.name in mended:
                    raise  # rebuilt and damaged again: the disk itself is failing
                mended.add(damage.name)
                self._mend(store, damage)

    def stale(self, store: ChromaStore, view: View) -> bool:
        """Whether the store or the folder moved since `view` was taken."""
        if store.revisions.current() != view.revision or self._stamp() != view.stamp:
            return True
        return store.revisions.moved_since(view.seq)

    def _view(self, revision: str, manifest: KeywordManifest) -> View:
        self._manifest = manifest
        opened = [self._segment(name) for name in manifest.segments]
        for name in set(self._open) - set(manifest.segments):
            self._open.pop(name).close()
        docs = live_docs(opened, manifest.gone)
        rows = live_rows(opened, docs)
        return View(revision, manifest.seq, manifest.stamp, tuple(opened), tuple(docs), tuple(rows))

    def _segment(self, name: str) -> Segment:
        if name not in self._open:
            self._open[name] = segments.load(self.folder, name)
        return self._open[name]

    # --- catching up ----------------------------------------------------------------------
    def _catch_up(self, store: ChromaStore, manifest: KeywordManifest) -> KeywordManifest:
        """Bring the manifest level with the store; called under the folder lock."""
        self._sweep(manifest)
        if manifest.seq == -math.inf:
            return self._fill(store)
        changes = store.revisions.changes(manifest.seq)
        if changes.seq <= manifest.seq:
            return manifest
        manifest.gone.update(changes.gone)
        manifest.segments.extend(self._build(store, changes.seq, sorted(changes.docs.items())))
        manifest.seq = changes.seq
        return self._write(manifest)

    def _fill(self, store: ChromaStore) -> KeywordManifest:
        """Index the whole store, in segments of PAGE_DOCS articles (memory stays bounded)."""
        seq = store.revisions.head()[1]
        manifest = KeywordManifest(store=store.identity(), terms=self.terms, seq=seq)
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
        names, articles = staging.adopt(self.folder, self.terms, seq, articles)
        for name in names:
            self._open[name] = segments.load(self.folder, name)
        if names:  # say so: a fill that adopted an ingest's segments read little of the store
            log.info(
                "keyword index adopted %d staged segment(s), read %d articles",
                len(names),
                len(articles),
            )
        return names + self._pages(store, seq, articles)

    def _pages(
        self, store: ChromaStore, seq: float, articles: list[tuple[str, ArticleInfo]]
    ) -> list[str]:
        """Segments of these articles' committed chunks, PAGE_DOCS articles each."""
        names = []
        for i in range(0, len(articles), segments.PAGE_DOCS):
            page = articles[i : i + segments.PAGE_DOCS]
            names.append(
                self._add(segments.build(seq, page, _committed(store, page), self.tokenize))
            )
        return names

    def _mend(self, store: ChromaStore, damage: Damaged) -> None:
        """Rebuild a damaged segment from the store, in its place and as of its commit sequence.

        Where it owned an article, the store's committed version is the one it held; where it
        did not, the version it held is gone from the store and was dead anyway."""
        with self._lock():
            manifest = self._read(store)
            if damage.name not in manifest.segments:
                return  # mended or merged away by another process meanwhile
            log.warning("%s; rebuilding it from the store", damage)
            if (stale := self._open.pop(damage.name, None)) is not None:
                stale.close()
            try:
                meta = verified(self.folder, damage.name, only=["articles.jsonl"])
                held = segments.read_articles(self.folder, damage.name)
            except (ValueError, OSError) as exc:
                log.warning("its article list is unreadable (%s); refilling the index", exc)
                self._fill(store)
                return
            at = manifest.segments.index(damage.name)
            manifest.segments[at : at + 1] = self._pages(store, meta["seq"], held)
            self._write(manifest)
        segments.remove(self.folder, damage.name)

    def _add(self, segment: Segment) -> str:
        name = segments.save(segment, self.folder)
        self._open[name] = segments.load(self.folder, name, verify=False)
        return name

    # --- staging: segments an ingest builds before its articles are committed ----------------
    def stager(self) -> Stager:
        """Where an ingest hands its prepared articles."""
        return Stager(self.folder, self.tokenize, self.terms)

    def unstage(self) -> None:
        """Drop every staged segment (an ingest's end: what was not adopted is stale)."""
        staging.unstage(self.folder)

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
            segments.remove(self.folder, name)
        return True

    # --- checking -------------------------------------------------------------------------
    def damage(self) -> list[str]:
        """What is wrong with the manifest and the segments it names, one line each."""
        try:
            named = json.loads((self.folder / MANIFEST).read_text())["segments"]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return [f"keyword index manifest {self.folder / MANIFEST}: unreadable ({exc})"]
        problems = []
        for name in named:
            try:
                verified(self.folder, str(name))
            except Damaged as exc:
                problems.append(str(exc))
            except FileNotFoundError:
                problems.append(f"keyword segment {self.folder / str(name)}: is missing")
        return problems

    def refill(self, store: ChromaStore) -> None:
        """Index the whole store again, in place of whatever the folder holds."""
        with self._lock():
            for segment in self._open.values():
                segment.close()
            self._open.clear()
            self._manifest = KeywordManifest()
            self._sweep(self._fill(store))

    # --- the manifest -------------------------------------------------------------------------
    def _read(self, store: ChromaStore) -> KeywordManifest:
        stamp = self._stamp()
        if stamp == self._manifest.stamp and stamp != (0, 0):
            return self._manifest.copy()
        try:
            body = json.loads((self.folder / MANIFEST).read_text())
        except FileNotFoundError:
            return KeywordManifest()
        except (OSError, ValueError) as exc:
            log.warning("keyword index manifest unreadable (%s); refilling it", exc)
            return KeywordManifest()
        if body.get("format") != FORMAT or body.get("store") != store.identity():
            return KeywordManifest()  # another store of the same name, or an older layout: refill
        if body.get("terms") != self.terms:
            return KeywordManifest()  # made by another tokenizer: refill
        seq = float(body["seq"])
        segs, gone = list(body["segments"]), dict(body["gone"])
        return KeywordManifest(body["store"], self.terms, seq, segs, gone, stamp)

    def _write(self, manifest: KeywordManifest) -> KeywordManifest:
        tmp = self.folder / f".{MANIFEST}.{os.getpid()}"
        tmp.write_text(manifest.to_json())
        os.replace(tmp, self.folder / MANIFEST)
        manifest.stamp = self._stamp()
        return manifest

    def _stamp(self) -> tuple[int, int]:
        try:
            st = (self.folder / MANIFEST).stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_ino, st.st_mtime_ns)  # replaced, never rewritten: a new inode each time

    def _sweep(self, manifest: KeywordManifest) -> None:
        """Remove what a killed writer left: segments no manifest names (we hold the lock)."""
        for name in set(self._listed()) - set(manifest.segments):
            segments.remove(self.folder, name)

    def _listed(self) -> list[str]:
        if not self.folder.exists():
            return []
        return [p.name for p in self.folder.iterdir() if p.name.startswith(("seg-", ".tmp-"))]

    def _lock(self) -> AbstractContextManager[None]:
        return folder_lock(self.folder)


def _committed(store: ChromaStore, articles: Sequence[tuple[str, ArticleInfo]]) -> list[Entry]:
    """The stored chunks that belong to each article's committed version."""
    digest = {doc_id: info.digest for doc_id, info in articles}
    return [
        Entry(cid, text, info)
        for cid, text, info in store.chunks_of(list(digest))
        if digest.get(info.doc_id) == info.digest
    ]
