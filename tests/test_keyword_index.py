"""The persisted keyword index: exact BM25 over live rows, caught up by deltas, merged in tiers."""

from __future__ import annotations

import json
import logging
import random
import shutil
from dataclasses import asdict, replace
from datetime import date
from functools import partial
from pathlib import Path

import bm25s
import numpy as np
import pytest

from index.client import open_client
from index.ingest import Ingestor
from index.keyword import KeywordIndex, Snapshot, Stager, View, segments
from index.keyword.index import MANIFEST
from index.keyword.liveness import TIER, live_docs, live_rows, needed_tombstones
from index.keyword.segments import Entry, Segment
from index.keyword.staging import STAGED
from index.keyword.terms import RULES, make_stemmer, tokenize, tokens_version
from index.records import ArticleInfo, ChunkInfo, ChunkRecord, DocRecord
from index.revision import Revisions
from index.settings import IngestSettings
from index.store import ChromaStore
from rag import retrieve
from rag.filters import chroma_where, conditions
from rag.retrieve import HybridRetriever
from rag.types import Filters
from tests.conftest import FakeEmbedder

WORDS = "drone strike ceasefire talks istanbul kyiv minister election vote flood court".split()
QUERIES = ["drone strike talks", "flood flood court", "istanbul minister vote"]
tokens = partial(tokenize, stemmer=make_stemmer())
TERMS = tokens_version()


def _article(i: int) -> ArticleInfo:
    title = f"title {WORDS[i % len(WORDS)]}"
    return ArticleInfo(f"d{i}", "x", f"o{i % 3}", date(2025, 1, 1 + i % 20), title, None)


