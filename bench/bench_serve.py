"""Benchmark `newsdesk serve`: time to a ready /healthz, resident memory, /api/ask throughput.

Starts the real CLI as a subprocess on a prebuilt seed index, on loopback only, then:
  1. time from process start to the first 200 from /healthz (and the first answer's latency);
  2. VmRSS of the server (from /proc/<pid>/status) when ready and after 100 questions;
  3. /api/ask throughput and p50/p95 latency with 1, 4 and 16 concurrent clients (bounded loops).

    python bench/bench_serve.py                    # builds a seed index in a temp folder first
    python bench/bench_serve.py --data-dir .newsdesk --requests 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages

from bench.processes import free_port, running, wait_for_url  # noqa: E402

QUESTIONS = [
    "What did the Kremlin say about European peacekeeping troops?",
    "Are the Russia-Ukraine peace talks on pause?",
    "What did Peskov say about security guarantees?",
    "What did Dawn report about Zelensky?",
    "What did the Kremlin say about NATO military infrastructure?",
    "How did Russia describe the summit in Alaska?",
    "What did Business Standard report about European proposals?",
    "Which concessions did Russia rule out?",
]


def newsdesk_command() -> list[str]:
    """The `newsdesk` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "newsdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsdesk.cli"]


def build_seed_index(data_dir: Path, env: dict[str, str]) -> float:
    """Ingest the shipped corpus into `data_dir`; returns seconds taken."""
    started = time.perf_counter()
    subprocess.run(
        [
            *newsdesk_command(),
            "ingest",
            "--quiet",
            "--data-dir",
            str(data_dir),
            str(ROOT / "newsdesk" / "corpus"),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextmanager
def running_server(
    data_dir: Path, port: int, env: dict[str, str], log: IO[str]
) -> Iterator[tuple[subprocess.Popen[Any], float]]:
    """`newsdesk serve` as a subprocess; yields (process, seconds until /healthz answered 200)."""
    command = [
        *newsdesk_command(),
        "serve",
        "--no-ingest",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    started = time.perf_counter()
    with running(command, log=log, env=env) as proc:
        # /healthz is polled every 50 ms, so start-up is timed to within that
        yield proc, wait_for_url(f"http://127.0.0.1:{port}/healthz", proc, started=started)


@contextmanager
def seed_server(
    data_dir: Path | None, **settings: str
) -> Iterator[tuple[subprocess.Popen[Any], str]]:
    """`newsdesk serve` offline with these NEWSDESK_* settings (no rate limit: a benchmark is one
    client address) on `data_dir`, or on a seed index built first in a temporary folder;
    yields the process and its base URL."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "NEWSDESK_RATE_LIMIT_PER_MINUTE": "1000000",
        **{f"NEWSDESK_{k.upper()}": v for k, v in settings.items()},
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-server-"))
    try:
        if data_dir is None:
            data_dir = workdir / "index"
            build_seed_index(data_dir, env)
        port = free_port()
        with (
            (workdir / "server.log").open("w") as log,
            running_server(data_dir, port, env, log) as (
                proc,
                _,
            ),
        ):
            yield proc, f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ask(client: httpx.Client, base: str, question: str) -> float:
    """One /api/ask round trip; returns its latency in seconds."""
    started = time.perf_counter()
    response = client.post(f"{base}/api/ask", json={"question": question})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"/api/ask returned {response.status_code}: {response.text[:200]}")
    if not response.json().get("answer"):
        raise RuntimeError("/api/ask returned an empty answer")
    return elapsed


def load(base: str, clients: int, requests: int) -> dict[str, float]:
    """`requests` questions split over `clients` threads, each with its own connection."""
    per_client = [
        requests // clients + (1 if i < requests % clients else 0) for i in range(clients)
    ]

    def run(index: int) -> list[float]:
        with httpx.Client(timeout=120.0) as client:
            return [
                ask(client, base, QUESTIONS[(index + n) % len(QUESTIONS)])
                for n in range(per_client[index])
            ]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = [t for batch in pool.map(run, range(clients)) for t in batch]
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": wall,
        "throughput": len(latencies) / wall,
        "p50_ms": statistics.median(ordered) * 1e3,
        "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1e3,
    }


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="prebuilt index (default: build one)"
    )
    parser.add_argument("--requests", type=int, default=100, help="questions per concurrency level")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients per level")
    args = parser.parse_args()

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "NEWSDESK_RATE_LIMIT_PER_MINUTE": "1000000",
    }  # the benchmark is one client address
    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = workdir / "index"
            print(f"seed index built in {build_seed_index(data_dir, env):.1f}s (not counted)")
        run_benchmark(
            data_dir, [int(n) for n in args.levels.split(",")], args.requests, env, workdir
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_benchmark(
    data_dir: Path, levels: list[int], requests: int, env: dict[str, str], workdir: Path
) -> None:
    """Start the server and print start-up, memory and load figures."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    concurrency = env.get("NEWSDESK_CONCURRENCY", "8")
    print(
        f"cpu_count={os.cpu_count()} python={sys.version.split()[0]} server concurrency={concurrency}"
    )
    with (
        (workdir / "server.log").open("w") as log,
        running_server(data_dir, port, env, log) as (proc, ready),
    ):
        print(f"ready: /healthz 200 after {ready:.2f}s; RSS {rss_mib(proc.pid):.0f} MiB")
        with httpx.Client(timeout=120.0) as client:
            print(f"first /api/ask (cold): {ask(client, base, QUESTIONS[0]) * 1e3:.0f} ms")
        asked = 1
        for clients in levels:
            r = load(base, clients, requests)
            asked += int(r["requests"])
            print(
                f"{clients:>2} clients: {r['requests']:.0f} requests in {r['seconds']:.1f}s = "
                f"{r['throughput']:.1f} req/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms"
            )
            if asked >= 100 and clients == levels[0]:
                print(f"RSS after {asked} questions: {rss_mib(proc.pid):.0f} MiB")
        print(f"RSS after {asked} questions: {rss_mib(proc.pid):.0f} MiB")


if __name__ == "__main__":
    main()
