"""Ingestion: JSONL, incremental runs, pruning, bad files and interrupted runs."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from index import workers, writer
from index.client import open_client
from index.ingest import Ingestor
from index.lease import Lease
from index.loading import Skipped, SourceDoc
from index.prepare import PreparedDoc
from index.records import ChunkRecord, to_metadata
from index.settings import IngestSettings
from index.store import ChromaStore
from tests.conftest import ROOT, FakeEmbedder
from tests.support import all_chunks, keyword_index


def make_ingestor(
    data: Path,
    embedder: FakeEmbedder,
    batch_size: int = 64,
    prune: bool = False,
    embed_ahead: int = 1,
    **settings: float,
) -> Ingestor:
    store = ChromaStore(open_client(data, None, 0), "test")
    return Ingestor(
        store,
        embedder,
        IngestSettings(**settings),  # type: ignore[arg-type]
        batch_size=batch_size,
        prune=prune,
        progress=False,
        keywords=keyword_index(data / "keyword"),
        embed_ahead=embed_ahead,
    )


def chunk_ids(store: ChromaStore) -> list[str]:
    return [cid for cid, _, _ in all_chunks(store)]


def test_jsonl_records_take_outlet_from_url_host(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    records = [
        {
            "url": "https://www.usatoday.com/story/a",
            "title": "A",
            "text": "Alpha story text. " * 20,
            "authors": [],
            "publish_date": "2025/03/01",
        },
        {
            "url": "https://theweek.co.uk/b",
            "title": "B",
            "text": "Beta story text. " * 20,
            "publish_date": "",
        },
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n{broken json\n")
    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    report = ingestor.run([path], log=lambda m: None)
    assert report.added == ["https://www.usatoday.com/story/a", "https://theweek.co.uk/b"]
    assert [s.reason for s in report.skipped] == [
        "line 3: malformed JSON (Expecting property name enclosed in double quotes)"
    ]
    docs = ingestor.store.articles()
    assert docs["https://www.usatoday.com/story/a"].outlet == "USA Today"
    assert docs["https://www.usatoday.com/story/a"].date == date(2025, 3, 1)
    assert docs["https://theweek.co.uk/b"].outlet == "The Week"
    assert docs["https://theweek.co.uk/b"].date is None


def test_unchanged_corpus_embeds_nothing_and_changes_replace_chunks(
    corpus_copy: Path, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    ingestor = make_ingestor(tmp_path / "data", embedder)
    first = ingestor.run([corpus_copy], log=lambda m: None)
    assert len(first.added) == 5 and first.chunks > 0
    embedded = embedder.embedded
    again = ingestor.run([corpus_copy], log=lambda m: None)
    assert (again.chunks, len(again.unchanged), embedder.embedded) == (0, 5, embedded)

    target = next(corpus_copy.glob("003_*.txt"))
    target.write_text(
        target.read_text().replace("such ideas.", "such ideas, a brand new closing sentence.")
    )
    changed = ingestor.run([corpus_copy], log=lambda m: None)
    assert changed.updated == ["003_024f1914c924e616"]
    store = ingestor.store
    doc_chunks = [m for _, _, m in all_chunks(store) if m.doc_id == "003_024f1914c924e616"]
    assert doc_chunks and {m.digest for m in doc_chunks} == {
        store.articles()["003_024f1914c924e616"].digest
    }
    assert any(
        "brand new closing sentence" in t
        for _, t, m in all_chunks(store)
        if m.doc_id.startswith("003")
    )


def test_prune_removes_deleted_files(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    ingestor.run([corpus_copy], log=lambda m: None)
    before = sorted((c, t) for c, t, _ in all_chunks(ingestor.store) if c.startswith("004_"))
    gone = next(corpus_copy.glob("004_*.txt"))
    removed = gone.read_text()
    gone.unlink()
    kept = ingestor.run([corpus_copy], log=lambda m: None)
    assert kept.removed == [] and "004_6f646059a541b34c" in ingestor.store.articles()
    ingestor.prune = True
    pruned = ingestor.run([corpus_copy], log=lambda m: None)
    assert pruned.removed == ["004_6f646059a541b34c"]
    assert not any(cid.startswith("004_") for cid in chunk_ids(ingestor.store))

    # Back again: the ids its chunks had before are written anew, not skipped as present.
    (corpus_copy / "004_6f646059a541b34c.txt").write_text(removed)
    assert ingestor.run([corpus_copy], log=lambda m: None).added == ["004_6f646059a541b34c"]
    back = sorted((c, t) for c, t, _ in all_chunks(ingestor.store) if c.startswith("004_"))
    assert back == before and len(back) == ingestor.store.articles()["004_6f646059a541b34c"].chunks


def test_bad_files_are_reported_and_the_rest_ingests(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "Good Article Title\nThe Kremlin said on Friday that talks were paused.\n"
    )
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "empty.md").write_text("   \n")
    (folder / "latin1.txt").write_bytes("Caf\xe9 story".encode("latin-1"))
    (folder / "big.txt").write_text("word " * 400)
    (folder / "nobody.html").write_text("<html><head><title>x</title></head></html>")
    (folder / "broken.json").write_text("{not json")
    (folder / "dangling.txt").symlink_to(folder / "missing-target.txt")
    report = make_ingestor(tmp_path / "data", fake_embedder, max_file_mb=0.001).run(
        [folder], log=lambda m: None
    )
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert report.added == ["good"]
    assert reasons["binary.txt"] == "binary file, not text"
    assert reasons["empty.md"] == "empty file"
    assert reasons["latin1.txt"].startswith("not UTF-8")
    assert "over the" in reasons["big.txt"]
    assert reasons["nobody.html"] == "HTML has no body text"
    assert reasons["broken.json"].startswith("malformed JSON")
    assert reasons["dangling.txt"].startswith("cannot read file")


def test_cli_exits_non_zero_only_when_nothing_ingested(tmp_path: Path) -> None:
    from newsdesk.cli import main

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    env = {"NEWSDESK_DATA_DIR": str(tmp_path / "d"), "NEWSDESK_EMBED_BACKEND": "onnx"}
    result = CliRunner().invoke(main, ["ingest", "-q", str(bad)], env=env)
    assert result.exit_code == 2
    assert "skipped" in result.output and "empty.txt: empty file" in result.output
    assert "nothing could be ingested" in result.output


_CRASHING_INGEST = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.conftest import FakeEmbedder
    from tests.test_ingest import make_ingestor
    from pathlib import Path

    class Announcing(FakeEmbedder):
        def embed_documents(self, texts):
            print("batch", flush=True)  # the test kills us after a few of these
            return super().embed_documents(texts)

    ingestor = make_ingestor(Path({data!r}), Announcing(delay=0.6), batch_size=4)
    ingestor.run([Path({corpus!r})], log=lambda m: None)
    """
)


