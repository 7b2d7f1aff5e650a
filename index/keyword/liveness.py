"""Which keyword-index rows are live, which tombstones still matter, and which segments merge.

An article belongs to the newest segment that holds it, unless a tombstone at least as new as
that segment removes it. These rules are pure functions of the segments, so every process that
reads a manifest computes the same live rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from index.keyword.segments import Segment

TIER = 8  # this many segments of one size class are merged into one


def live_docs(opened: Sequence[Segment], gone: dict[str, float]) -> list[np.ndarray]:
    """Per segment, which articles are live: held by no newer segment, not removed since."""
    owner: dict[str, int] = {}
    for i, segment in enumerate(opened):
        for doc_id, _ in segment.articles:
            owner[doc_id] = i
    return [
        np.array(
            [owner[d] == i and gone.get(d, -math.inf) < segment.seq for d, _ in segment.articles],
            dtype=bool,
        )
        for i, segment in enumerate(opened)
    ]


def needed_tombstones(opened: Sequence[Segment], gone: dict[str, float]) -> dict[str, float]:
    """The tombstones that still remove something: a segment older than one holds its article.

    Every later segment is newer than every tombstone kept, so one whose article is held only by
    newer segments (or by none, once a merge dropped its dead rows) never matters again.
    """
    oldest: dict[str, float] = {}
    for segment in opened:
        for doc_id, _ in segment.articles:
            if doc_id in gone:
                oldest[doc_id] = min(oldest.get(doc_id, math.inf), segment.seq)
    return {d: t for d, t in gone.items() if oldest.get(d, math.inf) <= t}


def live_rows(opened: Sequence[Segment], docs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per segment, which rows are live: those of its live articles."""
    return [
        d[np.asarray(s.arrays["doc"])] if len(d) else np.zeros(s.size, dtype=bool)
        for s, d in zip(opened, docs, strict=True)
    ]


def merge_group(opened: Sequence[Segment], live: Sequence[np.ndarray]) -> list[int]:
    """Adjacent segments to merge: a full tier of one size class, or one mostly dead."""
    for i, (segment, rows) in enumerate(zip(opened, live, strict=True)):
        if segment.size and rows.sum() < segment.size / 2:
            return [i]
    return full_tier([int(rows.sum()) for rows in live])


def full_tier(sizes: Sequence[int]) -> list[int]:
    """The first TIER adjacent segments of one size class, by their live rows; [] if none."""
    classes = [_size_class(rows) for rows in sizes]
    start = 0
    for end in range(1, len(classes) + 1):
        if end == len(classes) or classes[end] != classes[start]:
            if end - start >= TIER:
                return list(range(start, start + TIER))
            start = end
    return []


def _size_class(rows: int) -> int:
    return int(math.log(max(rows, 1), TIER))
