"""`newsdesk bench realtimeqa`: answer recall and cited answers on real news quiz questions.

A sample of questions is drawn with a seed; the index holds their candidate articles plus random
others up to --articles-total. For `answer_in_corpus` questions it reports answer recall@1/5/10
(a retrieved passage contains the answer text) and the share of answers that contain the answer
text with a citation to a passage containing it; for the others, how often Newsdesk abstained.
The plain llama-index pipeline (evals/baseline.py) runs on the same sample and articles.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import baseline as llama_baseline  # `baseline` is run_benchmark's on/off flag
from evals.metrics import fact_found

if TYPE_CHECKING:
    from index.ingest import IngestReport
    from rag.engine import Newsdesk

KS = (1, 5, 10)


def contains(passage: str, answer: str) -> bool:
    """Answer text found in a passage as whole words, ignoring case, whitespace, quotes, dashes."""
    return fact_found([answer], passage)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def sample(
    questions: list[dict[str, Any]],
    articles: list[dict[str, Any]],
    n_questions: int,
    n_articles: int,
    seed: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sampled questions, and their candidate articles plus random others up to n_articles."""
    rng = random.Random(seed)
    chosen = (
        rng.sample(questions, n_questions) if 0 < n_questions < len(questions) else list(questions)
    )
    by_url = {a["url"]: a for a in articles}
    picked = {u: by_url[u] for q in chosen for u in q["candidate_urls"] if u in by_url}
    others = [a for a in articles if a["url"] not in picked]
    room = max(n_articles - len(picked), 0) if n_articles else len(others)
    for a in rng.sample(others, min(room, len(others))):
        picked[a["url"]] = a
    return chosen, list(picked.values())


def recall_at(texts: list[str], answer: str) -> dict[int, bool]:
    """Whether the answer is in the top 1, 5 and 10 passages."""
    return {k: any(contains(t, answer) for t in texts[:k]) for k in KS}


@dataclass(frozen=True)
class Indexing:
    """How the benchmark builds and opens an index of its own; the CLI wires it from settings.

    `ingest(paths, folder)` and `make_engine(folder, top_k)` keep the index in an embedded store
    in `folder`, never on a shared Chroma server, so reruns reuse it and never mix with another.
    """

    root: Path  # the resolved data folder: each sample gets a folder of its own under it
    chunking: tuple[int, int]  # chunk size and overlap: another chunking needs another index
    ingest: Callable[[list[Path], Path], IngestReport]
    make_engine: Callable[[Path, int], Newsdesk]


def run_benchmark(
    indexing: Indexing,
    articles_path: Path,
    questions_path: Path,
    n_questions: int,
    n_articles: int,
    seed: int,
    baseline: bool,
    json_out: Path | None,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Run Newsdesk (and the plain pipeline) on a sample and print both side by side."""
    questions, articles = sample(
        load_jsonl(questions_path), load_jsonl(articles_path), n_questions, n_articles, seed
    )
    # One folder per exact sample and chunking, always an embedded store of its own, so reruns
    # reuse their index and never mix with another sample or a shared Chroma server.
    key = json.dumps([sorted(a["url"] for a in articles), *indexing.chunking])
    workdir = (
        indexing.root
        / f"realtimeqa-{len(articles)}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    )
    echo(
        f"RealTimeQA: {len(questions)} questions, {len(articles)} articles, seed {seed}, {os.cpu_count()} cores"
    )
    ours = _run_newsdesk(indexing, workdir, articles, questions, echo)
    result: dict[str, Any] = {
        "questions": len(questions),
        "articles": len(articles),
        "seed": seed,
        "cores": os.cpu_count(),
        "newsdesk": ours,
    }
    if baseline:
        result["plain_llama_index"] = _run_baseline(workdir, articles, questions, echo)
    _print_table(result, echo)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    return result


def _run_newsdesk(
    indexing: Indexing,
    workdir: Path,
    articles: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in articles))
    report = indexing.ingest([source], workdir)
    echo(
        f"newsdesk ingest: {report.chunks} chunks embedded in {report.seconds:.0f}s ({len(report.skipped)} skipped)"
    )
    engine = indexing.make_engine(workdir, max(KS))
    rows = []
    for q in _progress(questions):
        started = time.perf_counter()
        answer = engine.ask(q["question"])
        rows.append(
            {
                "id": q["id"],
                "in_corpus": q["answer_in_corpus"],
                "answer": q["answer"],
                "recall": recall_at([p.text for p in answer.retrieved], q["answer"]),
                "cited": contains(answer.answer, q["answer"])
                and any(contains(c.passage, q["answer"]) for c in answer.citations),
                "abstained": answer.abstained,
                "ms": (time.perf_counter() - started) * 1e3,
            }
        )
    return _summarise(rows)


def _run_baseline(
    workdir: Path,
    articles: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    started = time.perf_counter()
    client = llama_baseline.client_at(workdir / "plain-chroma")
    index = llama_baseline.build_index(articles, client, "plain", llama_baseline.embed_model())
    echo(f"plain llama-index ingest: {time.perf_counter() - started:.0f}s")
    rows = []
    for q in _progress(questions):
        started = time.perf_counter()
        texts = llama_baseline.retrieve(index, q["question"], max(KS))
        rows.append(
            {
                "id": q["id"],
                "in_corpus": q["answer_in_corpus"],
                "answer": q["answer"],
                "recall": recall_at(texts, q["answer"]),
                "cited": None,
                "abstained": False,
                "ms": (time.perf_counter() - started) * 1e3,
            }
        )
    return _summarise(rows)


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["in_corpus"]]
    others = [r for r in rows if not r["in_corpus"]]

    def share(items: list[dict[str, Any]], pick: Callable[[dict[str, Any]], Any]) -> float | None:
        return round(sum(1 for r in items if pick(r)) / len(items), 4) if items else None

    ms = sorted(r["ms"] for r in rows)
    out: dict[str, Any] = {}
    for k in KS:
        out[f"answer_recall@{k}"] = share(answerable, lambda r, at=k: r["recall"][at])  # type: ignore[misc]
    out["cited_answer_rate"] = (
        share(answerable, lambda r: r["cited"])
        if answerable and answerable[0]["cited"] is not None
        else None
    )
    out["abstention_rate_not_in_corpus"] = share(others, lambda r: r["abstained"])
    out["false_abstention_rate"] = share(answerable, lambda r: r["abstained"])
    out["latency_ms_p50"] = round(ms[len(ms) // 2], 1) if ms else None
    out["answerable"], out["not_in_corpus"] = len(answerable), len(others)
    return out


def _print_table(result: dict[str, Any], echo: Callable[[str], None]) -> None:
    ours, plain = result["newsdesk"], result.get("plain_llama_index", {})
    echo(f"\n{'metric':32} {'newsdesk':>10} {'plain llama-index':>18}")
    for key in ours:
        echo(f"{key:32} {_fmt(ours.get(key)):>10} {_fmt(plain.get(key)):>18}")


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value}"


def _progress(items: list[dict[str, Any]]) -> Any:
    from tqdm import tqdm

    return tqdm(items, unit="q", file=sys.stderr, leave=False)
