"""Compressed archives: `.jsonl.gz` streamed record by record, `.json.gz` read whole."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from index.loading import Skipped, SourceDoc, discover, read_file

LIMIT = 10_000


def _record(i: int, size: int = 200) -> str:
    return json.dumps(
        {"url": f"https://example.com/{i}", "title": f"Story {i}", "text": "w " * size}
    )


def _read(path: Path) -> tuple[list[SourceDoc], list[Skipped]]:
    items = list(read_file(path, path.parent, LIMIT))
    return (
        [i for i in items if isinstance(i, SourceDoc)],
        [i for i in items if isinstance(i, Skipped)],
    )


def test_a_jsonl_gz_archive_is_read_record_by_record_with_the_limit_per_record(
    tmp_path: Path,
) -> None:
    lines = [_record(1), "{broken", _record(2, size=LIMIT), "", _record(3)]
    archive = tmp_path / "wire.jsonl.gz"
    archive.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert archive.stat().st_size < LIMIT  # the file is small; one record is not
    docs, skipped = _read(archive)
    assert [d.doc_id for d in docs] == ["https://example.com/1", "https://example.com/3"]
    assert [s.reason.split(":")[0] for s in skipped] == ["line 2", "line 3"]
    assert "record over the" in skipped[1].reason and "NEWSDESK_MAX_FILE_MB" in skipped[1].reason


def test_an_archive_larger_than_the_limit_still_reads(tmp_path: Path) -> None:
    archive = tmp_path / "big.jsonl.gz"
    body = "\n".join(_record(i) for i in range(200)).encode()
    archive.write_bytes(gzip.compress(body, compresslevel=0))
    assert archive.stat().st_size > LIMIT
    docs, skipped = _read(archive)
    assert len(docs) == 200 and skipped == []


def test_a_truncated_archive_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    archive = tmp_path / "cut.jsonl.gz"
    data = gzip.compress("\n".join(_record(i) for i in range(50)).encode())
    archive.write_bytes(data[: len(data) // 2])
    docs, skipped = _read(archive)
    assert 0 < len(docs) < 50
    assert len(skipped) == 1 and "gzip data unreadable after line" in skipped[0].reason


def test_a_json_gz_file_is_read_and_its_decompressed_size_is_limited(tmp_path: Path) -> None:
    small, large = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    small.write_bytes(gzip.compress(f"[{_record(1)}, {_record(2)}]".encode()))
    large.write_bytes(gzip.compress(_record(3, size=LIMIT).encode()))
    assert len(_read(small)[0]) == 2
    docs, skipped = _read(large)
    assert docs == [] and "decompresses to over" in skipped[0].reason


def test_a_file_that_is_not_gzip_is_named_with_the_fix(tmp_path: Path) -> None:
    fake = tmp_path / "c.json.gz"
    fake.write_text(_record(1))
    _, skipped = _read(fake)
    assert "not a readable gzip file" in skipped[0].reason and "re-compress" in skipped[0].reason


def test_archives_in_a_folder_are_found_and_named_without_their_suffix(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    archive = tmp_path / "feeds" / "day.jsonl.gz"
    archive.write_bytes(gzip.compress(json.dumps({"title": "T", "text": "words " * 20}).encode()))
    found = discover([tmp_path / "feeds"])
    assert found == [(archive, tmp_path / "feeds")]
    docs = [d for d in read_file(*found[0], LIMIT) if isinstance(d, SourceDoc)]
    assert [d.doc_id for d in docs] == ["day#1"]
