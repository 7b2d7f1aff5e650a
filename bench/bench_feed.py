"""What the feed costs: articles sent to a real `newsdesk serve` (a seed index, or `--data-dir`
copied first, since the feed writes into it), one per request and in lists, and the time from
sending an article until an answer cites it. Prints medians and ranges.

    python bench/bench_feed.py [--data-dir DIR] [--rounds 10] [--batch 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages

from bench.bench_serve import seed_server  # noqa: E402

TOKEN = "bench-secret"
TOWNS = (
    "Tromso",
    "Bodo",
    "Alta",
    "Narvik",
    "Harstad",
    "Kirkenes",
    "Vadso",
    "Hammerfest",
    "Molde",
    "Alesund",
    "Kristiansund",
    "Honningsvag",
    "Svolvaer",
    "Mosjoen",
    "Sandnessjoen",
    "Finnsnes",
)
FEES = (
    "fuel",
    "berth",
    "anchorage",
    "lighthouse",
    "ice",
    "towage",
    "mooring",
    "pilotage",
    "quay",
    "waste",
    "security",
    "tonnage",
    "dredging",
    "canal",
    "harbour",
    "buoy",
)


def article(n: int) -> dict[str, str]:
    """A made-up article with a fact of its own (a town and a fee), so an answer that cites it
    can be recognised."""
    town, fee = TOWNS[n % len(TOWNS)], FEES[(n * 7) % len(FEES)]
    return {
        "url": f"https://bench.example/feed/{n}",
        "outlet": "Bench Wire",
        "date": "2025-09-03",
        "title": f"Harbour pilots in {town} end their strike",
        "text": (
            f"Harbour pilots in {town} ended their strike on Tuesday after the port authority "
            f"agreed to scrap the {fee} levy on pilot boats. The pilots had refused to guide "
            "cargo ships into the harbour since late August. Exporters said the stoppage had "
            "cost them about 40 million kroner."
        ),
    }


def one(http: httpx.Client, n: int) -> tuple[float, float]:
    """Milliseconds for the POST, and from sending until an answer cites the article."""
    record = article(n)
    started = time.perf_counter()
    reply = http.post("/api/articles", json=record)
    posted = time.perf_counter()
    assert reply.json()["articles"][0]["status"] == "added", reply.text
    town = TOWNS[n % len(TOWNS)]
    question = {"question": f"Why did the harbour pilots in {town} end their strike?"}
    while time.perf_counter() - started < 30:
        answer = http.post("/api/ask", json=question).json()
        if any(c["url"] == record["url"] for c in answer["citations"]):
            break
    else:
        raise SystemExit(f"article {n} was not cited within 30 s")
    return (posted - started) * 1e3, (time.perf_counter() - started) * 1e3


def batch(http: httpx.Client, first: int, size: int) -> float:
    """Milliseconds per article of one request that sends `size` new ones."""
    started = time.perf_counter()
    reply = http.post("/api/articles", json=[article(n) for n in range(first, first + size)])
    assert reply.json()["added"] == size, reply.text
    return (time.perf_counter() - started) * 1e3 / size


def report(name: str, values: list[float]) -> None:
    print(
        f"{name}: median {statistics.median(values):.0f} ms "
        f"(min {min(values):.0f}, max {max(values):.0f}, n {len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=len(TOWNS))
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    copy = None
    if args.data_dir is not None:
        copy = Path(tempfile.mkdtemp(prefix="bench-feed-")) / "data"
        shutil.copytree(args.data_dir, copy)
    try:
        with (
            seed_server(copy, api_token=TOKEN) as (_, base),
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300
            ) as http,
        ):
            timings = [one(http, n) for n in range(args.rounds)]
            report("POST of one article", [t[0] for t in timings])
            report("sent until cited", [t[1] for t in timings])
            per = [batch(http, 1000 + i * args.batch, args.batch) for i in range(3)]
            report(f"per article, {args.batch} a request", per)
    finally:
        if copy is not None:
            shutil.rmtree(copy.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
