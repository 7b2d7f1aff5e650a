"""The ingest's plan in a process of its own: same results, errors that reach the ingest, no orphans."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import plan, workers
from index.ingest import Ingestor
from tests.conftest import ROOT, FakeEmbedder
from tests.support import all_chunks
from tests.test_ingest import make_ingestor as ingesting


def make_ingestor(data: Path, ingest_workers: int) -> Ingestor:
    """An ingestor into `data` preparing on `ingest_workers` processes (0: on a thread)."""
    return ingesting(data, FakeEmbedder(), batch_size=4, ingest_workers=ingest_workers)


def test_a_plan_in_its_own_process_reports_and_stores_what_a_thread_plan_does(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "WARM_UP", 1)  # the forked plan also hands work to a worker
    (corpus_copy / "empty.txt").write_text("")
    outcomes = []
    for n in (0, 1):  # 0: planned on a thread of this process; 1: in a forked process
        corpus = shutil.copytree(corpus_copy, tmp_path / f"corpus-{n}")
        ingestor = make_ingestor(tmp_path / f"data-{n}", n)
        lines: list[str] = []
        first = ingestor.run([corpus], log=lines.append)
        next(corpus.glob("000_*.txt")).write_text("Rewritten.\n\n" + "New text here. " * 40)
        second = ingestor.run([corpus], log=lines.append)
        outcomes.append(
            (
                sorted(first.added),
                [s.reason for s in first.skipped],
                sorted(second.unchanged),
                second.updated,
                [line.replace(str(corpus), "") for line in lines],
                sorted(all_chunks(ingestor.store)),
            )
        )
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][0]) == 5 and outcomes[0][1] == ["empty file"]
    assert len(outcomes[0][2]) == 4 and len(outcomes[0][3]) == 1


def test_an_error_in_a_forked_plan_stops_the_ingest_with_it_and_loses_nothing(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(paths: list[Path]) -> list[tuple[Path, Path]]:
        raise ValueError("a bug met while listing the files")

    ingestor = make_ingestor(tmp_path / "data", 1)
    monkeypatch.setattr(plan, "discover", broken)  # the forked process inherits it
    with pytest.raises(ValueError, match="a bug met while listing the files"):
        ingestor.run([corpus_copy], log=lambda m: None)
    monkeypatch.undo()
    assert ingestor.run([corpus_copy], log=lambda m: None).ingested == 5  # the lease was given up


def _endless() -> Iterator[int]:
    n = 0
    while True:
        yield n
        n += 1


def test_closing_a_forked_plan_early_stops_its_process() -> None:
    before = set(_descendants(os.getpid()))
    items = workers.elsewhere(_endless)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    started = set(_descendants(os.getpid())) - before
    assert started, "the plan did not run in a process of its own"
    items.close()
    assert not any(_running(pid) for pid in started)


_KILLED_INGEST = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from index import workers
    from tests.conftest import FakeEmbedder
    from tests.test_ingest import make_ingestor

    workers.WARM_UP = 0  # every article goes to a worker of the planning process

    class Announcing(FakeEmbedder):
        def embed_documents(self, texts):
            print("batch", flush=True)  # the test kills us after a few of these
            return super().embed_documents(texts)

    ingestor = make_ingestor(Path({data!r}), Announcing(delay=0.2), batch_size=4, ingest_workers=2)
    ingestor.run([Path({corpus!r})], log=lambda m: None)
    """
)


def test_kill_9_of_an_ingest_stops_its_planning_process_and_workers(tmp_path: Path) -> None:
    records = [
        {"url": f"https://example.com/{i}", "title": f"Story {i}", "text": f"Story {i} body. " * 60}
        for i in range(2000)  # more than the plan runs ahead, so its workers are still busy
    ]
    corpus = tmp_path / "many.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records))
    data = tmp_path / "data"
    script = _KILLED_INGEST.format(root=str(ROOT), data=str(data), corpus=str(corpus))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for _ in range(3):
            assert proc.stdout.readline()
        started = _descendants(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(started) >= 2, "expected a planning process and its workers"
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in started)

    ingestor = make_ingestor(data, 2)  # finishes what the killed run left
    assert ingestor.run([corpus], log=lambda m: None).ingested == len(records)
    store = ingestor.store
    assert store.lease.pending() == [] and len(all_chunks(store)) == sum(
        a.chunks for a in store.articles().values()
    )


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its parent's wait would remove it


def test_ahead_works_on_items_in_threads_and_yields_them_in_order() -> None:
    lock = threading.Lock()
    running, most = [0], [0]

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02 * (5 - i % 5))  # later items finish first
        with lock:
            running[0] -= 1
        return i * i

    assert list(workers.ahead(range(12), work, 3)) == [(i, i * i) for i in range(12)]
    assert most[0] == 3


def test_ahead_raises_what_the_work_raised_after_the_items_before_it() -> None:
    def work(i: int) -> int:
        if i == 4:
            raise ValueError("bad item 4")
        return i

    got = []
    with pytest.raises(ValueError, match="bad item 4"):
        for item, _ in workers.ahead(range(10), work, 2):
            got.append(item)
    assert got == [0, 1, 2, 3]
