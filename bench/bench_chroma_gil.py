"""How much of its process embedded Chroma's writes leave to other Python threads.

    python bench/bench_chroma_gil.py

A thread counts in a tight loop, first alone, then while the main thread upserts 4,096 chunks
(384-dim vectors, 1,500-character texts) into a fresh collection in batches of 1,024, as the
ingest's writer does. If the count rate collapses, Chroma's Rust bindings hold the GIL during
a write, and nothing else in an ingest process (reading, handing articles to the workers,
embedding requests) can run meanwhile.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable

import chromadb
import numpy as np

N, BATCH = 4096, 1024


def loop_rate(work: Callable[[], None]) -> tuple[float, float]:
    """(iterations/s of a counting thread, seconds) while `work` runs in this thread."""
    stop, counts = threading.Event(), []

    def count() -> None:
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    thread = threading.Thread(target=count)
    thread.start()
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    return counts[0] / elapsed, elapsed


def main() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, 384)).astype(np.float32)
    texts = ["word " * 300] * N
    metas = [{"doc_id": f"d{i // 6}", "chunk": i % 6} for i in range(N)]
    with tempfile.TemporaryDirectory() as folder:
        chunks = chromadb.PersistentClient(folder).create_collection(
            "chunks", embedding_function=None
        )

        def write() -> None:
            for i in range(0, N, BATCH):
                part = slice(i, i + BATCH)
                ids = [f"c{j}" for j in range(i, min(i + BATCH, N))]
                chunks.upsert(
                    ids=ids, embeddings=vectors[part], documents=texts[part], metadatas=metas[part]
                )

        alone, _ = loop_rate(lambda: time.sleep(3))
        beside, seconds = loop_rate(write)
    print(f"{os.cpu_count()} cores; a counting thread's rate:")
    print(f"  alone:                    {alone:14,.0f}/s")
    print(
        f"  beside Chroma's upserts:  {beside:14,.0f}/s ({beside / alone:.1%}) for {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
