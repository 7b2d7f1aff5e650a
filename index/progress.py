"""Ingest progress a person can read: articles done of the total, chunks embedded, time left.

The total is counted before the run, cheaply: a JSON-lines file (gzip too) counts its non-blank
lines, a JSON list its items, any other file one article. What is skipped or unchanged counts
as done, so the time left is about the articles still to embed.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

from index.loading import discover

MAX_COUNTED_BYTES = 64 << 20  # a JSON file parsed only to count its articles
BAR = (
    "{desc}: {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} articles{postfix} "
    "[{elapsed} elapsed, {remaining} left]"
)


def count_articles(paths: list[Path]) -> int:
    """About how many articles the files under `paths` hold."""
    return sum(_in_file(file) for file, _root in discover(paths))


def _in_file(file: Path) -> int:
    name = file.name.lower()
    try:
        if name.endswith(".jsonl.gz"):
            with gzip.open(file, "rb") as handle:
                return sum(1 for line in handle if line.strip())
        if name.endswith(".jsonl"):
            with file.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
        if name.endswith((".json", ".json.gz")):
            opener: Any = gzip.open if name.endswith(".gz") else open
            with opener(file, "rb") as handle:
                data = handle.read(MAX_COUNTED_BYTES + 1)
            if len(data) > MAX_COUNTED_BYTES:
                return 1  # too big to parse just to count; the ingest's own limit applies
            loaded = json.loads(data)
            return len(loaded) if isinstance(loaded, list) else 1
    except (OSError, EOFError, ValueError):
        pass  # the ingest itself says what is wrong with the file
    return 1


class Progress:
    """A bar on stderr (when enabled) that an ingest moves as articles finish."""

    def __init__(self, paths: list[Path], enabled: bool, delay: float = 2.0) -> None:
        """`delay`: seconds before the bar shows, so a quick ingest prints none."""
        self.chunks = 0
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            total = count_articles(paths)
            self._bar = tqdm(
                total=total, desc="ingest", bar_format=BAR, file=sys.stderr, delay=delay
            )
            self._bar.set_postfix_str("0 chunks embedded", refresh=False)

    def articles(self, done: int) -> None:
        """`done` more articles are finished: embedded and written, skipped or unchanged."""
        if self._bar is not None and done:
            self._bar.update(min(done, max(self._bar.total - self._bar.n, 0)))

    def embedded(self, chunks: int) -> None:
        """`chunks` more chunks are embedded and written."""
        self.chunks += chunks
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.chunks:,} chunks embedded", refresh=False)

    def close(self) -> None:
        """Leave the bar at its last state."""
        if self._bar is not None:
            self._bar.close()
