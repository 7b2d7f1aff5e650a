"""What it costs a serving process to follow other processes' writes on the vector side.

    python bench/bench_fresh_vectors.py --data-dir DIR [--rounds 5]

DIR is an embedded Newsdesk index (for example the RealTimeQA bench's `realtimeqa-…` folder).
Each round opens a fresh Chroma instance of the folder, as `index.fresh.FreshVectors` does when
the commit sequence moved, and times it to its first answered search; resident memory is read
after each round, once the instance it replaced is closed. Prints medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np

from index.client import open_client
from index.fresh import _fresh_client
from index.store import ChromaStore


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store = ChromaStore(open_client(args.data_dir, None, 8000))
    count = store.chunks.count()
    probe = np.random.default_rng(0).standard_normal(384).tolist()
    t0 = time.perf_counter()
    store.query(probe, 5, None)
    first = time.perf_counter() - t0
    print(
        f"{count} chunks; {os.cpu_count()} cores; first search of the store's own client "
        f"{first * 1e3:.0f} ms; RSS {rss_mib():.0f} MiB"
    )
    times, memory, previous = [], [], None
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        client = _fresh_client(store.client, threading.Lock())
        client.get_collection(store.chunks.name).query(query_embeddings=[probe], n_results=5)
        times.append(time.perf_counter() - t0)
        if previous is not None:
            previous.close()
        previous = client
        memory.append(rss_mib())
    print(
        f"reopen to first search: median {statistics.median(times) * 1e3:.0f} ms "
        f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) over {args.rounds} rounds"
    )
    print(f"RSS after each round: {', '.join(f'{m:.0f}' for m in memory)} MiB")


if __name__ == "__main__":
    main()
