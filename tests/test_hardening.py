"""Doors an adversarial probe found open (issue 27): links out of the corpus folder, endless
blank archives, dates off the calendar, misspelt filters and floors that are not numbers."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from evals.metrics import parse_floors
from index.loading import Skipped, discover, read_file
from rag.filters import find_dates
from rag.types import Filters
from ui.chat import parse_filters
from ui.doors import RequestLimits


def _read(folder: Path) -> list[object]:
    return [item for file, root in discover([folder]) for item in read_file(file, root, 10**7)]


def test_a_link_from_the_corpus_to_a_file_outside_it_is_skipped_and_named(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The password is hunter2, the administrator said on Monday.")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "story.txt").write_text("A real story about the summit, officials said on Friday.")
    (corpus / "inside.txt").symlink_to(corpus / "story.txt")
    (corpus / "leak.txt").symlink_to(secret)
    items = _read(corpus)
    skipped = {i.path.name: i.reason for i in items if isinstance(i, Skipped)}
    assert set(skipped) == {"leak.txt"} and "links outside" in skipped["leak.txt"]
    assert str(secret) in skipped["leak.txt"]
    assert not any("hunter2" in getattr(i, "raw", "") for i in items)
    assert sum(not isinstance(i, Skipped) for i in items) == 2  # a link within the folder is read


def test_an_archive_of_blank_lines_stops_with_a_reason(tmp_path: Path) -> None:
    archive = tmp_path / "blank.jsonl.gz"
    with gzip.open(archive, "wb") as out:
        out.write(b'{"text": "One article, said the editor on Tuesday."}\n' + b"\n" * 300_000)
    items = list(read_file(archive, tmp_path, 10**7))
    assert len(items) == 2 and "blank lines in a row" in items[-1].reason  # type: ignore[union-attr]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_day_off_the_calendar_is_refused_with_one_clear_line(day: str) -> None:
    with pytest.raises(ValueError, match="from 1000-01-01 to 8999-12-31"):
        Filters.model_validate({"as_of": day})
    with pytest.raises(ValueError, match="“As of” must be a date from 1000-01-01"):
        parse_filters(None, None, None, day)


def test_a_misspelt_filter_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="outlett"):
        Filters.model_validate({"outlett": "Dawn"})


def test_a_day_with_a_far_year_is_that_day() -> None:
    found = find_dates("What happened on 31 December 3000?", date(2025, 1, 1))
    assert found[:2] == (date(3000, 12, 31), date(3000, 12, 31))


@pytest.mark.parametrize("spec", ["fact_recall=nan", "fact_recall=1.5", "mrr=-0.1"])
def test_a_floor_must_be_a_number_from_0_to_1(spec: str) -> None:
    with pytest.raises(ValueError, match="from 0 to 1"):
        parse_floors([spec])


def _limited_app() -> object:
    app = FastAPI()

    @app.post("/api/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    app.add_middleware(RequestLimits, max_bytes=10_000)
    return app


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    client = TestClient(_limited_app())  # type: ignore[arg-type]
    assert client.post("/api/echo", content=b"x" * 9_000).json() == {"read": 9_000}
    refused = client.post("/api/echo", content=b"x" * 300_000)
    assert refused.status_code == 413 and "NEWSDESK_MAX_REQUEST_BYTES" in refused.text

    def stream():  # no Content-Length: counted as it arrives
        for _ in range(100):
            yield b"x" * 1_000

    assert client.post("/api/echo", content=stream()).status_code == 413
