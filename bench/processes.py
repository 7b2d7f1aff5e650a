"""Processes and ports for tests and benchmarks: start a server, wait until it answers, stop it.

Typical use: `port = free_port()`, then `with running(command, log=file) as proc:` and
`wait_for_url(url, proc)` inside the block; the process is stopped when the block ends.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` right now (another process may still take it before use)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_alive(proc: subprocess.Popen[Any] | None, what: str) -> None:
    # A server that died will never answer: fail now rather than at the timeout.
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"{what} exited with code {proc.returncode}")


def wait_for_port(
    port: int,
    host: str = LOOPBACK,
    timeout: float = 60.0,
    proc: subprocess.Popen[Any] | None = None,
) -> None:
    """Block until something accepts connections on host:port.

    Raises TimeoutError after `timeout` seconds, RuntimeError as soon as `proc` (the process
    meant to listen there) has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc, f"the process meant to listen on port {port}")
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on port {port}")


def wait_for_url(
    url: str,
    proc: subprocess.Popen[Any] | None = None,
    timeout: float = 180.0,
    started: float | None = None,
    interval: float = 0.05,
) -> float:
    """Poll `url` until it answers 200; returns the seconds from `started` (default: now).

    `started` is a `time.perf_counter()` reading, such as the moment the server was launched.
    Raises TimeoutError naming the last answer, RuntimeError as soon as `proc` has exited.
    """
    started = time.perf_counter() if started is None else started
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() - started < timeout:
            _check_alive(proc, "the server")
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return time.perf_counter() - started
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(interval)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s (last: {last})")


def stop(proc: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Ask a process to exit (SIGTERM); kill it if it has not within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(
    command: Sequence[str],
    log: IO[Any] | int | None = None,
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 20.0,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[Any]]:
    """`command` as a subprocess for the duration of the block, stopped (see `stop`) after it.

    Its stdout and stderr both go to `log` (a file, or a `subprocess` constant such as DEVNULL;
    None: inherited); it runs in `cwd` (default: this process's working folder).
    """
    proc = subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        yield proc
    finally:
        stop(proc, stop_timeout)
