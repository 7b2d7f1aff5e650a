"""Processes writing one embedded folder in turn: a server that ingested at start, then two
ingests from processes of their own while the server reads on. Embedded Chroma keeps a copy of
the vector index in each process; these tests pin that writes in turn lose nothing and stay
readable by all.

A process that wrote must not write again through its first copy after another process wrote:
that copy is stale and the last to save wins (in a scratch run that did it, a fresh process then
failed with "Error finding id" in seven runs of nine). Every `newsdesk ingest` is a process of its
own; a server writes through its feed (`index.feed`), which opens a fresh copy for each request,
and while it serves, `newsdesk ingest` on its folder stops (`index.owner`)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from index.feed import Feed
from index.owner import FolderServed, ServerMark, refuse_if_served
from index.store import ChromaStore
from rag.retrieve import HybridRetriever
from rag.types import Filters
from tests.conftest import ROOT, FakeEmbedder, wait_for
from tests.test_ingest_races import make_ingestor, make_keywords, make_store

# Enough chunks that Chroma moves them from its brute-force buffer into the HNSW files
# (its sync threshold is 1,000), which is where a stale copy would lose vectors.
LATER = 400

_INGEST = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.conftest import FakeEmbedder
    from tests.test_ingest_races import make_ingestor

    make_ingestor(Path({data!r}), FakeEmbedder()).run([Path({path!r})], log=lambda m: None)
    """
)

# A process that never wrote: every chunk is readable with its vector, and a sample of them
# are found by their own vector, so the HNSW index holds every writer's vectors.
_CHECK = textwrap.dedent(
    """
    import random, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.test_ingest_races import make_store

    store = make_store(Path({data!r}))
    got = store.chunks.get(include=["embeddings"])
    articles = store.articles()
    assert len(got["ids"]) == sum(a.chunks for a in articles.values()), "chunks lost"
    sample = random.Random(0).sample(range(len(got["ids"])), 200)
    found = store.chunks.query(
        query_embeddings=[got["embeddings"][i] for i in sample], n_results=3, include=[]
    )["ids"]
    missed = [got["ids"][i] for i, near in zip(sample, found) if got["ids"][i] not in near]
    # HNSW search is approximate: a stray miss is not a loss, a stale copy loses whole batches.
    assert len(missed) <= 5, f"vectors not found by themselves: {{missed[:3]}}"
    print(len(articles), len(got["ids"]))
    """
)


def _articles(path: Path, first: int, count: int) -> Path:
    """`count` synthetic articles of about 1,000 words, each with a word of its own."""
    rng = random.Random(first)
    vocabulary = [f"w{n}" for n in range(3000)]
    with path.open("w") as out:
        for i in range(first, first + count):
            words = rng.choices(vocabulary, k=1000)
            words[rng.randrange(len(words))] = f"marker{i}"
            record = {
                "url": f"https://example.com/{i}",
                "title": f"Story {i}",
                "outlet": "Wire",
                "date": "2025-08-27",
                "text": " ".join(words),
            }
            out.write(json.dumps(record) + "\n")
    return path


def _found_by_its_vector(retriever: HybridRetriever, doc_id: str) -> bool:
    """Whether dense search finds each of the article's chunks by the chunk's own vector."""
    got = retriever.store.chunks.get(where={"doc_id": doc_id}, include=["documents"])
    vectors = FakeEmbedder().embed_documents(got["documents"])
    near = [retriever.store.query(v, 2, None) for v in vectors]
    return all(cid in {n for n, _ in found} for cid, found in zip(got["ids"], near, strict=True))


