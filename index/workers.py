"""Article preparation on other cores: cleaning, hyphen repair, chunking and token counts.

That work is CPU-bound Python, so threads would share one core; worker processes take it while
the ingest's own process embeds and writes. Results come back in input order. A small ingest
never pays for starting workers: the first `WARM_UP` articles are prepared in this process.

The whole plan (reading, skipping unchanged articles, handing out and collecting that work) can
run in a forked process of its own (`elsewhere`): embedded Chroma holds the GIL while it writes
(`bench/bench_chroma_gil.py`), so a planning thread in the ingest's process would stop with every
write, and preparation and writes would add up instead of overlapping. Every process started here
dies with the one that started it (PR_SET_PDEATHSIG on Linux), so kill -9 of an ingest stops all.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from index.loading import Skipped, SourceDoc
from index.prepare import PreparedDoc, prepare
from index.settings import IngestSettings

WARM_UP = 64  # articles prepared in-process before workers start
AHEAD = 512  # items a planning process keeps ready while the ingest's process is busy writing
# Preparation has slack and Chroma's writes are the pipeline's limit, so the planning process and
# its workers yield the cores to them (on few cores they would otherwise slow the writer).
PLAN_NICE = 10
_PR_SET_PDEATHSIG = 1

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")  # what `prepared` passes through


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
    process cannot prepare articles meanwhile, and only other processes overlap preparation with
    writes.
    """
    return max(1, min(4, os.cpu_count() or 1))


def prepared(items: Iterable[Task | P], workers: int) -> Iterator[PreparedDoc | Skipped | P]:
    """Tasks prepared on up to `workers` processes, anything else passed through, in input
    order."""
    pool: ProcessPoolExecutor | None = None
    pending: deque[Future[PreparedDoc | Skipped] | PreparedDoc | Skipped | P] = deque()
    seen = 0
    try:
        for item in items:
            if not isinstance(item, Task):
                pending.append(item)
            elif workers <= 0 or seen < WARM_UP:
                pending.append(run_task(item))
            else:
                # Forked, not spawned: a spawned worker re-imports the caller's main script,
                # which runs it again when it lacks a __main__ guard. A forked one only runs
                # `prepare`, which touches none of the locks the other threads may hold.
                pool = pool or ProcessPoolExecutor(
                    workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=die_with,
                    initargs=(os.getpid(),),
                )
                pending.append(pool.submit(run_task, item))
            seen += isinstance(item, Task)
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


def background(produce: Callable[[], Iterator[T]], ahead: int = 64) -> Iterator[T]:
    """Run a generator on a thread, up to `ahead` items ahead; its exceptions surface here."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)

    def work() -> None:
        try:
            for item in produce():
                items.put(("item", item))
            items.put(("end", None))
        except BaseException as exc:
            items.put(("error", exc))

    threading.Thread(target=work, daemon=True).start()
    while True:
        kind, value = items.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


def ahead(
    items: Iterable[T], work: Callable[[T], R], threads: int
) -> Generator[tuple[T, R], None, None]:
    """(item, work(item)) in input order, with up to `threads` items worked on ahead of the
    caller; work's exceptions surface here.

    An ingest embeds this way: embedded Chroma holds the GIL while it writes, so a request sent
    only after a write could not overlap it; requests sent before it are answered meanwhile.
    """
    pool = ThreadPoolExecutor(threads, thread_name_prefix="ahead")
    pending: deque[tuple[T, Future[R]]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(work, item)))
            if len(pending) > threads:
                first, done = pending.popleft()
                yield first, done.result()
        while pending:
            first, done = pending.popleft()
            yield first, done.result()
    finally:
        pool.shutdown(cancel_futures=True)


def elsewhere(produce: Callable[[], Iterator[T]]) -> Iterator[T]:
    """Run a generator in a forked process, up to `AHEAD` items ahead; its exceptions surface
    here. Closing this iterator early stops that process and its workers."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_produce_into, args=(produce, sending, os.getpid()))
    child.start()
    sending.close()
    try:
        while True:
            try:
                kind, value = receiving.recv()
            except EOFError:
                child.join()
                raise RuntimeError(
                    f"the process preparing articles stopped (exit code {child.exitcode})"
                ) from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        receiving.close()
        if child.is_alive():
            child.kill()  # its workers die with it
        child.join()


def _produce_into(produce: Callable[[], Iterator[Any]], sending: Connection, parent: int) -> None:
    die_with(parent)
    os.nice(PLAN_NICE)  # its pool workers, forked from here, inherit it
    try:
        # A thread produces while this one waits on the pipe, so the plan runs ahead meanwhile.
        for item in background(produce, AHEAD):
            sending.send(("item", item))
        sending.send(("end", None))
    except BrokenPipeError:
        return  # the ingest stopped reading: nothing to report to
    except BaseException as exc:
        sending.send(("error", _portable(exc)))


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives a pickle round trip, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def die_with(parent: int) -> None:
    """Be killed when `parent` dies, even by SIGKILL (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # it died before that took effect
            os._exit(1)
