"""Two `newsdesk serve` processes sharing one `chroma run` server: the archive past one process.

    python bench/bench_shared_chroma.py --articles 23966 [--json F]

Starts `chroma run` on loopback and ingests the archive's first N articles into it with the
instant embedder (as bench_scale.py does). Then two servers start, each with its own data folder
and so its own keyword index, caught up from the store. They are asked 200 questions, alternating,
with the default query embedder. Finally another process adds one article, and the bench times
how soon both servers cite it. Memory is the PSS of each server's process tree and of Chroma's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_scale import (  # noqa: E402
    FRESH,
    OFFLINE,
    ask,
    ingest,
    ingest_profiled,
    questions,
    take,
    tree_pss_mib,
)
from bench.bench_serve import running_server  # noqa: E402
from bench.processes import free_port, running, wait_for_port  # noqa: E402
from tests.fixtures.openai_server import ScriptedOpenAI  # noqa: E402

FRESH_QUESTION = "How many visitors did the zorblatt quokka festival draw?"


def both_cite(clients: list[tuple[httpx.Client, str]], started: float) -> float:
    """Seconds from `started` until every server's answer cites the fresh article."""
    waiting = list(clients)
    while waiting and time.perf_counter() - started < 60:
        waiting = [
            (c, b) for c, b in waiting if "48,213" not in ask(c, b, FRESH_QUESTION)[1]["answer"]
        ]
        time.sleep(0.1)
    return time.perf_counter() - started if not waiting else math.inf


def measure(n: int, work: Path, embed_env: dict[str, str]) -> dict[str, Any]:
    """Every figure for n articles in one `chroma run` served by two processes."""
    port = free_port()
    server = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)}
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(work / "db")]
    row: dict[str, Any] = {"articles": n}
    records = take(n, work / "archive.jsonl.gz")
    with ExitStack() as stack:
        log = stack.enter_context((work / "chroma.log").open("w"))
        db = stack.enter_context(
            running([*chroma, "--host", "127.0.0.1", "--port", str(port)], log=log)
        )
        wait_for_port(port, proc=db)
        env = {**embed_env, **server}
        row["ingest_s"], row["ingest_profile"] = ingest_profiled(
            work / "ingest", work / "archive.jsonl.gz", env
        )
        clients = []
        for name in ("a", "b"):
            web = free_port()
            serve_log = stack.enter_context((work / f"serve-{name}.log").open("w"))
            serve_env = {**os.environ, **OFFLINE, **server}
            proc, ready = stack.enter_context(
                running_server(work / name, web, serve_env, serve_log)
            )
            row[f"ready_{name}_s"] = ready
            clients.append(
                (stack.enter_context(httpx.Client(timeout=120)), f"http://127.0.0.1:{web}", proc)
            )
        asked = questions(records, 201)
        row["first_ask_ms"] = [round(ask(c, b, asked[0])[0] * 1e3) for c, b, _ in clients]
        warm = sorted(ask(*clients[i % 2][:2], q)[0] * 1e3 for i, q in enumerate(asked[1:]))
        row["warm_p50_ms"] = statistics.median(warm)
        row["warm_p95_ms"] = warm[max(0, round(0.95 * len(warm)) - 1)]
        row["pss_serve_mib"] = [round(tree_pss_mib(p.pid)) for _, _, p in clients]
        row["pss_chroma_mib"] = round(tree_pss_mib(db.pid))
        (work / "fresh").mkdir()
        (work / "fresh" / "quokka.txt").write_text(FRESH)
        ingest(work / "ingest", work / "fresh", env)
        row["fresh_both_s"] = both_cite([(c, b) for c, b, _ in clients], time.perf_counter())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--json", type=Path, help="also write the row here")
    args = parser.parse_args()
    with ScriptedOpenAI() as instant, tempfile.TemporaryDirectory(prefix="shared-") as work:
        embed_env = {
            **os.environ,
            **OFFLINE,
            "NEWSDESK_EMBED_BACKEND": "openai",
            "NEWSDESK_EMBED_BASE_URL": instant.base_url,
            "NEWSDESK_EMBED_MODEL": "instant",
            "NEWSDESK_EMBED_BATCH_SIZE": "256",
        }
        row = measure(args.articles, Path(work), embed_env)
    print(f"\ntwo servers on one chroma run, {os.cpu_count()} cores; index by an instant embedder")
    print(json.dumps(row, indent=2))
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