def test_killed_ingest_leaves_a_usable_index_that_the_next_run_completes(
    corpus_copy: Path, tmp_path: Path
) -> None:
    from rag.retrieve import HybridRetriever
    from rag.types import Filters

    data = tmp_path / "data"
    script = _CRASHING_INGEST.format(root=str(ROOT), data=str(data), corpus=str(corpus_copy))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    batches = 0
    while batches < 3 and proc.stdout.readline():  # no Chroma client here until it is dead
        batches += 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < _chunk_count(data) < 21

    embedder = FakeEmbedder()
    ingestor = make_ingestor(data, embedder, batch_size=4)
    retriever = HybridRetriever(ingestor.store, embedder, keyword_index(tmp_path / "keyword"))
    hits = retriever.search(
        "Kremlin peace talks", Filters(), 3
    ).passages  # the half-built index answers
    committed = ingestor.store.articles()
    assert hits and {p.doc_id for p in hits} <= set(committed)

    report = ingestor.run([corpus_copy], log=lambda m: None)
    assert report.ingested == 5
    docs = ingestor.store.articles()
    chunks = all_chunks(ingestor.store)
    assert all(meta.digest == docs[meta.doc_id].digest for _, _, meta in chunks)  # no leftovers
    assert len(chunks) == sum(a.chunks for a in docs.values())
    assert ingestor.store.lease.pending() == []


