"""Keyword-index segments: immutable sets of tokenised chunks, kept in memory or on disk.

A segment holds the committed chunks of some articles: their ids, texts, positions, token
counts and a term -> (rows, term frequencies) postings table. On disk each is a folder of
`.npy` arrays, opened memory-mapped, so a process pays memory only for the pages a question
touches, and a text blob read the same way. Which rows are live is not the segment's business:
the keyword index decides that from which segment holds an article's newest version.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.dates import day_int
from index.keyword.files import ARRAYS, FILES, Damaged, checksum, verified
from index.records import ArticleInfo, ChunkInfo, article_info, to_metadata

# A term longer than this says nothing a shorter prefix does not; capping keeps terms fixed-width.
TERM_BYTES = 48
TOKENIZE_SLICE = 256  # texts tokenised at once while building a segment
PAGE_DOCS = 500  # articles per new segment: bounds the memory of a fill (and of a merge of 8)
Tokenizer = Callable[[list[str]], list[list[str]]]


def term_key(term: str) -> bytes:
    """A term as the segments store it: UTF-8, cut to TERM_BYTES on a character boundary."""
    raw = term.encode("utf-8")
    if len(raw) <= TERM_BYTES:
        return raw
    return raw[:TERM_BYTES].decode("utf-8", errors="ignore").encode("utf-8")


@dataclass(frozen=True)
class Entry:
    """One chunk going into a segment."""

    id: str
    text: str
    info: ChunkInfo


@dataclass(eq=False)
class Segment:
    """Chunks of some articles, grouped by article in chunk order, with their postings."""

    seq: float  # every article in it is as of this commit sequence or later
    ids: list[str]
    articles: list[tuple[str, ArticleInfo]]  # row `doc[i]` of the arrays points in here
    arrays: dict[str, np.ndarray]
    texts: bytes | mmap.mmap
    name: str = ""
    folder: Path | None = None
    _handles: list[Any] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        """Number of chunks."""
        return len(self.ids)

    @cached_property
    def position(self) -> dict[str, int]:
        """Row of each chunk id."""
        return {cid: i for i, cid in enumerate(self.ids)}

    @cached_property
    def first_row(self) -> dict[str, tuple[int, int]]:
        """(first row, chunk rows) of each article."""
        doc = np.asarray(self.arrays["doc"])
        starts = np.searchsorted(doc, np.arange(len(self.articles) + 1))
        return {
            doc_id: (int(starts[i]), int(starts[i + 1] - starts[i]))
            for i, (doc_id, _) in enumerate(self.articles)
        }

    @cached_property
    def doc_outlets(self) -> np.ndarray:
        """Each article's outlet ("" when unknown), as the filters compare it."""
        return np.array([a.outlet or "" for _, a in self.articles], dtype=object)

    @cached_property
    def doc_days(self) -> np.ndarray:
        """Each article's publication day as an integer (0 when undated)."""
        return np.array([day_int(a.date) for _, a in self.articles], dtype=np.int64)

    def text(self, row: int) -> str:
        """A chunk's text."""
        at = self.arrays["text_at"]
        return self.texts[int(at[row]) : int(at[row + 1])].decode("utf-8")

    def info(self, row: int) -> ChunkInfo:
        """A chunk's typed record."""
        a = self.articles[int(self.arrays["doc"][row])][1]
        return ChunkInfo(
            doc_id=a.doc_id,
            digest=a.digest,
            outlet=a.outlet,
            date=a.date,
            title=a.title,
            url=a.url,
            start=int(self.arrays["start"][row]),
            end=int(self.arrays["end"][row]),
            chunk=int(self.arrays["chunk"][row]),
        )

    def postings(self, key: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequencies) of one stored term; empty when the segment lacks it."""
        terms = self.arrays["terms"]
        i = int(np.searchsorted(terms, key))
        if i >= len(terms) or terms[i] != key:
            return _EMPTY_ROWS, _EMPTY_TF
        lo, hi = int(self.arrays["indptr"][i]), int(self.arrays["indptr"][i + 1])
        return self.arrays["rows"][lo:hi], self.arrays["tf"][lo:hi]

    def close(self) -> None:
        """Let go of the memory maps (their pages stay valid for arrays still referenced)."""
        for handle in self._handles:
            handle.close()
        self._handles.clear()


_EMPTY_ROWS = np.zeros(0, dtype=np.int32)
_EMPTY_TF = np.zeros(0, dtype=np.uint16)


def build(
    seq: float,
    articles: Sequence[tuple[str, ArticleInfo]],
    entries: Sequence[Entry],
    tokenize: Tokenizer,
) -> Segment:
    """A segment of the given articles' chunks, tokenised as "title\\ntext"."""
    order = {doc_id: i for i, (doc_id, _) in enumerate(articles)}
    rows = sorted(
        (e for e in entries if e.info.doc_id in order),
        key=lambda e: (order[e.info.doc_id], e.info.chunk),
    )
    lengths, term_ids, vocab = _term_ids([f"{e.info.title}\n{e.text}" for e in rows], tokenize)
    blob = [e.text.encode("utf-8") for e in rows]
    arrays: dict[str, np.ndarray] = {
        "doc": np.array([order[e.info.doc_id] for e in rows], dtype=np.int32),
        "start": np.array([e.info.start for e in rows], dtype=np.int64),
        "end": np.array([e.info.end for e in rows], dtype=np.int64),
        "chunk": np.array([e.info.chunk for e in rows], dtype=np.int32),
        "length": lengths,
        "text_at": np.concatenate([[0], np.cumsum([len(b) for b in blob], dtype=np.int64)]),
        **_postings(lengths, term_ids, vocab),
    }
    return Segment(seq, [e.id for e in rows], list(articles), arrays, b"".join(blob))