def _segment(seq: float, docs: range, rng: random.Random) -> Segment:
    entries = []
    for i in docs:
        ref = {k: v for k, v in asdict(_article(i)).items() if k in ChunkInfo.__match_args__}
        for n in range(rng.randint(1, 4)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
            entries.append(Entry(f"d{i}::{n}", text, ChunkInfo(**ref, start=0, end=1, chunk=n)))
    return segments.build(seq, [(f"d{i}", _article(i)) for i in docs], entries, tokens)


def _snapshot(parts: list[Segment], gone: dict[str, float]) -> Snapshot:
    docs = live_docs(parts, gone)
    return Snapshot(
        View("r", 0.0, (0, 0), tuple(parts), tuple(docs), tuple(live_rows(parts, docs)))
    )


def _live(snap: Snapshot) -> list[int]:
    return [int(r) for r in np.flatnonzero(snap.live)]


@pytest.fixture
def layered() -> Snapshot:
    """Four segments, one article superseded by a fifth, one removed by a tombstone."""
    rng = random.Random(1)
    parts = [_segment(float(s), range(s * 10, s * 10 + 10), rng) for s in range(4)]
    parts.append(_segment(5.0, range(3, 4), rng))
    return _snapshot(parts, {"d15": 6.0})


def test_bm25_scores_equal_one_bm25s_index_over_the_live_chunks(layered: Snapshot) -> None:
    rows = _live(layered)
    texts = [f"{layered.info(r).title}\n{layered.text(r)}" for r in rows]
    reference = bm25s.BM25()
    reference.index(tokens(texts), show_progress=False)
    for query in QUERIES:
        expected = reference.get_scores(tokens([query])[0])
        got = layered.scores(tokens([query])[0])[rows]
        assert np.allclose(got, expected, atol=1e-5)


def test_superseded_and_removed_articles_are_not_live(layered: Snapshot) -> None:
    assert "d15" not in layered.articles and len(layered.articles) == 39
    d3 = [layered.locate(r)[0] for r in _live(layered) if layered.info(r).doc_id == "d3"]
    assert d3 and set(d3) == {4}  # only the newest segment's copy
    assert not layered.mask(conditions(Filters())).sum() < layered.size


def test_a_merge_keeps_every_score_and_drops_dead_rows(layered: Snapshot) -> None:
    merged = segments.merge(list(zip(layered.segments, _split(layered), strict=True)))
    one = _snapshot([merged], {})
    assert merged.size == layered.size and set(one.articles) == set(layered.articles)
    for query in QUERIES:
        before, after = layered.scores(tokens([query])[0]), one.scores(tokens([query])[0])
        for row in _live(layered):
            assert after[_row(one, layered.chunk_id(row))] == pytest.approx(before[row], abs=1e-6)


def test_the_tombstones_a_merge_keeps_leave_the_same_rows_live() -> None:
    rng, pruned = random.Random(3), 0
    for _ in range(20):
        parts = [_segment(float(s), range(rng.randint(0, 8), 12), rng) for s in range(5)]
        gone = {f"d{i}": float(rng.randint(0, 5)) for i in rng.sample(range(14), 6)}
        kept = needed_tombstones(parts, gone)
        pruned += len(gone) - len(kept)
        for full, fewer in zip(live_docs(parts, gone), live_docs(parts, kept), strict=True):
            assert (full == fewer).all()
    assert pruned  # some were dropped: the comparison is not vacuous


def _split(snap: Snapshot) -> list[np.ndarray]:
    return [snap.live[snap.offsets[i] : snap.offsets[i + 1]] for i in range(len(snap.segments))]


def _row(snap: Snapshot, chunk_id: str) -> int:
    row = snap.row(chunk_id)
    assert row is not None
    return row


def test_a_saved_segment_reads_back_the_same(tmp_path: Path) -> None:
    built = _segment(1.0, range(5), random.Random(2))
    loaded = segments.load(tmp_path, segments.save(built, tmp_path))
    assert loaded.ids == built.ids and loaded.articles == built.articles
    assert all(loaded.text(r) == built.text(r) for r in range(built.size))
    assert all(loaded.info(r) == built.info(r) for r in range(built.size))
    assert isinstance(loaded.arrays["rows"], np.memmap)  # mapped, not read into memory


def test_a_full_tier_of_small_segments_is_merged_into_one(tmp_path: Path) -> None:
    store = ChromaStore(open_client(tmp_path / "data", None, 0), "test")
    index = KeywordIndex(tmp_path / "keyword", tokens, TERMS)
    for i in range(TIER + 1):
        _commit(store, i)
        index.view(store)
    assert len(index.view(store).segments) == TIER + 1
    assert index.compact(store) and not index.compact(store)
    view = index.view(store)
    assert len(view.segments) == 2 and len(_snapshot(list(view.segments), {}).articles) == TIER + 1
    on_disk = sorted(p.name for p in (tmp_path / "keyword").glob("seg-*"))
    assert on_disk == sorted(s.name for s in view.segments)


def test_a_merge_that_drops_removed_rows_drops_their_tombstones_and_empty_segments(
    tmp_path: Path,
) -> None:
    store = ChromaStore(open_client(tmp_path / "data", None, 0), "test")
    index = KeywordIndex(tmp_path / "keyword", tokens, TERMS)
    for i in range(4):
        _commit(store, i)
        index.view(store)
    store.delete_docs(["d0", "d2"])
    _commit(store, 0)  # back again, newer than its tombstone
    index.view(store)
    gone = json.loads((tmp_path / "keyword" / MANIFEST).read_text())["gone"]
    assert set(gone) == {"d0", "d2"}
    index.merge_all(store)
    view = index.view(store)
    assert json.loads((tmp_path / "keyword" / MANIFEST).read_text())["gone"] == {}
    assert set(_snapshot(list(view.segments), {}).articles) == {"d0", "d1", "d3"}
    assert [s.size for s in view.segments] == [1, 1, 1]  # the emptied segments are gone
    assert len(list((tmp_path / "keyword").glob("seg-*"))) == 3
    assert _scores(index, store, "report") == _scores(
        KeywordIndex(tmp_path / "rebuilt", tokens, TERMS), store, "report"
    )


def _commit(store: ChromaStore, i: int) -> None:
    info = _article(i)
    ref = {k: v for k, v in asdict(info).items() if k in ChunkInfo.__match_args__}
    chunk = ChunkInfo(**ref, start=0, end=10, chunk=0)
    text = f"{WORDS[i % len(WORDS)]} report number {i}"
    store.add_chunks([ChunkRecord(f"d{i}::0", text, FakeEmbedder().embed_query(text), chunk)])
    store.commit_docs([DocRecord(f"d{i}", text, replace(info, chunks=1))])


# --- against a real store, as ingest and servers use it -----------------------------------------
def _open(data: Path) -> tuple[ChromaStore, KeywordIndex]:
    return ChromaStore(open_client(data, None, 0), "test"), KeywordIndex(
        data / "keyword", tokens, TERMS
    )


def _ingest(data: Path, paths: list[Path], prune: bool = False) -> None:
    store, keywords = _open(data)
    Ingestor(
        store,
        FakeEmbedder(),
        IngestSettings(),
        batch_size=8,
        prune=prune,
        progress=False,
        keywords=keywords,
    ).run(paths, log=lambda m: None)


class Refuse:
    """Stands in for a store read that a level folder must not need."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"read the store: {self.name}")


def test_a_server_opening_a_level_folder_reads_no_article_or_chunk_from_the_store(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(tmp_path / "data", [corpus_copy])
    for name in ("articles", "chunks_of"):
        monkeypatch.setattr(ChromaStore, name, Refuse(name))
    monkeypatch.setattr(Revisions, "changes", Refuse("changes"))
    store, keywords = _open(tmp_path / "data")
    retriever = HybridRetriever(store, FakeEmbedder(), keywords=keywords)
    assert len(retriever.catalogue().articles) == 5
    hits = retriever.search("How long did the Istanbul session last?", Filters(), 3).passages
    assert any("40 minutes" in p.text for p in hits)


def test_an_added_article_is_fetched_alone_and_a_removed_one_leaves(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    first = sorted(corpus_copy.glob("*.txt"))
    (tmp_path / "later").mkdir()
    first[-1].rename(tmp_path / "later" / first[-1].name)
    _ingest(data, [corpus_copy])
    store, keywords = _open(data)
    reader = HybridRetriever(store, FakeEmbedder(), poll_seconds=0, keywords=keywords)
    before = set(reader.catalogue().articles)
    fetched: list[str] = []
    chunks_of = ChromaStore.chunks_of
    monkeypatch.setattr(
        ChromaStore, "chunks_of", lambda self, ids: fetched.extend(ids) or chunks_of(self, ids)
    )
    (tmp_path / "later" / first[-1].name).rename(corpus_copy / first[-1].name)
    # An ingest that staged nothing (as a server catching up does) fetches the article itself.
    monkeypatch.setattr(KeywordIndex, "stager", lambda self: StagesNothing())
    _ingest(data, [corpus_copy])
    after = set(reader.catalogue().articles)
    assert len(after - before) == 1 and fetched == list(after - before)
    words = first[0].read_text()[:300]
    first[0].unlink()
    _ingest(data, [corpus_copy], prune=True)
    gone = before - set(reader.catalogue().articles)
    assert len(gone) == 1
    hits = reader.search(words, Filters(), 10).passages
    assert hits and not {p.doc_id for p in hits} & gone


def _scores(keywords: KeywordIndex, store: ChromaStore, query: str) -> dict[str, float]:
    snap = _snapshot(list(keywords.view(store).segments), {})
    scores = snap.scores(tokens([query])[0])
    return {snap.chunk_id(r): round(float(scores[r]), 5) for r in _live(snap)}


def test_an_ingest_adopts_the_segments_it_staged_instead_of_reading_its_chunks_back(
    corpus_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fetched: list[str] = []
    chunks_of = ChromaStore.chunks_of
    monkeypatch.setattr(
        ChromaStore, "chunks_of", lambda self, ids: fetched.extend(ids) or chunks_of(self, ids)
    )
    with caplog.at_level(logging.INFO, logger="index.keyword"):
        _ingest(tmp_path / "data", [corpus_copy])
    assert fetched == [] and not (tmp_path / "data" / "keyword" / STAGED).exists()
    assert "adopted 1 staged segment(s), read 0 articles" in caplog.text
    store, staged = _open(tmp_path / "data")
    rebuilt = KeywordIndex(tmp_path / "rebuilt", tokens, TERMS)
    for query in ("Istanbul session minutes", "Dawn peacekeepers", "election vote court"):
        assert _scores(staged, store, query) == _scores(rebuilt, store, query)
    assert fetched  # the rebuilt index did read them: the count above is not vacuous


class StagesNothing:
    """A stager that keeps nothing it is handed."""

    def add(self, *args: object) -> None:
        pass

    def flush(self) -> None:
        pass


def _stage(stager: Stager, i: int, text: str, digest: str = "x") -> None:
    info = replace(_article(i), chunks=1, digest=digest)
    ref = {k: v for k, v in asdict(info).items() if k in ChunkInfo.__match_args__}
    chunk = ChunkRecord(f"d{i}::0", text, [], ChunkInfo(**ref, start=0, end=10, chunk=0))
    stager.add(DocRecord(f"d{i}", text, info), [chunk])


def test_a_staged_segment_is_adopted_only_once_every_article_in_it_is_committed_as_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keywords = _open(tmp_path / "data")
    stager = keywords.stager()
    for page in ([0, 1], [2], [3]):
        for i in page:
            _stage(stager, i, f"{WORDS[i % len(WORDS)]} report number {i}")
        stager.flush()
    _stage(stager, 4, "a version of d4 that was never committed", digest="y")
    stager.flush()
    for i in (0, 1, 3, 4):
        _commit(store, i)
    monkeypatch.setattr(ChromaStore, "chunks_of", Refuse("chunks_of"))
    with pytest.raises(AssertionError, match="read the store: chunks_of"):
        keywords.view(store)  # d4 differs from what was staged: it must come from the store
    monkeypatch.undo()
    view = keywords.view(store)
    assert len(list((tmp_path / "data" / "keyword" / STAGED).glob("*/seg-*"))) == 2  # [2], old d4
    assert set(_snapshot(list(view.segments), {}).articles) == {"d0", "d1", "d3", "d4"}
    monkeypatch.setattr(ChromaStore, "chunks_of", Refuse("chunks_of"))
    _commit(store, 2)
    assert "d2" in _snapshot(list(keywords.view(store).segments), {}).articles
    keywords.unstage()
    assert not (tmp_path / "data" / "keyword" / STAGED).exists()


def test_an_ingest_merges_full_tiers_of_what_it_staged_before_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.jsonl"
    lines = [
        {"url": f"https://example.com/{i}", "title": f"Story {i}", "text": f"{w} story {i}. " * 5}
        for i, w in enumerate(WORDS * 2)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines[: 2 * TIER + 3]))
    monkeypatch.setattr(segments, "PAGE_DOCS", 1)  # one staged segment per article
    merged_at_end: list[bool] = []
    compact = KeywordIndex.compact

    def watched(self: KeywordIndex, store: ChromaStore) -> bool:
        merged_at_end.append(compact(self, store))
        return merged_at_end[-1]

    monkeypatch.setattr(KeywordIndex, "compact", watched)
    _ingest(tmp_path / "data", [path])
    store, staged = _open(tmp_path / "data")
    assert len(staged.view(store).segments) == 2 + 3  # two tiers of eight merged, three alone
    assert merged_at_end and not any(merged_at_end)  # the planning process merged both tiers
    rebuilt = KeywordIndex(tmp_path / "rebuilt", tokens, TERMS)
    for query in ("drone story", "flood court", "story 17"):
        assert _scores(staged, store, query) == _scores(rebuilt, store, query)


def _one_short_of_a_tier(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ChromaStore, KeywordIndex, Stager]:
    """A store, its keyword index and a stager that staged TIER - 1 articles, one per segment."""
    store, keywords = _open(data)
    monkeypatch.setattr(segments, "PAGE_DOCS", 1)
    stager = keywords.stager()
    for i in range(TIER - 1):
        _stage(stager, i, f"{WORDS[i % len(WORDS)]} report number {i}")
    return store, keywords, stager


def test_merging_staged_segments_leaves_alone_one_that_catching_up_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keywords, stager = _one_short_of_a_tier(tmp_path / "data", monkeypatch)
    _commit(store, 0)
    keywords.view(store)  # adopts d0's staged segment: seven are left, not a full tier
    _stage(stager, TIER - 1, "report number seven")
    assert len(stager.staged) == TIER - 1
    _stage(stager, TIER, "report number eight")
    assert len(stager.staged) == 1  # a full tier, merged into one
    assert len(list((tmp_path / "data" / "keyword" / STAGED).glob("*/seg-*"))) == 1
    for i in range(1, TIER + 1):
        _commit(store, i)
    view = keywords.view(store)
    assert set(_snapshot(list(view.segments), {}).articles) == {f"d{i}" for i in range(TIER + 1)}


def test_a_staged_merge_is_dropped_when_catching_up_adopts_part_of_its_tier_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keywords, stager = _one_short_of_a_tier(tmp_path / "data", monkeypatch)
    merge = segments.merge

    def adopted_meanwhile(parts: list[tuple[Segment, np.ndarray]]) -> Segment:
        _commit(store, 0)
        keywords.view(store)  # catching up (it takes the lock) adopts d0's staged segment
        return merge(parts)

    monkeypatch.setattr(segments, "merge", adopted_meanwhile)
    _stage(stager, TIER - 1, "report number seven")
    staging = tmp_path / "data" / "keyword" / STAGED
    assert len(stager.staged) == TIER - 1 == len(list(staging.glob("*/seg-*")))
    assert not list(staging.glob("*/.merging/seg-*"))  # the merge was dropped
    for i in range(1, TIER):
        _commit(store, i)
    view = keywords.view(store)
    assert set(_snapshot(list(view.segments), {}).articles) == {f"d{i}" for i in range(TIER)}


def test_segments_staged_by_another_tokenizer_are_not_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keywords = _open(tmp_path / "data")
    older = KeywordIndex(tmp_path / "data" / "keyword", tokens, "an older tokenizer")
    stager = older.stager()
    _stage(stager, 0, f"{WORDS[0]} report number 0")
    stager.flush()
    _commit(store, 0)
    monkeypatch.setattr(ChromaStore, "chunks_of", Refuse("chunks_of"))
    with pytest.raises(AssertionError, match="read the store: chunks_of"):
        keywords.view(store)  # the staged tokens are not this tokenizer's: read the store
    monkeypatch.undo()
    assert "d0" in _snapshot(list(keywords.view(store).segments), {}).articles


def test_an_unreadable_manifest_is_refilled_from_the_store_with_a_warning(
    corpus_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    _ingest(data, [corpus_copy])
    (data / "keyword" / MANIFEST).write_text("{not json")
    store, keywords = _open(data)
    with caplog.at_level(logging.WARNING):
        view = keywords.view(store)
    assert "keyword index manifest unreadable" in caplog.text
    assert len(_snapshot(list(view.segments), {}).articles) == 5


def test_a_folder_filled_with_other_tokens_is_refilled_and_then_reused(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    _ingest(data, [corpus_copy])
    shutil.rmtree(data / "keyword")
    store, _ = _open(data)
    # An older tokenizer's folder: words kept whole ("Istanbul,"), not stemmed.
    split = KeywordIndex(data / "keyword", lambda texts: [t.split() for t in texts], "split 0")
    rebuilt = KeywordIndex(tmp_path / "rebuilt", tokens, TERMS)
    query = "Istanbul session minutes"
    assert _scores(split, store, query) != _scores(rebuilt, store, query)
    store, keywords = _open(data)
    assert _scores(keywords, store, query) == _scores(rebuilt, store, query)
    for name in ("articles", "chunks_of"):
        monkeypatch.setattr(ChromaStore, name, Refuse(name))
    store, again = _open(data)
    assert len(_snapshot(list(again.view(store).segments), {}).articles) == 5


def test_the_tokens_of_a_fixed_text_are_pinned_to_the_rules_version() -> None:
    # A change here changes every stored keyword index: bump index.keyword.terms.RULES with it.
    text = "The Ministers' talks in Istanbul lasted 40 minutes, officials said on Monday."
    assert (RULES, tokens([text])[0]) == (
        1,
        ["minist", "talk", "istanbul", "last", "40", "minut", "offici", "said", "monday"],
    )


def test_a_store_recreated_under_the_same_name_is_not_read_from_the_old_index(
    corpus_copy: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _ingest(data, [corpus_copy])
    store, _ = _open(data)
    for suffix in ("chunks", "docs", "meta"):
        store.client.delete_collection(f"test_{suffix}")
    store, keywords = _open(data)
    assert (
        keywords.view(store).segments == ()
        or not _snapshot(list(keywords.view(store).segments), {}).articles
    )


class Killed(Exception):
    """A writer stopped between its records and its revision move."""


def _no_revision(self: Revisions, seq: float | None = None) -> str:
    raise Killed


def test_a_commit_or_removal_killed_before_its_revision_move_still_reaches_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keywords = _open(tmp_path / "data")
    for i in range(3):
        _commit(store, i)
    reader = HybridRetriever(store, FakeEmbedder(), poll_seconds=0, keywords=keywords)
    assert set(reader.catalogue().articles) == {"d0", "d1", "d2"}
    monkeypatch.setattr(Revisions, "bump", _no_revision)
    with pytest.raises(Killed):
        _commit(store, 3)
    assert set(reader.catalogue().articles) == {"d0", "d1", "d2", "d3"}
    with pytest.raises(Killed):
        store.delete_docs(["d1"])
    assert set(reader.catalogue().articles) == {"d0", "d2", "d3"}
    fresh = HybridRetriever(store, FakeEmbedder(), keywords=_open(tmp_path / "data")[1])
    assert set(fresh.catalogue().articles) == {"d0", "d2", "d3"}


@pytest.mark.parametrize("widest", [1500, 10])
def test_a_filtered_dense_search_finds_what_chromas_own_filter_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, widest: int
) -> None:
    monkeypatch.setattr(retrieve, "MAX_WIDE", widest)  # 10: too wide to try, Chroma filters
    store, keywords = _open(tmp_path / "data")
    for i in range(60):
        _commit(store, i)
    retriever = HybridRetriever(store, FakeEmbedder(), candidates=5, keywords=keywords)
    snap = retriever.snapshot()
    vector = FakeEmbedder().embed_query("drone strike talks")
    for filters in (
        Filters(outlet="o1"),
        Filters(since=date(2025, 1, 3), until=date(2025, 1, 3)),
        Filters(outlet="o2", since=date(2025, 1, 1), until=date(2025, 1, 10)),
    ):
        wanted = store.query(vector, 5, chroma_where(filters))
        got = retriever._nearest(snap, vector, filters, 5)
        # Equal scores (ties may come in another order), and only chunks the filters keep.
        assert np.allclose([s for _, s in got], [s for _, s in wanted])
        keep = snap.mask(conditions(filters))
        assert all(keep[snap.row(cid)] for cid, _ in got)


def _texts(view: View) -> dict[str, str]:
    snap = _snapshot(list(view.segments), {})
    return {snap.chunk_id(r): snap.text(r) for r in _live(snap)}


@pytest.mark.parametrize("damage", ["edit a byte of texts.bin", "delete postings"])
def test_a_damaged_segment_is_named_and_rebuilt_from_the_store(
    corpus_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    data = tmp_path / "data"
    _ingest(data, [corpus_copy])
    store, keywords = _open(data)
    before = _texts(keywords.view(store))
    name = json.loads((data / "keyword" / MANIFEST).read_text())["segments"][0]
    folder = data / "keyword" / name
    if damage == "delete postings":
        (folder / "rows.npy").unlink()
    else:
        texts = bytearray((folder / "texts.bin").read_bytes())
        at = texts.index(b"40 minutes")
        texts[at : at + 2] = b"90"  # the wrong answer the damage would have given, verified
        (folder / "texts.bin").write_bytes(bytes(texts))
    store, keywords = _open(data)
    with caplog.at_level(logging.WARNING):
        after = _texts(keywords.view(store))
    assert after == before
    assert (
        f"keyword segment {folder}" in caplog.text and "rebuilding it from the store" in caplog.text
    )
    assert name not in json.loads((data / "keyword" / MANIFEST).read_text())["segments"]
    assert not folder.exists()


def test_a_segment_with_an_unreadable_article_list_refills_the_index(
    corpus_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    _ingest(data, [corpus_copy])
    store, keywords = _open(data)
    before = _texts(keywords.view(store))
    name = json.loads((data / "keyword" / MANIFEST).read_text())["segments"][0]
    (data / "keyword" / name / "articles.jsonl").write_text("[broken\n")
    store, keywords = _open(data)
    with caplog.at_level(logging.WARNING):
        assert _texts(keywords.view(store)) == before
    assert "articles.jsonl does not match its checksum" in caplog.text
    assert "refilling the index" in caplog.text
