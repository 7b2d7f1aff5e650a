"""Ingests racing each other and readers following a writer, with real processes.

Two ingests started at the same moment on one folder: exactly one runs, the other says another
ingest is writing. A retriever in this process follows another process's ingest, also when that
ingest is killed, without a restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.client import open_client
from index.ingest import Ingestor
from index.keyword import KeywordIndex
from index.lease import StoreBusy
from index.settings import IngestSettings
from index.store import ChromaStore
from rag.retrieve import HybridRetriever
from rag.types import Filters
from tests.conftest import ROOT, FakeEmbedder, wait_for
from tests.support import all_chunks, keyword_index

BUSY = "another ingest is writing this index"
ROUNDS = 3
FIRST = ("000_19c6ca84e65b3e46.txt", "001_c81ca98ac9a2360a.txt", "manifest.yaml")
ISTANBUL = "002_6d94b88d2c9cad8b"  # says the last Istanbul session lasted 40 minutes


def make_store(data: Path) -> ChromaStore:
    """The embedded store in `data`, as every process here opens it."""
    return ChromaStore(open_client(data, None, 0), "test")


def make_keywords(data: Path) -> KeywordIndex:
    """The keyword index folder in `data`, as every process here opens it."""
    return keyword_index(data / "keyword")


def make_ingestor(
    data: Path, embedder: FakeEmbedder, batch_size: int = 4, **settings: int
) -> Ingestor:
    """An ingestor into `data` without progress bars, keeping the keyword index level."""
    return Ingestor(
        make_store(data),
        embedder,
        IngestSettings(**settings),
        batch_size=batch_size,
        progress=False,
        keywords=make_keywords(data),
    )


# Imports first, then "ready", then it waits for the go file: the two racers open the store and
# claim the lease at the same moment, not one import time apart.
_RACER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.conftest import FakeEmbedder
    from tests.test_ingest_races import make_ingestor

    print("ready", flush=True)
    go = Path({go!r})
    while not go.exists():
        time.sleep(0.001)
    ingestor = make_ingestor(Path({data!r}), FakeEmbedder(delay=0.4))
    report = ingestor.run([Path({corpus!r})], log=lambda m: None)
    print("ingested", report.ingested, flush=True)
    """
)

# Slow enough that the test sees its first article committed well before the last.
_SLOW_INGEST = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.conftest import FakeEmbedder
    from tests.test_ingest_races import make_ingestor

    make_ingestor(Path({data!r}), FakeEmbedder(delay=0.5)).run([Path({corpus!r})], log=lambda m: None)
    """
)


def _race(data: Path, corpus: Path, tmp_path: Path) -> list[tuple[int, int, str, str]]:
    """Start two ingests at the same moment; (exit code, pid, stdout, stderr) of each."""
    go = tmp_path / f"go-{uuid.uuid4().hex}"
    script = _RACER.format(root=str(ROOT), go=str(go), data=str(data), corpus=str(corpus))
    logs = [tmp_path / f"racer-{uuid.uuid4().hex}.err" for _ in range(2)]
    procs = []
    for log in logs:
        with log.open("w") as err:  # a file, not a pipe: nobody reads it until the end
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", script],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
            )
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for proc, log in zip(procs, logs, strict=True):
        out, _ = proc.communicate(timeout=180)
        results.append((proc.returncode, proc.pid, out, log.read_text()))
    return results


def _assert_one_ran(results: list[tuple[int, int, str, str]]) -> None:
    """Exactly one racer ingested; the other stopped with the busy message naming it."""
    won = [r for r in results if r[0] == 0]
    lost = [r for r in results if r[0] != 0]
    assert len(won) == 1 and len(lost) == 1, results
    assert "ingested 5" in won[0][2]
    assert f"{BUSY} (pid {won[0][1]} on " in lost[0][3], lost[0][3]
    assert "wait for it to finish or stop it" in lost[0][3]


def _assert_complete(data: Path) -> None:
    """Five articles, each with exactly its own chunks, and no unfinished work recorded."""
    store = make_store(data)
    docs = store.articles()
    chunks = all_chunks(store)
    assert len(docs) == 5
    assert all(info.digest == docs[info.doc_id].digest for _, _, info in chunks)
    assert len(chunks) == sum(a.chunks for a in docs.values())
    assert store.lease.pending() == [] and not store.lease.writing()


def test_of_two_ingests_started_together_on_a_new_folder_exactly_one_runs(
    corpus_copy: Path, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        data = tmp_path / f"data-{round_}"  # a new folder: the racers also create the schema
        _assert_one_ran(_race(data, corpus_copy, tmp_path))
        _assert_complete(data)


def test_of_two_ingests_started_together_on_an_existing_index_exactly_one_runs(
    corpus_copy: Path, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        data = tmp_path / f"data-{round_}"
        # Indexed with other chunk sizes, so every article has to be embedded again.
        make_ingestor(data, FakeEmbedder(), chunk_size=200, chunk_overlap=40).run(
            [corpus_copy], log=lambda m: None
        )
        _assert_one_ran(_race(data, corpus_copy, tmp_path))
        _assert_complete(data)


def test_a_running_retriever_shows_what_a_killed_ingest_committed(
    corpus_copy: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    later = tmp_path / "later"
    later.mkdir()
    for path in corpus_copy.iterdir():
        if path.name not in FIRST:
            shutil.move(path, later / path.name)
    make_ingestor(data, FakeEmbedder()).run([corpus_copy], log=lambda m: None)
    store = make_store(data)
    # The defaults a server runs with, on the folder's keyword index.
    retriever = HybridRetriever(store, FakeEmbedder(), keywords=make_keywords(data))
    assert len(retriever.catalogue().articles) == 2

    for path in later.iterdir():
        shutil.move(path, corpus_copy / path.name)
    script = _SLOW_INGEST.format(root=str(ROOT), data=str(data), corpus=str(corpus_copy))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: ISTANBUL in store.articles(), 120)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    committed = set(store.articles())
    assert 2 < len(committed) < 5  # killed mid-run, after some commits

    assert wait_for(lambda: set(retriever.catalogue().articles) == committed, 5)
    hits = retriever.search("How long did the Istanbul session last?", Filters(), 3).passages
    assert any(p.doc_id == ISTANBUL and "40 minutes" in p.text for p in hits)

    # A server started after the crash maps the folder's segments; the rerun completes it.
    _assert_keyword_index_matches(data, committed)
    make_ingestor(data, FakeEmbedder()).run([corpus_copy], log=lambda m: None)
    _assert_complete(data)
    _assert_keyword_index_matches(data, set(make_store(data).articles()))


def _assert_keyword_index_matches(data: Path, committed: set[str]) -> None:
    """A fresh reader of the folder's keyword index sees exactly the committed chunks, once."""
    fresh = HybridRetriever(make_store(data), FakeEmbedder(), keywords=make_keywords(data))
    snap = fresh.snapshot()
    assert set(snap.articles) == committed
    live = [snap.chunk_id(int(r)) for r in np.flatnonzero(snap.live)]
    stored = [cid for cid, _, info in all_chunks(make_store(data)) if info.doc_id in committed]
    assert len(live) == len(set(live)) and set(live) <= set(stored)
    assert snap.size == sum(snap.articles[d].chunks for d in committed)


