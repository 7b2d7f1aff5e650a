"""Neighbouring chunks of one article, retrieved together, merge into one passage window.

Chunks are small so that search is precise, but the answer often sits a sentence beyond the
chunk that matched. When several chunks of the same article rank, the ones at most one chunk
apart become one window of up to MAX_CHUNKS chunks, which frees the other slots of the top k
for other articles (the idea of llama-index's auto-merging retriever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rag.types import Passage

MAX_CHUNKS = 3


@dataclass
class _Window:
    best: Passage
    doc_id: str
    lo: int
    hi: int

    def absorbs(self, doc_id: str, index: int) -> bool:
        """Whether chunk `index` of `doc_id` joins this window without making it too long."""
        if doc_id != self.doc_id or not self.lo - 2 <= index <= self.hi + 2:
            return False
        return max(self.hi, index) - min(self.lo, index) < MAX_CHUNKS


ChunkLookup = Callable[[str, int], Passage]


def merge_windows(
    ranked: Iterable[Passage], chunk_of: ChunkLookup, index_of: Callable[[str], int], limit: int
) -> list[Passage]:
    """Up to `limit` passages in rank order, each a window of adjacent chunks of one article.

    `chunk_of(doc_id, n)` gives chunk n of an article as a passage; `index_of(chunk_id)` gives
    a chunk's number.
    """
    windows: list[_Window] = []
    for passage in ranked:
        index = index_of(passage.chunk_id)
        window = next((w for w in windows if w.absorbs(passage.doc_id, index)), None)
        if window is not None:
            window.lo, window.hi = min(window.lo, index), max(window.hi, index)
        elif len(windows) < limit:
            windows.append(_Window(passage, passage.doc_id, index, index))
        else:
            break
    return [_stitch(w, chunk_of) for w in windows]


def _stitch(window: _Window, chunk_of: ChunkLookup) -> Passage:
    """The window's text from its chunks, overlaps removed."""
    if window.lo == window.hi:
        return window.best
    parts = [chunk_of(window.doc_id, i) for i in range(window.lo, window.hi + 1)]
    first = parts[0].start
    text, end, roles = parts[0].text, parts[0].end, set(parts[0].roles)
    for part in parts[1:]:
        # Chunks overlap by whole sentences; a gap between them is the whitespace that split
        # them, kept as long as it was so that offsets into the window are the article's.
        text += (
            part.text[end - part.start :]
            if part.start < end
            else " " * (part.start - end) + part.text
        )
        end = part.end
        shift = part.start - first
        roles.update((s + shift, e + shift, role) for s, e, role in part.roles)
    chunk_id = f"{parts[0].chunk_id}+{window.hi - window.lo}"
    update = {"text": text, "start": first, "end": end, "chunk_id": chunk_id}
    return window.best.model_copy(update={**update, "roles": _merged(roles)})


def _merged(roles: set[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Roles in order, a span cut at a chunk's edge joined to the rest of it."""
    out: list[tuple[int, int, str]] = []
    for start, end, role in sorted(roles):
        if out and out[-1][2] == role and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]), role)
        else:
            out.append((start, end, role))
    return out