def _term_ids(texts: list[str], tokenize: Tokenizer) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Token counts per text, every token as a vocabulary number, and the vocabulary.

    Tokenised a slice at a time and kept as numbers: a page of an archive holds millions of
    tokens, which as Python strings took about a gigabyte.
    """
    vocab: dict[str, int] = {}
    lengths: list[int] = []
    parts: list[np.ndarray] = [np.zeros(0, dtype=np.int32)]
    for i in range(0, len(texts), TOKENIZE_SLICE):
        for doc in tokenize(texts[i : i + TOKENIZE_SLICE]):
            lengths.append(len(doc))
            ids = (vocab.setdefault(t, len(vocab)) for t in doc)
            parts.append(np.fromiter(ids, dtype=np.int32, count=len(doc)))
    return np.array(lengths, dtype=np.int32), np.concatenate(parts), list(vocab)


def _postings(lengths: np.ndarray, term_ids: np.ndarray, vocab: list[str]) -> dict[str, np.ndarray]:
    """The term -> rows table: sorted terms, CSR pointers, rows and term frequencies."""
    if not len(term_ids):
        return _empty_postings()
    n = len(lengths)
    keys = np.array([term_key(t) for t in vocab], dtype=f"S{TERM_BYTES}")
    terms, remap = np.unique(keys, return_inverse=True)  # tokens cut to one key become one term
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pairs, tf = np.unique(remap[term_ids].astype(np.int64) * n + row_of, return_counts=True)
    term_ids = pairs // n
    return {
        "terms": terms,
        "indptr": np.searchsorted(term_ids, np.arange(len(terms) + 1)).astype(np.int64),
        "rows": (pairs % n).astype(np.int32),
        "tf": np.minimum(tf, np.iinfo(np.uint16).max).astype(np.uint16),
    }


def _empty_postings() -> dict[str, np.ndarray]:
    return {
        "terms": np.zeros(0, dtype=f"S{TERM_BYTES}"),
        "indptr": np.zeros(1, dtype=np.int64),
        "rows": _EMPTY_ROWS,
        "tf": _EMPTY_TF,
    }


def merge(parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
    """One segment of the live rows of several (segment, live mask) parts, oldest first.

    Postings are re-keyed rather than re-tokenised: rows are renumbered and each part's terms
    mapped into the merged vocabulary, so a merge costs array work, not text processing.
    """
    terms = np.unique(np.concatenate([s.arrays["terms"] for s, _ in parts]))
    pieces: dict[str, list[np.ndarray]] = {k: [] for k in ("term", "row", "tf")}
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("start", "end", "chunk", "length")}
    articles: list[tuple[str, ArticleInfo]] = []
    ids: list[str] = []
    texts: list[bytes] = []
    rows_so_far = 0
    for segment, live in parts:
        live = np.asarray(live, dtype=bool)
        kept = np.flatnonzero(live)
        docs, doc_of = np.unique(np.asarray(segment.arrays["doc"])[kept], return_inverse=True)
        doc_base = len(articles)
        articles.extend(segment.articles[int(d)] for d in docs)
        columns.setdefault("doc", []).append(doc_of.astype(np.int32) + doc_base)
        for key in ("start", "end", "chunk", "length"):
            columns[key].append(np.asarray(segment.arrays[key])[kept])
        ids.extend(segment.ids[int(r)] for r in kept)
        texts.extend(segment.text(int(r)).encode("utf-8") for r in kept)
        _rekey(segment, live, terms, rows_so_far, pieces)
        rows_so_far += len(kept)
    arrays = {k: np.concatenate(v) for k, v in columns.items()}
    arrays["text_at"] = np.concatenate([[0], np.cumsum([len(b) for b in texts], dtype=np.int64)])
    postings = [np.concatenate(pieces.pop(k)) for k in ("term", "row", "tf")]  # pieces freed
    arrays.update(_table(terms, *postings))
    return Segment(max(s.seq for s, _ in parts), ids, articles, arrays, b"".join(texts))


def _rekey(
    segment: Segment,
    live: np.ndarray,
    terms: np.ndarray,
    base: int,
    pieces: dict[str, list[np.ndarray]],
) -> None:
    """Append a part's live postings, with merged term ids and renumbered rows."""
    indptr = np.asarray(segment.arrays["indptr"])
    local = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
    rows = np.asarray(segment.arrays["rows"])
    keep = live[rows]
    renumber = np.cumsum(live) - 1 + base
    # int32 throughout: a merge at archive scale holds tens of millions of postings at once.
    merged_ids = np.searchsorted(terms, segment.arrays["terms"]).astype(np.int32)
    pieces["term"].append(merged_ids[local[keep]])
    pieces["row"].append(renumber[rows[keep]].astype(np.int32))
    pieces["tf"].append(np.asarray(segment.arrays["tf"])[keep])