def test_a_long_ingest_is_caught_up_incrementally_without_rereading_the_store(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    store = make_store(data)
    # A server on the same folder: it and the ingest keep one keyword index level between them.
    reader = HybridRetriever(store, FakeEmbedder(), poll_seconds=0, keywords=make_keywords(data))
    assert reader.catalogue().articles == {}
    fetched: list[str] = []
    full_reads: list[str] = []
    chunks_of, articles = ChromaStore.chunks_of, ChromaStore.articles

    def counting_chunks(self: ChromaStore, doc_ids: Sequence[str]) -> list:
        fetched.extend(doc_ids)
        return chunks_of(self, doc_ids)

    def counting_articles(self: ChromaStore) -> dict:
        full_reads.append(self.revisions.current())
        return articles(self)

    monkeypatch.setattr(ChromaStore, "chunks_of", counting_chunks)
    monkeypatch.setattr(ChromaStore, "articles", counting_articles)
    revisions: set[str] = set()
    seen: list[int] = []

    class Asking(FakeEmbedder):
        """A question arrives with every embedding batch of the ingest."""

        def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
            revisions.add(store.revisions.current())
            seen.append(len(reader.catalogue().articles))
            return super().embed_documents(texts)

    make_ingestor(data, Asking(delay=0.2), batch_size=2).run([corpus_copy], log=lambda m: None)
    assert len(revisions) > 2  # every committed batch moved the revision ...
    assert seen == sorted(seen) and 0 < seen[-1] < 5  # ... and questions saw each commit land
    assert len(reader.catalogue().articles) == 5  # the final state is picked up at once
    assert sorted(fetched) == sorted(set(fetched)) and len(fetched) == 5  # each article once
    assert full_reads[1:] == []  # only the ingest's own plan read every article record


def test_a_failed_run_gives_up_the_lease_and_leaves_its_work_to_the_next(tmp_path: Path) -> None:
    store = make_store(tmp_path / "data")
    store.lease.claim("failed")
    store.lease.hold("failed", ["half-written"])
    with pytest.raises(StoreBusy, match=BUSY):
        make_store(tmp_path / "data").lease.claim("next")
    store.lease.drop("failed")
    assert not store.lease.writing()
    assert make_store(tmp_path / "data").lease.claim("next") == ["half-written"]


def _claim_together(stores: list[ChromaStore]) -> list[str]:
    """Claim the lease from each store on its own thread at the same moment; what each got."""
    start = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def claim(store: ChromaStore, run: str) -> None:
        start.wait()
        try:
            store.lease.claim(run)
            outcomes.append("won")
        except StoreBusy as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=claim, args=(s, f"run-{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.server
def test_on_a_chroma_server_one_of_two_simultaneous_claims_backs_off(
    chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    host, port = chroma_server
    for round_ in range(ROUNDS):
        prefix = f"race-{round_}-{uuid.uuid4().hex[:8]}"
        outcomes = _claim_together(
            [ChromaStore(open_client(tmp_path, host, port), prefix) for _ in range(2)]
        )
        assert sorted(o.startswith(BUSY) for o in outcomes) == [False, True], outcomes
        assert "won" in outcomes
