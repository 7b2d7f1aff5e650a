"""Damage to a data folder is named, never a crash, and `newsdesk check --repair` rebuilds it
(issue 27, finding 6). The commands run as subprocesses, as a user runs them: Chroma keeps one
instance per folder in a process, so an in-process check would read its own memory instead."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.damage import HEADER
from tests.fixtures.openai_server import ScriptedOpenAI

ROOT = Path(__file__).resolve().parent.parent
WORDS = "drone strike ceasefire talks istanbul kyiv minister election vote flood court".split()
ARTICLES = 1100  # more chunks than Chroma keeps in its queue: the vector index is saved to files


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(
        dimensions=32
    ) as endpoint:  # instant embeddings: the model is beside the point
        yield endpoint


def _newsdesk(server: ScriptedOpenAI, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEWSDESK_DATA_DIR": str(data),
        "NEWSDESK_EMBED_BACKEND": "openai",
        "NEWSDESK_EMBED_BASE_URL": server.base_url,
        "NEWSDESK_EMBED_MODEL": "instant",
    }
    command = [sys.executable, "-m", "newsdesk.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def pristine(server: ScriptedOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("damage")
    corpus = base / "corpus"
    corpus.mkdir()
    rng = random.Random(0)
    for i in range(ARTICLES):
        body = " ".join(rng.choice(WORDS) for _ in range(30))
        (corpus / f"a{i:04d}.txt").write_text(
            f"Report {i}\n\nThe minister said {body}. Officials said {i} people came.\n"
        )
    done = _newsdesk(server, base / "data", "ingest", "-q", str(corpus))
    assert done.returncode == 0, done.stderr
    return base / "data"


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(pristine, copy)
    return copy


def _chunk_vectors(data: Path) -> Path:
    """The vector folder of the chunks collection: the one with the longest vectors."""
    folders = [p.parent for p in (data / "chroma").glob("*/header.bin")]
    return max(folders, key=lambda f: HEADER.unpack((f / "header.bin").read_bytes())[5])


def _break_links(folder: Path) -> None:
    """Point every element's level-0 links far past the end of the index."""
    fields = HEADER.unpack((folder / "header.bin").read_bytes())
    count, size, links_end = fields[3], fields[4], fields[6]
    level0 = np.fromfile(folder / "data_level0.bin", np.uint8).reshape(-1, size)
    links = np.ascontiguousarray(level0[:count, :links_end]).view("<u4")
    links[:, 0], links[:, 1:5] = 4, 0x7FFFFF00
    level0[:count, :links_end] = links.view(np.uint8)
    level0.tofile(folder / "data_level0.bin")


def _ask(server: ScriptedOpenAI, data: Path) -> subprocess.CompletedProcess[str]:
    return _newsdesk(server, data, "ask", "--json", "What did the minister say about the flood?")


def test_an_intact_folder_checks_whole(server: ScriptedOpenAI, pristine: Path) -> None:
    done = _newsdesk(server, pristine, "check")
    assert done.returncode == 0 and "whole" in done.stdout


def test_links_past_the_index_are_one_clear_line_not_a_crash(
    server: ScriptedOpenAI, data: Path
) -> None:
    folder = _chunk_vectors(data)
    _break_links(folder)
    crashed = subprocess.run(  # what Chroma does with these files unchecked
        [sys.executable, "-c", UNCHECKED_QUERY, str(data)], capture_output=True, cwd=ROOT
    )
    assert crashed.returncode < 0  # killed by a signal: a segmentation fault
    done = _ask(server, data)
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert str(folder) in line and "link to an element that does not exist" in line
    assert "newsdesk check --repair" in line


UNCHECKED_QUERY = """
import sys
from pathlib import Path
from index.client import open_client
client = open_client(Path(sys.argv[1]), None, 0, check=False)
client.get_collection("newsdesk_chunks").query(query_embeddings=[[0.1] * 32], n_results=5)
"""