def _table(
    terms: np.ndarray, term: np.ndarray, row: np.ndarray, tf: np.ndarray
) -> dict[str, np.ndarray]:
    """The postings table of (term id, row, tf) triples, terms without postings dropped."""
    order = np.lexsort((row, term))
    term, row, tf = term[order], row[order], tf[order]
    del order
    used = np.unique(term)
    return {
        "terms": terms[used],
        "indptr": np.searchsorted(term, [*used.tolist(), len(terms)]).astype(np.int64),
        "rows": row.astype(np.int32),
        "tf": tf.astype(np.uint16),
    }


# --- on disk --------------------------------------------------------------------------------
def save(segment: Segment, folder: Path) -> str:
    """Write a segment under `folder` as a new sub-folder; its name. Atomic: written, then renamed."""
    name = f"seg-{uuid.uuid4().hex[:16]}"
    tmp = folder / f".tmp-{name}"
    tmp.mkdir(parents=True)
    for key in ARRAYS:
        np.save(tmp / f"{key}.npy", segment.arrays[key])
    (tmp / "texts.bin").write_bytes(bytes(segment.texts))
    (tmp / "ids.json").write_text(json.dumps(segment.ids), encoding="utf-8")
    with (tmp / "articles.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, info in segment.articles:
            out.write(json.dumps([doc_id, to_metadata(info)]) + "\n")
    sums = {file: checksum(tmp / file) for file in FILES}
    meta = {"seq": segment.seq, "chunks": segment.size, "checksums": sums}
    (tmp / "meta.json").write_text(json.dumps(meta))
    _fsync_tree(tmp)
    os.replace(tmp, folder / name)
    segment.name, segment.folder = name, folder
    return name


def load(folder: Path, name: str, verify: bool = True) -> Segment:
    """Open a saved segment, its arrays and texts memory-mapped, once its files are verified
    against the checksums written with it (`Damaged` if one differs); `verify=False` for one
    this process has just written."""
    path = folder / name
    meta = verified(folder, name, FILES if verify else ())
    try:
        arrays = {key: np.load(path / f"{key}.npy", mmap_mode="r") for key in ARRAYS}
        ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        articles = read_articles(folder, name)
    except (ValueError, OSError, KeyError, IndexError) as exc:
        if isinstance(exc, FileNotFoundError) and not path.exists():
            raise  # merged away by another process: the caller reads the manifest again
        raise Damaged(folder, name, "a file", f"cannot be read ({exc})") from exc
    handles: list[Any] = []
    texts: bytes | mmap.mmap = b""
    if (path / "texts.bin").stat().st_size:
        with (path / "texts.bin").open("rb") as raw:
            texts = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        handles.append(texts)
    return Segment(float(meta["seq"]), ids, articles, arrays, texts, name, folder, handles)


def read_articles(folder: Path, name: str) -> list[tuple[str, ArticleInfo]]:
    """The articles a saved segment holds, without opening its arrays."""
    with (folder / name / "articles.jsonl").open(encoding="utf-8") as lines:
        return [(doc_id, article_info(flat)) for doc_id, flat in map(json.loads, lines)]


def adopt(staging: Path, name: str, folder: Path, seq: float) -> None:
    """Move a segment saved under `staging` into `folder`, as of commit sequence `seq`."""
    path = staging / name
    meta = json.loads((path / "meta.json").read_text())
    tmp = path / ".meta.json"
    tmp.write_text(json.dumps({**meta, "seq": seq}))
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path / "meta.json")
    os.replace(path, folder / name)


def remove(folder: Path, name: str) -> None:
    """Delete a segment's files (processes that have it mapped keep reading their copy).

    Renamed out of the `seg-` names first: a kill halfway through the delete must not leave a
    partial segment that catching up would try to read.
    """
    doomed = folder / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(folder / name, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    for file in path.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
