"""Ingestion throughput next to the embedding model's raw throughput on the same chunks.

    python bench/bench_ingest.py [--articles N] [--seed S]

Takes N RealTimeQA articles (default 60), ingests them into a fresh index and reports chunks per
second; then embeds exactly the stored chunk texts with the same embedder and batch size and
reports the model's raw chunks per second; then times a no-change re-ingest. Pipeline and raw
runs alternate --repeat times (default 2) and the medians are compared, because a 2-core
machine's speed drifts between minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT.parent / "shared" / "bench" / "realtimeqa-2025" / "articles.jsonl"


def _stored_chunks(store: Any) -> list[tuple[str, str, Any]]:
    """(id, text, record) of every chunk in a `ChromaStore`."""
    from index.client import pages
    from index.records import chunk_info

    out = []
    for ids, metas, docs in pages(store.chunks, ["metadatas", "documents"]):
        out.extend(zip(ids, docs, map(chunk_info, metas), strict=True))
    return out


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=ARTICLES)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from index.prepare import embedding_text
    from newsdesk.factory import build_embedder, build_ingestor
    from newsdesk.settings import Settings

    lines = args.source.read_text(encoding="utf-8").splitlines()
    picked = random.Random(args.seed).sample(lines, min(args.articles, len(lines)))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "sample.jsonl"
        corpus.write_text("\n".join(picked) + "\n")
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        embedder = build_embedder(settings)
        embedder.embed_documents(["warm-up sentence so model loading is not timed"] * 8)
        pipeline, raw = [], []
        for n in range(args.repeat):
            fresh = settings.replace(data_dir=Path(tmp) / f"data{n}")
            ingestor = build_ingestor(fresh, progress=False, embedder=embedder)
            report = ingestor.run([corpus], log=lambda m: None)
            pipeline.append(report.chunks / report.seconds)
            texts = [embedding_text(t, m) for _, t, m in _stored_chunks(ingestor.store)]
            started = time.perf_counter()
            for i in range(0, len(texts), ingestor.batch_size):
                embedder.embed_documents(texts[i : i + ingestor.batch_size])
            raw.append(len(texts) / (time.perf_counter() - started))
        again = ingestor.run([corpus], log=lambda m: None)

    figures = {
        "cores": os.cpu_count(),
        "articles": len(picked),
        "chunks": report.chunks,
        "repeats": args.repeat,
        "pipeline_chunks_per_s": [round(r, 2) for r in pipeline],
        "model_raw_chunks_per_s": [round(r, 2) for r in raw],
        "pipeline_share_of_raw_median": round(
            statistics.median(pipeline) / statistics.median(raw), 3
        ),
        "no_change_reingest_s": round(again.seconds, 3),
        "reingest_embedded_chunks": again.chunks,
    }
    print(json.dumps(figures, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
