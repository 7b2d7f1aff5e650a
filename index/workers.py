"""Article preparation on other cores: cleaning, hyphen repair, chunking and token counts.

That work is CPU-bound Python, so threads would share one core; worker processes take it while
the ingest's own process embeds and writes. Results come back in input order. A small ingest
never pays for starting workers: the first `WARM_UP` articles are prepared in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from index.loading import Skipped, SourceDoc
from index.prepare import PreparedDoc, prepare
from index.settings import IngestSettings

WARM_UP = 64  # articles prepared in-process before workers start


@dataclass
class Task:
    """One changed article to prepare."""

    item: SourceDoc
    entry: dict[str, Any] | None
    digest: str
    is_new: bool
    settings: IngestSettings


def run_task(task: Task) -> PreparedDoc | Skipped:
    """Prepare one article; a failure becomes a skip naming it (workers never raise)."""
    item = task.item
    try:
        prepared = prepare(item, task.entry, task.digest, task.settings)
    except Exception as exc:  # a bug met by one hostile article must not stop the corpus
        return Skipped(item.path, f"{item.where}{failure(exc)}")
    if not prepared.chunks:  # e.g. only furniture, or invisible
        return Skipped(item.path, f"{item.where}no article text left after cleaning")
    prepared.is_new = task.is_new
    return prepared


def failure(exc: Exception) -> str:
    """An unexpected error as a one-line skip reason: its type and its message's first line."""
    lines = str(exc).strip().splitlines()
    return f"failed: {type(exc).__name__}" + (f": {lines[0][:200]}" if lines else "")


def default_workers() -> int:
    """Worker processes for a machine: one per core, up to 4.

    Not one fewer for the ingest process: embedded Chroma holds the GIL while it writes, so that
    process cannot prepare articles meanwhile, and only workers overlap preparation with writes
    (`bench_scale.py --workers 1000`: 0, 1 and 2 workers took 28.4, 26.8 and 23.7 s on 2 cores).
    """
    return max(1, min(4, os.cpu_count() or 1))


def prepared(items: Iterable[Task | Skipped], workers: int) -> Iterator[PreparedDoc | Skipped]:
    """Tasks prepared (skips passed through), in input order, on up to `workers` processes."""
    pool: ProcessPoolExecutor | None = None
    pending: deque[Future[PreparedDoc | Skipped] | PreparedDoc | Skipped] = deque()
    seen = 0
    try:
        for item in items:
            if isinstance(item, Skipped):
                pending.append(item)
            elif workers <= 0 or seen < WARM_UP:
                pending.append(run_task(item))
            else:
                # Forked, not spawned: a spawned worker re-imports the caller's main script,
                # which runs it again when it lacks a __main__ guard. A forked one only runs
                # `prepare`, which touches none of the locks the other threads may hold.
                pool = pool or ProcessPoolExecutor(
                    workers, mp_context=multiprocessing.get_context("fork")
                )
                pending.append(pool.submit(run_task, item))
            seen += not isinstance(item, Skipped)
            while pending and (len(pending) > 4 * max(workers, 1) or _done(pending[0])):
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _done(head: Any) -> bool:
    return not isinstance(head, Future) or head.done()


def _result(head: Any) -> PreparedDoc | Skipped:
    return head.result() if isinstance(head, Future) else head