def test_repair_rebuilds_damaged_vectors_and_keeps_the_damaged_files_aside(
    server: ScriptedOpenAI, data: Path
) -> None:
    folder = _chunk_vectors(data)
    _break_links(folder)
    found = _newsdesk(server, data, "check")
    assert found.returncode == 1 and f"damaged: {folder}" in found.stdout
    assert "newsdesk check --repair" in found.stderr
    repaired = _newsdesk(server, data, "check", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert f"rebuilt the vector index of newsdesk_chunks: {ARTICLES} records" in repaired.stdout
    assert list(data.glob(f"chroma/{folder.name}.damaged-*"))
    answer = _ask(server, data)
    assert answer.returncode == 0 and json.loads(answer.stdout)["citations"]


def test_a_deleted_vector_folder_is_named_and_repaired(server: ScriptedOpenAI, data: Path) -> None:
    folder = _chunk_vectors(data)
    shutil.rmtree(folder)
    done = _ask(server, data)
    assert done.returncode == 2 and f"{folder}: its files are missing" in done.stderr
    assert _newsdesk(server, data, "check", "--repair").returncode == 0
    assert _ask(server, data).returncode == 0


def test_a_damaged_keyword_segment_is_reported_and_refilled(
    server: ScriptedOpenAI, data: Path
) -> None:
    texts = next((data / "keyword").glob("*/seg-*/texts.bin"))
    texts.write_bytes(texts.read_bytes().replace(b"minister", b"ministry", 1))
    found = _newsdesk(server, data, "check")
    assert found.returncode == 1 and "texts.bin does not match its checksum" in found.stdout
    repaired = _newsdesk(server, data, "check", "--repair")
    assert repaired.returncode == 0 and "refilled the keyword index" in repaired.stdout
    assert _newsdesk(server, data, "check").returncode == 0


def test_the_header_format_is_the_one_chroma_writes(pristine: Path) -> None:
    fields = HEADER.unpack((_chunk_vectors(pristine) / "header.bin").read_bytes())
    assert fields[3] == ARTICLES and fields[6] == 4 + 4 * fields[10]  # count; links of level 0


def test_a_serving_process_keeps_its_vectors_when_a_reopen_finds_damage(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    from index.client import open_client
    from index.store import ChromaStore

    store = ChromaStore(open_client(data, None, 0), "newsdesk")
    before = store.vectors.current
    _break_links(_chunk_vectors(data))
    with caplog.at_level(logging.WARNING):
        store.vectors.renew()
        deadline = time.monotonic() + 20
        while "could not reopen" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
    assert "damaged vector index" in caplog.text and store.vectors.current is before


def test_what_looks_damaged_while_an_ingest_writes_is_logged_not_refused(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import fcntl
    import logging

    from index.damage import VectorDamage, check_vectors

    _break_links(_chunk_vectors(data))
    with (data / ".newsdesk-ingest.lock").open("a") as lease:
        fcntl.flock(lease, fcntl.LOCK_EX)  # as a running ingest holds it
        with caplog.at_level(logging.WARNING):
            check_vectors(data / "chroma")
        assert "looks damaged while an ingest writes it" in caplog.text
        with pytest.raises(VectorDamage):  # a reopen that can wait keeps its copy instead
            check_vectors(data / "chroma", strict=True)
    with pytest.raises(VectorDamage):
        check_vectors(data / "chroma")


def test_a_database_another_process_holds_locked_is_not_called_damaged(data: Path) -> None:
    import sqlite3

    from index.damage import vector_problems

    writer = sqlite3.connect(data / "chroma" / "chroma.sqlite3", timeout=0)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert vector_problems(data / "chroma") == []
    finally:
        writer.rollback()
        writer.close()


def test_repair_waits_for_no_one_and_moves_nothing_while_an_ingest_writes(
    server: ScriptedOpenAI, data: Path
) -> None:
    import fcntl

    folder = _chunk_vectors(data)
    _break_links(folder)
    with (data / ".newsdesk-ingest.lock").open("a") as lease:
        fcntl.flock(lease, fcntl.LOCK_EX)
        done = _newsdesk(server, data, "check", "--repair")
    assert done.returncode == 2 and "another ingest is writing this index" in done.stderr
    assert folder.exists() and not list(data.glob("chroma/*.damaged-*"))
