"""Warm end-to-end `ask` latency (extractive) next to a plain llama-index pipeline's retrieval alone.

    python bench/bench_latency.py [--index DIR --collection NAME] [--repeat 3]

Builds the seed index in a temp folder (or uses --index, e.g. a RealTimeQA index built by
`python -m bench realtimeqa`), then, in one run and on the same Chroma collection and model:
Newsdesk's ask (question in, cited answer out) and llama-index's VectorStoreIndex top-k
retrieval, plus the query-embedding time of ONNX Runtime and of PyTorch. With --index, the
RealTimeQA questions are also asked as of their own quiz dates (`filters.as_of`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, it imports the repo's own packages
QUESTIONS = ROOT.parent / "shared" / "bench" / "realtimeqa-2025" / "questions.jsonl"
SEED_QUESTIONS = [
    "Where was equipment at a key substation hit?",
    "Who won the 2025 Nobel Peace Prize?",
    "According to Dawn, how many households lost power?",
    "What did the Telegraph report about the talks?",
    "How long did the last Istanbul session last?",
    "What did Peskov say about NATO infrastructure?",
    "How many drones did the Ukrainian air force say it downed?",
    "What is Trump's 28-point plan?",
    "What did Kaja Kallas say about a ceasefire?",
    "What happened in September 2025?",
]


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


def timed(fn: Callable[[str], object], questions: list[str], repeat: int) -> dict[str, float]:
    """Warm latency of fn over the questions."""
    for q in questions[:3]:
        fn(q)
    samples = []
    for _ in range(repeat):
        for q in questions:
            started = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - started) * 1e3)
    return percentiles(samples)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="Existing data dir (default: build the seed index).",
    )
    parser.add_argument("--collection", default="newsdesk")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--k", type=int, default=6)
    args = parser.parse_args()

    from bench import baseline
    from bench.stats import question_day
    from newsdesk.factory import build_embedder, build_ingestor, build_newsdesk
    from newsdesk.settings import Settings
    from rag.types import Filters

    with tempfile.TemporaryDirectory() as tmp:
        data = args.index or Path(tmp)
        settings = Settings(_env_file=None, data_dir=data, collection=args.collection, top_k=args.k)  # type: ignore[call-arg]
        embedder = build_embedder(settings)
        if args.index is None:
            build_ingestor(settings, progress=False, embedder=embedder).run(
                [ROOT / "newsdesk" / "corpus"], log=lambda m: None
            )
            questions, days = SEED_QUESTIONS, {}
        else:
            rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines()[:40]]
            questions = [r["question"] for r in rows]
            days = {r["question"]: question_day(r["question_date"]) for r in rows}
        engine = build_newsdesk(settings, embedder=embedder)
        model = baseline.embed_model()
        plain = baseline.index_over_collection(engine.retriever.store.chunks, model)
        figures = {
            "cores": os.cpu_count(),
            "index": str(args.index or "seed corpus"),
            "chunks": engine.summary().chunks,
            "questions": len(questions) * args.repeat,
            "newsdesk_ask_extractive": timed(lambda q: engine.ask(q), questions, args.repeat),
            # RealTimeQA questions again, each asked as of its own quiz date
            **(
                {
                    "newsdesk_ask_as_of_question_day": timed(
                        lambda q: engine.ask(q, filters=Filters(as_of=days[q])),
                        questions,
                        args.repeat,
                    )
                }
                if days
                else {}
            ),
            "plain_llama_index_retrieve": timed(
                lambda q: baseline.retrieve(plain, q, args.k), questions, args.repeat
            ),
            "query_embedding_onnx": timed(embedder.embed_query, questions, args.repeat),
            "query_embedding_pytorch": timed(model.get_query_embedding, questions, args.repeat),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
