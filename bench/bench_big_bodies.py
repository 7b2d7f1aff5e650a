"""Does a server stay at its usual size while clients without a token send huge bodies?

Starts the real `newsdesk serve` (an API token and a chat login set) on a seed index, asks one
question to warm it, then, for each door (`/api/ask` and the chat's queue) and each way of
sending (a declared Content-Length and a chunked body of unstated length), has 8 clients at once
each send a 300 MB body without credentials. The server's resident memory is sampled every
20 ms; prints its size before, its peak during each phase, what each client got back and how
much it managed to send.

    python bench/bench_big_bodies.py [--data-dir DIR] [--clients 8] [--megabytes 300]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages

from bench.bench_serve import ask, rss_mib, seed_server  # noqa: E402

TOKEN = "bench-secret"
DOORS = {"api": "/api/ask", "chat queue": "/gradio_api/queue/join"}
BLOCK = b"x" * 2**20


def send_big(port: int, path: str, total: int, chunked: bool) -> tuple[str, int]:
    """POST `total` bytes to `path` until the server answers; (status line, bytes sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}{length}\r\n\r\n".encode())
        sent = 0
        frame = b"%x\r\n" % len(BLOCK) + BLOCK + b"\r\n" if chunked else BLOCK
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(frame)
                sent += len(BLOCK)
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server refused and closed: what it answered is still readable
            pass
        return _status(sock), sent


def _status(sock: socket.socket) -> str:
    try:
        first = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError as exc:
        return f"no answer ({exc.__class__.__name__})"
    return first or "closed without an answer"


class Sampler:
    """The peak resident memory of a process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib(self.pid))


def phase(port: int, pid: int, path: str, chunked: bool, clients: int, total: int) -> None:
    with Sampler(pid) as sampler, ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        results = list(pool.map(lambda _: send_big(port, path, total, chunked), range(clients)))
    seconds = time.perf_counter() - started
    statuses = sorted({status for status, _ in results})
    most = max(sent for _, sent in results) / 2**20
    how = "chunked" if chunked else "Content-Length"
    print(
        f"{path} ({how}): peak RSS {sampler.peak:.0f} MiB; answers {statuses}; "
        f"most sent by one client {most:.0f} MiB; {seconds:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="prebuilt index")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--megabytes", type=int, default=300)
    args = parser.parse_args()
    with seed_server(args.data_dir, api_token=TOKEN, auth="editor:bench-password") as (proc, base):
        run(proc, base, args.clients, args.megabytes * 2**20)


def run(proc: subprocess.Popen[Any], base: str, clients: int, total: int) -> None:
    port = int(base.rsplit(":", 1)[1])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(timeout=120.0, headers=headers) as client:
        ask(client, base, "What did Peskov say about NATO troops?")
    print(f"cpu_count={os.cpu_count()} clients={clients} body={total / 2**20:.0f} MiB each")
    print(f"usual size, after one answer: RSS {rss_mib(proc.pid):.0f} MiB")
    for path in DOORS.values():
        for chunked in (False, True):
            phase(port, proc.pid, path, chunked, clients, total)
    print(f"after: RSS {rss_mib(proc.pid):.0f} MiB")


if __name__ == "__main__":
    main()
