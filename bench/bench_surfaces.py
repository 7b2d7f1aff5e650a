"""What the assistant surfaces cost over Newsdesk's own API: the same questions asked through
`/api/ask`, a non-streamed `/v1/chat/completions` and an MCP `ask` over streamable HTTP, in
turn, against one real `newsdesk serve` on a seed index. Prints each surface's median and its
median difference from `/api/ask`, question by question.

    python bench/bench_surfaces.py [--data-dir DIR] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages

from bench.bench_serve import QUESTIONS, seed_server  # noqa: E402

TOKEN = "bench-secret"
Timed = Callable[[str], Awaitable[float]]


async def measure(base: str, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per question and surface, the surfaces alternating question by question."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    mcp_http = create_mcp_http_client(headers=headers)
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=mcp_http)) as mcp,
    ):
        surfaces: dict[str, Timed] = {
            "/api/ask": lambda q: _timed(http.post("/api/ask", json={"question": q})),
            "/v1/chat/completions": lambda q: _timed(
                http.post("/v1/chat/completions", json=_chat(q))
            ),
            "MCP ask": lambda q: _timed(mcp.call_tool("ask", {"question": q})),
        }
        for question in QUESTIONS:  # warm every path once
            for ask in surfaces.values():
                await ask(question)
        times: dict[str, list[float]] = {name: [] for name in surfaces}
        for _ in range(rounds):
            for question in QUESTIONS:
                for name, ask in surfaces.items():
                    times[name].append(await ask(question))
        return times


def _chat(question: str) -> dict[str, object]:
    return {"model": "newsdesk", "messages": [{"role": "user", "content": question}]}


async def _timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    result = await call
    if isinstance(result, httpx.Response):
        result.raise_for_status()
    elif getattr(result, "is_error", False):
        raise RuntimeError(f"MCP ask failed: {result}")
    return (time.perf_counter() - started) * 1e3


def report(times: dict[str, list[float]]) -> None:
    base = times["/api/ask"]
    print(f"cpu_count={os.cpu_count()} questions={len(base)} (alternating surfaces)")
    for name, values in times.items():
        deltas = [v - b for v, b in zip(values, base, strict=True)]
        print(
            f"{name}: p50 {statistics.median(values):.1f} ms; "
            f"median difference from /api/ask {statistics.median(deltas):+.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="prebuilt index")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with seed_server(args.data_dir, api_token=TOKEN) as (_, base):
        report(asyncio.run(measure(base, args.rounds)))


if __name__ == "__main__":
    main()
