"""The feed (issue 28): articles sent to a running `newsdesk serve` over HTTP, answered and cited
as soon as the response comes, with `newsdesk ingest` on the served folder stopping clearly."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.browser import support
from tests.conftest import ROOT
from tests.fixtures.serving import newsdesk_serving
from ui.api import create_app
from ui.feed_routes import FEED_OFF
from ui.settings import ServerSettings

planted_data = support.planted_data  # the shared session fixture
api_engine = support.api_engine
TOKEN = "feed-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = "Why did the harbour pilots in Tromso end their strike?"
PILOTS = {
    "title": "Harbour pilots in Tromso end strike after fuel-levy deal",
    "outlet": "Nordlys Test Wire",
    "date": "2025-09-03",
    "url": "https://nordlys.example/pilots",
    "text": (
        "Harbour pilots in Tromso ended a nine-day strike on Tuesday after the port authority "
        "agreed to scrap a fuel levy on pilot boats. The pilots had refused to guide cargo ships "
        "into the harbour since late August. Fishing exporters said the stoppage had cost them "
        "about 40 million kroner."
    ),
}
FERRY = {
    "title": "Ferry line to Senja resumes winter timetable",
    "outlet": "Nordlys Test Wire",
    "date": "2025-09-04",
    "text": (
        "The ferry line between Tromso and Senja resumed its winter timetable on Wednesday, with "
        "four crossings a day instead of six. The operator said fewer tourists travel after "
        "September and that the summer boats need repairs before the storms begin."
    ),
}


@pytest.fixture(scope="module")
def served(
    planted_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A server with a token on a copy of the planted index (the feed writes into it)."""
    base = tmp_path_factory.mktemp("feed")
    data = base / "data"
    shutil.copytree(planted_data, data)
    with newsdesk_serving(
        data,
        base / "serve.log",
        NEWSDESK_API_TOKEN=TOKEN,
        NEWSDESK_RATE_LIMIT_PER_MINUTE="100000",
        NEWSDESK_FEED_MAX_ARTICLES="3",
    ) as url:
        yield url, data


def _send(url: str, body: Any, headers: dict[str, str] = AUTH) -> httpx.Response:
    return httpx.post(f"{url}/api/articles", json=body, headers=headers, timeout=120)


def _cites_pilots(url: str) -> bool:
    """Whether an answer cites the posted article with a passage found by its vector too."""
    answer = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, headers=AUTH, timeout=60)
    body = answer.json()
    cited = {c["chunk_id"] for c in body["citations"]}
    ours = [p for p in body["retrieved"] if p["doc_id"] == PILOTS["url"]]
    return any(p["chunk_id"] in cited and p["dense"] for p in ours)


def test_a_posted_article_is_answered_and_cited_as_soon_as_the_response_comes(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    assert not _cites_pilots(url)
    reply = _send(url, PILOTS)
    assert reply.status_code == 200, reply.text
    assert reply.json()["articles"] == [
        {"doc_id": PILOTS["url"], "status": "added", "reason": None}
    ]
    assert _cites_pilots(url)  # no wait: the write is searchable when the response is sent
    again = _send(url, [PILOTS]).json()
    assert again["articles"][0]["status"] == "unchanged" and again["unchanged"] == 1
    changed = {**PILOTS, "text": PILOTS["text"] + " Talks on pilot pay resume in October."}
    assert _send(url, changed).json()["articles"][0]["status"] == "updated"


def test_a_list_with_bad_records_adds_the_others_and_names_each_bad_one(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    records = [{"title": "No text here"}, FERRY, "not an object"]
    body = _send(url, records).json()
    first, ferry, last = body["articles"]
    assert first["status"] == "refused" and "no article text" in first["reason"]
    assert ferry["status"] == "added" and ferry["doc_id"].startswith("feed-")
    assert last == {"doc_id": None, "status": "refused", "reason": last["reason"]}
    assert "JSON object" in last["reason"]
    assert (body["added"], body["refused"]) == (1, 2)
    corpus = httpx.get(f"{url}/api/corpus", headers=AUTH, timeout=30).json()
    assert ferry["doc_id"] in {d["doc_id"] for d in corpus["documents"]}


def test_the_feed_refuses_without_the_token_and_over_its_count_limit(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    assert _send(url, FERRY, headers={}).status_code == 401
    over = _send(url, [FERRY] * 4)
    assert over.status_code == 413 and "NEWSDESK_FEED_MAX_ARTICLES" in over.json()["detail"]
    assert _send(url, []).status_code == 422


def test_a_deleted_article_is_no_longer_cited_and_a_second_delete_is_404(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    _send(url, PILOTS)
    target = f"{url}/api/articles/{quote(PILOTS['url'], safe='')}"
    removed = httpx.delete(target, headers=AUTH, timeout=60)
    assert removed.json() == {"doc_id": PILOTS["url"], "status": "removed"}
    assert not _cites_pilots(url)
    missing = httpx.delete(target, headers=AUTH, timeout=60)
    assert missing.status_code == 404 and PILOTS["url"] in missing.json()["detail"]


def test_newsdesk_ingest_on_the_served_folder_stops_with_one_line_naming_the_server(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, data = served
    article = tmp_path / "a.json"
    article.write_text('{"title": "T", "text": "Some article text that is long enough."}')
    script = Path(sys.executable).parent / "newsdesk"
    done = subprocess.run(
        [str(script), "ingest", "-q", "--data-dir", str(data), str(article)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and f"{url}/api/articles" in line and "stop the server first" in line


def test_without_an_api_token_the_feed_is_off_and_says_how_to_turn_it_on(api_engine: Any) -> None:
    app = create_app(api_engine, ServerSettings(), ui=False)
    with TestClient(app) as client:
        reply = client.post("/api/articles", json=FERRY)
        assert reply.status_code == 403 and reply.json()["detail"] == FEED_OFF
        assert client.delete("/api/articles/x").status_code == 403


def test_the_feeding_script_in_the_docs_sends_a_file_and_reports_each_article(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = served
    text = (ROOT / "docs" / "feeding.md").read_text(encoding="utf-8")
    script = tmp_path / "feed.py"
    script.write_text(re.findall(r"```python\n(.*?)```", text, re.S)[0])
    lines = tmp_path / "new.jsonl"
    lines.write_text(json.dumps(FERRY) + "\n" + json.dumps({"title": "empty"}) + "\n")
    done = subprocess.run(
        [sys.executable, str(script), str(lines)],
        env={**os.environ, "NEWSDESK_URL": url, "NEWSDESK_API_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] in ("added", "unchanged")
    assert "refused None: no article text" in done.stderr