def _run(script: str, **values: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script.format(root=str(ROOT), **values)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_server_that_ingested_at_start_follows_two_later_ingests_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # Like `newsdesk serve` on an empty folder: ingest, then answer from the same process.
    make_ingestor(data, FakeEmbedder()).run([_articles(tmp_path / "a.jsonl", 0, 20)], log=print)
    retriever = HybridRetriever(make_store(data), FakeEmbedder(), keywords=make_keywords(data))
    assert len(retriever.catalogue().articles) == 20  # its view is taken before the other ingest
    assert retriever.search("marker3", Filters(), 3).passages  # and its vectors are loaded

    later = _articles(tmp_path / "b.jsonl", 20, LATER)
    _run(_INGEST, data=str(data), path=str(later))
    last = f"https://example.com/{20 + LATER - 1}"
    assert wait_for(lambda: last in retriever.catalogue().articles, 5)
    hits = retriever.search(f"marker{20 + LATER - 1}", Filters(), 3).passages
    assert any(p.doc_id == last and p.bm25 for p in hits)  # found by its word, not by chance
    # ... and by its vector: the server's vector side follows the other process's writes too.
    assert wait_for(lambda: _found_by_its_vector(retriever, last), 15)

    # A third process writes after the other's HNSW files were saved, while the first reads on.
    _run(_INGEST, data=str(data), path=str(_articles(tmp_path / "c.jsonl", 500, 20)))
    assert wait_for(lambda: "https://example.com/519" in retriever.catalogue().articles, 5)
    articles, chunks = map(int, _run(_CHECK, data=str(data)).split())
    assert articles == 20 + LATER + 20 and chunks > 1000


def _feed(data: Path, retriever: HybridRetriever) -> Feed:
    """The feed a server over `data` would have, writing as `retriever`'s process."""

    def make(store: ChromaStore) -> Any:
        ingestor = make_ingestor(data, FakeEmbedder())
        ingestor.store, ingestor.keywords = store, retriever.live.keywords
        return ingestor

    return Feed(retriever.store, make, data / "feed", retriever.live.follow)


def test_a_server_feeding_after_another_process_ingested_loses_no_vector(tmp_path: Path) -> None:
    """Issue 28: an ingest that began before the server started writes while it serves; the
    server's feed then writes after it, and every writer's vectors survive."""
    data = tmp_path / "data"
    make_ingestor(data, FakeEmbedder()).run([_articles(tmp_path / "a.jsonl", 0, 20)], log=print)
    retriever = HybridRetriever(make_store(data), FakeEmbedder(), keywords=make_keywords(data))
    assert retriever.search("marker3", Filters(), 3).passages  # its vectors are loaded
    _run(_INGEST, data=str(data), path=str(_articles(tmp_path / "b.jsonl", 20, LATER)))

    feed = _feed(data, retriever)
    records = [json.loads(line) for line in _articles(tmp_path / "c.jsonl", 900, LATER).open()]
    outcomes = feed.add(records)
    assert {o.status for o in outcomes} == {"added"}
    # Citable at once, by word and by vector, with no poll or reopen in between.
    last = records[-1]["url"]
    hits = retriever.search(f"marker{900 + LATER - 1}", Filters(), 3).passages
    assert any(p.doc_id == last and p.bm25 for p in hits)
    assert _found_by_its_vector(retriever, last)
    assert feed.add(records[:1])[0].status == "unchanged"
    articles, chunks = map(int, _run(_CHECK, data=str(data)).split())
    assert articles == 20 + LATER + LATER and chunks > 2000


def test_while_a_server_holds_the_folder_an_ingest_stops_with_one_line_naming_it(
    tmp_path: Path,
) -> None:
    mark = ServerMark(tmp_path)
    mark.take("http://127.0.0.1:7860")
    with pytest.raises(FolderServed) as refused:
        refuse_if_served(tmp_path, "ingest into it")
    line = str(refused.value)
    assert "\n" not in line and f"pid {os.getpid()}" in line
    assert "http://127.0.0.1:7860/api/articles" in line and "stop the server first" in line
    with pytest.raises(FolderServed):  # a second server does not own it (and only reads)
        ServerMark(tmp_path).take("http://127.0.0.1:7861")
    mark.release()
    refuse_if_served(tmp_path, "ingest into it")  # free again