def test_new_articles_are_added_and_what_an_interrupted_run_left_is_rewritten(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor = make_ingestor(tmp_path / "data", FakeEmbedder())
    writes: list[tuple[bool, list[str]]] = []
    add_chunks = ChromaStore.add_chunks

    def watch(self: ChromaStore, records: list[ChunkRecord], fresh: bool = False) -> None:
        writes.append((fresh, [r.info.doc_id for r in records]))
        add_chunks(self, records, fresh)

    monkeypatch.setattr(ChromaStore, "add_chunks", watch)
    assert len(ingestor.run([corpus_copy], log=lambda m: None).added) == 5
    # A first ingest never pays for upsert's lookup of an earlier row.
    assert {fresh for fresh, ids in writes if ids} == {True}

    # A run killed after writing a chunk (here: a damaged one) and before its commit.
    store = ingestor.store
    victim = "003_024f1914c924e616"
    chunk_id, _, info = next(c for c in all_chunks(store) if c[2].doc_id == victim)
    store.delete_docs([victim])
    store.chunks.add(
        ids=[chunk_id],
        documents=["damaged"],
        embeddings=[FakeEmbedder().embed_query("damaged")],
        metadatas=[to_metadata(info)],
    )
    assert store.chunks.get(ids=[chunk_id])["documents"] == ["damaged"]
    store.lease.claim("killed")
    store.lease.hold("killed", [victim])
    store.lease.drop("killed")
    ingestor.run([corpus_copy], log=lambda m: None)
    texts = {cid: text for cid, text, _ in all_chunks(store)}
    assert texts[chunk_id] != "damaged" and len(texts) == sum(
        a.chunks for a in store.articles().values()
    )


def _chunk_count(data: Path) -> int:
    try:
        return len(chunk_ids(ChromaStore(open_client(data, None, 0), "test")))
    except Exception:
        return 0


def test_a_second_ingest_waits_for_the_first(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    from index.lease import StoreBusy

    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    ingestor.store.lease.claim("someone-else")  # a live run of this process holds the lease
    with pytest.raises(StoreBusy, match="another ingest is writing this index"):
        ingestor.run([corpus_copy], log=lambda m: None)
    ingestor.store.lease.release("someone-else")
    assert ingestor.run([corpus_copy], log=lambda m: None).ingested == 5


def test_prune_keeps_articles_of_files_skipped_this_time(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    ingestor = make_ingestor(tmp_path / "data", fake_embedder, prune=True)
    ingestor.run([corpus_copy], log=lambda m: None)
    target = next(corpus_copy.glob("004_*.txt"))
    target.write_bytes(b"\x00binary now")
    report = ingestor.run([corpus_copy], log=lambda m: None)
    assert report.removed == [] and [s.path.name for s in report.skipped] == [target.name]
    assert "004_6f646059a541b34c" in ingestor.store.articles()


def test_json_fields_that_are_objects_do_not_stop_the_ingest(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    records = [
        {
            "url": "https://edition.cnn.com/a",
            "source": {"id": "cnn", "name": "CNN"},
            "title": ["A", "B"],
            "text": "The first story text is long enough to count. " * 5,
        },
        {
            "url": "https://x.org/b",
            "text": "The second story text. " * 5,
            "authors": [{"name": "Ann"}],
        },
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    assert ingestor.run([path], log=lambda m: None).ingested == 2
    docs = ingestor.store.articles()
    assert (
        docs["https://edition.cnn.com/a"].outlet == "CNN"
        and docs["https://edition.cnn.com/a"].title == "A, B"
    )


def test_articles_prepared_in_worker_processes_are_those_prepared_in_process(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "WARM_UP", 1)  # all but the first article go to a worker
    stored = []
    for n in (0, 1):
        store = ChromaStore(open_client(tmp_path / f"data-{n}", None, 0), "test")
        settings = IngestSettings(ingest_workers=n)
        keywords = keyword_index(tmp_path / f"keyword-{n}")
        ingestor = Ingestor(
            store, FakeEmbedder(), settings, batch_size=4, progress=False, keywords=keywords
        )
        report = ingestor.run([corpus_copy], log=lambda m: None)
        assert report.ingested == 5
        stored.append(sorted((cid, text, info) for cid, text, info in all_chunks(store)))
    assert stored[0] == stored[1]


def test_a_failure_inside_a_worker_skips_that_article_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "WARM_UP", 0)
    good = SourceDoc("ok", Path("ok.txt"), "A sentence about the harbour. " * 20)
    broken = SourceDoc("bad", Path("bad.txt"), cast(str, None))  # a bug's stand-in
    tasks = [workers.Task(doc, None, "d" * 64, True, IngestSettings()) for doc in (broken, good)]
    out = list(workers.prepared(tasks, 1))
    assert isinstance(out[0], Skipped) and out[0].reason.startswith("failed: ")
    assert not isinstance(out[1], Skipped) and out[1].chunks


@pytest.mark.parametrize("embed_ahead", [1, 4])
def test_a_long_ingest_holds_only_the_articles_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embed_ahead: int
) -> None:
    records = [
        {"url": f"https://example.com/{i}", "title": f"Story {i}", "text": f"Story {i} body. " * 9}
        for i in range(400)
    ]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    leased: list[int] = []
    alive: list[int] = []
    unlisted: list[str] = []  # articles whose chunks were written before a lease named them
    hold, add_chunks = Lease.hold, ChromaStore.add_chunks
    last: set[str] = set()

    def watch(self: Lease, run: str, doc_ids: list[str]) -> None:
        leased.append(len(doc_ids))
        alive.append(sum(type(o) is PreparedDoc for o in gc.get_objects()))
        hold(self, run, doc_ids)
        last.clear()
        last.update(doc_ids)

    def write(self: ChromaStore, records: list[ChunkRecord], fresh: bool = False) -> None:
        unlisted.extend(r.info.doc_id for r in records if r.info.doc_id not in last)
        add_chunks(self, records, fresh)

    monkeypatch.setattr(Lease, "hold", watch)
    monkeypatch.setattr(ChromaStore, "add_chunks", write)
    monkeypatch.setattr(writer, "MERGED", 8)  # writes merge up to this many chunks
    ingestor = make_ingestor(tmp_path / "data", FakeEmbedder(), 8, embed_ahead=embed_ahead)
    assert len(ingestor.run([path], log=lambda m: None).added) == 400
    assert unlisted == []
    # The lease and the memory follow the batches in flight, not the archive.
    assert max(leased) < 100 and max(alive[-20:]) < 150


class OverlapCounter(FakeEmbedder):
    """Counts how many embedding calls run at once."""

    def __init__(self, ahead: int) -> None:
        super().__init__(delay=0.05)
        self.lock = threading.Lock()
        self.running = self.most = self.started = 0
        self.first = threading.Barrier(ahead, timeout=10)  # the first calls wait for each other

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started += 1
            first = self.started <= self.first.parties
        if first:
            self.first.wait()
        try:
            return super().embed_documents(texts)
        finally:
            with self.lock:
                self.running -= 1


def test_an_ingest_keeps_embedding_calls_in_flight_and_stores_what_one_at_a_time_stores(
    corpus_copy: Path, tmp_path: Path
) -> None:
    stored = {}
    for ahead in (1, 3):
        embedder = OverlapCounter(ahead)
        ingestor = make_ingestor(tmp_path / f"data{ahead}", embedder, 2, embed_ahead=ahead)
        assert ingestor.run([corpus_copy], log=lambda m: None).chunks > 6
        assert embedder.most == ahead
        got = ingestor.store.chunks.get(include=["embeddings", "documents"])
        rows = zip(got["ids"], got["documents"] or [], got["embeddings"], strict=True)
        stored[ahead] = {i: (d, [float(x) for x in e]) for i, d, e in rows}
    assert stored[1] == stored[3]


def test_an_ingest_reports_where_its_time_went(corpus_copy: Path, tmp_path: Path) -> None:
    report = make_ingestor(tmp_path / "data", FakeEmbedder(delay=0.05)).run([corpus_copy])
    steps = report.steps
    assert {"waiting for articles", "embedding (background)", "Chroma writes (background)"} <= set(
        steps
    )
    assert steps["embedding (background)"] >= 0.05 and report.profile().startswith(
        "waiting for articles"
    )


class FailsOnCall(FakeEmbedder):
    """An endpoint that fails from its `n`th call on."""

    def __init__(self, n: int) -> None:
        super().__init__(delay=2 * writer.LINGER)  # slow: the writer writes what came before
        self.n = n

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if self.calls + 1 >= self.n:
            raise RuntimeError("endpoint down")
        return super().embed_documents(texts)


def test_a_failed_embedding_stops_every_write_before_the_lease_is_given_up(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    add_chunks, commit_docs, drop_lease = (
        ChromaStore.add_chunks,
        ChromaStore.commit_docs,
        Lease.drop,
    )
    monkeypatch.setattr(
        ChromaStore,
        "add_chunks",
        lambda s, r, fresh=False: events.append("write") or add_chunks(s, r, fresh),
    )
    monkeypatch.setattr(
        ChromaStore,
        "commit_docs",
        lambda s, d, t=frozenset(): events.append("commit") or commit_docs(s, d, t),
    )
    monkeypatch.setattr(
        Lease, "drop", lambda s, run: events.append("gave up") or drop_lease(s, run)
    )
    failing = make_ingestor(tmp_path / "data", FailsOnCall(4), 2, embed_ahead=2)
    with pytest.raises(RuntimeError, match="endpoint down"):
        failing.run([corpus_copy], log=lambda m: None)
    time.sleep(2 * writer.LINGER)  # a writer left running would write its queue meanwhile
    assert "write" in events and events[-1] == "gave up"  # nothing after the lease went
    report = make_ingestor(tmp_path / "data", FakeEmbedder()).run([corpus_copy], log=print)
    assert report.ingested == 5


def test_ingest_progress_counts_articles_of_every_kind_of_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from index.progress import Progress, count_articles

    with gzip.open(tmp_path / "archive.jsonl.gz", "wt") as out:
        out.write('{"text": "a"}\n\n{"text": "b"}\n{"text": "c"}\n')
    (tmp_path / "list.json").write_text('[{"text": "d"}, {"text": "e"}]')
    (tmp_path / "one.txt").write_text("An article.")
    (tmp_path / "broken.jsonl.gz").write_bytes(b"not gzip")
    assert count_articles([tmp_path]) == 3 + 2 + 1 + 1
    progress = Progress([tmp_path], True, delay=0)
    progress.embedded(1200)
    progress.articles(4)
    progress.close()
    shown = capsys.readouterr().err
    assert "4/7 articles, 1,200 chunks embedded" in shown and "left]" in shown
