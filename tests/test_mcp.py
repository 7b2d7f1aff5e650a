"""Newsdesk's MCP tools, driven by the MCP SDK's own client over stdio (`newsdesk mcp`) and over
streamable HTTP (`/mcp` on a real `newsdesk serve`) (issue 28)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.browser import support
from tests.fixtures.serving import newsdesk_serving

planted_data = support.planted_data  # the shared session fixture
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tok"


async def _session(connect: Any, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The tool names, then each call's result, over one connection."""
    async with Client(connect) as client:
        listed = await client.list_tools()
        out: dict[str, Any] = {"tools": {t.name: t for t in listed.tools}}
        for name, arguments in calls:
            out[f"{name}:{sorted(arguments.items())}"] = await client.call_tool(name, arguments)
        return out


CALLS = [
    ("corpus", {}),
    ("ask", {"question": "How many households were left without power?", "outlet": "Dawn"}),
    ("search", {"query": "Istanbul talks", "k": 3}),
    ("search", {"query": "Istanbul talks", "outlet": "Nowhere Times"}),
    ("ask", {"question": "What happened?", "since": "2025-09-01", "until": "2025-08-01"}),
]


def _check(results: dict[str, Any]) -> None:
    tools = results.pop("tools")
    assert set(tools) == {"ask", "search", "corpus"}
    assert tools["ask"].description and "outlet" in tools["ask"].input_schema["properties"]
    assert tools["ask"].output_schema["properties"]["citations"]
    corpus, asked, found, unknown, backwards = results.values()
    assert corpus.structured_content["articles"] == 6 and not corpus.is_error
    answer = asked.structured_content
    assert answer["filters"]["effective"]["outlet"] == "Dawn" and answer["citations"]
    assert all(c["outlet"] == "Dawn" and c["sentence"] in c["passage"] for c in answer["citations"])
    first = answer["citations"][0]
    assert f"[{first['number']}: {first['label']}]" in answer["answer"]
    passages = found.structured_content["passages"]
    assert len(passages) == 3 and all(p["text"] and p["outlet"] for p in passages)
    assert unknown.is_error and "no outlet 'Nowhere Times'" in unknown.content[0].text
    assert backwards.is_error and "swap them" in backwards.content[0].text


def test_the_tools_over_stdio_answer_filter_and_refuse_bad_input(planted_data: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "newsdesk.cli", "mcp", "--data-dir", str(planted_data)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=str(ROOT),
    )
    _check(asyncio.run(_session(params, CALLS)))


@pytest.fixture(scope="module")
def served(planted_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("mcp") / "serve.log"
    with newsdesk_serving(planted_data, log_path, NEWSDESK_API_TOKEN=TOKEN) as url:
        yield url


def test_the_tools_over_http_on_the_server_need_its_token(served: str) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    _check(asyncio.run(_session(streamable_http_client(f"{served}/mcp", http_client=http), CALLS)))
    with pytest.raises(ExceptionGroup):  # the SDK's client gives up: the server refused
        asyncio.run(_session(streamable_http_client(f"{served}/mcp"), []))
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    refused = httpx.post(f"{served}/mcp", json=hello, headers={"Accept": "application/json"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
