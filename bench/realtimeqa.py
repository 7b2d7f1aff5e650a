"""`python -m bench realtimeqa`: RealTimeQA's public split, next to a plain llama-index pipeline.

By default every question over every article; `--sample N --seed S` draws N questions and
indexes their candidate articles plus random others up to `--articles-total`. For answerable
(`answer_in_corpus`) questions: answer recall on what the answerer receives and at an equal
token budget, and the cited-answer rate; for the others, how often Newsdesk abstained, over all
of them and over those whose answer text appears nowhere in the indexed articles. Every rate has
a bootstrap 95% interval and every difference with the plain pipeline a paired one; an ablation
runs the retrieval variants the CLI offers over the same index. The plain pipeline
(evals/baseline.py) is frozen: VectorStoreIndex over Chroma, same MiniLM, default chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import baseline as llama_baseline  # `baseline` is run_benchmark's on/off flag
from bench.scoring import (
    ANSWERS,
    KS,
    Row,
    ablation_table,
    answer_row,
    contains,
    differences,
    passages_row,
    recall_at,
    side_by_side,
    summarise,
)
from bench.stats import Estimate, question_week
from bench.training import (
    asked_filters,
    best_weight,
    collect,
    fit,
    out_of_fold,
    out_of_fold_weights,
)
from evals.metrics import fact_in_folded, fold_for_matching

if TYPE_CHECKING:
    from index.ingest import IngestReport
    from rag.engine import Newsdesk

__all__ = ["Indexing", "contains", "load_jsonl", "recall_at", "run_benchmark", "sample"]
FULL = "newsdesk"
COVERAGE = "all parts, coverage answer"  # the full retrieval with the unlearned answerer
AS_OF = "newsdesk, as of its day"  # each question asked with its own date as `as_of`
# The shipped reader reorders the sentence model's candidates (and abstains if its card says so).
READER = "newsdesk + reader"
READER_AS_OF = "newsdesk + reader, as of its day"
# The reader with the threshold its training chose, whether or not its card uses it.
READER_CHOICE = "reader + its trained threshold"
READER_COVERAGE = "reader beside word coverage"  # the reader without the sentence model
READERS = (READER, READER_CHOICE, READER_COVERAGE)
RECENCY_GRID = (0.0, 0.0025, 0.005, 0.0075, 0.01, 0.02)  # as-of week weights tried out of fold


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


def mark_findable(questions: list[Row], articles: Sequence[Row]) -> None:
    """Set `findable`: whether a question's answer text appears anywhere in the articles."""
    haystack = fold_for_matching("\n\n".join(a.get("text") or "" for a in articles))
    for q in questions:
        q["findable"] = bool(q["answer_in_corpus"]) or fact_in_folded([q["answer"]], haystack)


@dataclass(frozen=True)
class Indexing:
    """How the benchmark builds and opens an index of its own; the CLI wires it from settings.

    `ingest(paths, folder)` and `make_engine(folder, top_k, variant, recency)` keep the index in an
    embedded store in `folder`, never on a shared Chroma server, so reruns reuse it and never mix
    with another. `fingerprint` names everything that changes the index (chunking, pipeline
    version, embedding model): another fingerprint gets another folder, never a stale index.
    `variants` are the retrieval ablations `make_engine` knows, the full system first;
    `recency` is the as-of week's weight (None: the settings' own).
    """

    root: Path
    fingerprint: str
    ingest: Callable[[list[Path], Path], IngestReport]
    make_engine: Callable[[Path, int, str, float | None], Newsdesk]
    variants: tuple[str, ...] = (FULL,)


def index_folder(indexing: Indexing, articles: Sequence[Row]) -> Path:
    """The folder of the index for exactly these articles and this fingerprint."""
    key = json.dumps([sorted(a["url"] for a in articles), indexing.fingerprint])
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return indexing.root / f"realtimeqa-{len(articles)}-{digest}"


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
    per_question: Path | None = None,
    ablation: bool = True,
    cv: int = 0,
    train: Path | None = None,
    as_of: bool = True,
    reader: bool = True,
) -> dict[str, Any]:
    """Run Newsdesk, its ablations and the plain pipeline on one sample; print them side by side."""
    questions, articles = sample(
        load_jsonl(questions_path), load_jsonl(articles_path), n_questions, n_articles, seed
    )
    mark_findable(questions, articles)
    workdir = index_folder(indexing, articles)
    echo(
        f"RealTimeQA: {len(questions)} questions, {len(articles)} articles, seed {seed}, "
        f"{os.cpu_count()} cores; index {workdir}"
    )
    ingest_sample(indexing, workdir, articles, echo)
    names = [n for n in indexing.variants if ablation or n in (FULL, COVERAGE, *READERS)]
    names = [n for n in names if reader or n not in READERS]
    cv = _folds(cv, questions, echo)
    # Out of fold, the full system's answers come from models that never saw the question's week.
    run = [n for n in names if not (cv and n == FULL)]
    systems = {name: _run_newsdesk(indexing, workdir, name, questions) for name in run}
    if cv or train:
        engine = indexing.make_engine(workdir, max(KS), COVERAGE, None)
        examples = collect(engine, questions)
        if cv:
            limit = engine.settings.answer_sentences
            systems = {FULL: out_of_fold(examples, systems[COVERAGE], cv, limit), **systems}
        if train:
            # Asked plainly and as of their day, so the model learns what the as-of week adds.
            both = [*examples, *collect(engine, questions, as_of=True)]
            about = f"{len(questions)} RealTimeQA questions, plain and as of their day"
            fit(both, f"{about}, {len(articles)} articles").save(train)
            echo(f"answer model written to {train}")
    if as_of:
        systems.update(_as_of_systems(indexing, workdir, questions, cv, echo))
        if reader:
            engine = indexing.make_engine(workdir, max(KS), READER, None)
            systems[READER_AS_OF] = _ask_all(engine, questions, READER_AS_OF, as_of=True)
    plain = _run_baseline(workdir, articles, questions, echo) if baseline else None
    result = _report(systems, plain, questions, articles, seed, echo)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    if per_question:
        _write_rows(per_question, {**systems, **({"plain": plain} if plain else {})})
    return result


def _folds(cv: int, questions: Sequence[Row], echo: Callable[[str], None]) -> int:
    """The folds to use: fewer when the sample has fewer weeks, none (with a warning) below 2."""
    weeks = len({question_week(q["question_date"]) for q in questions})
    if cv and weeks < cv:
        cv = weeks if weeks >= 2 else 0
        echo(f"only {weeks} question weeks in this sample: {cv or 'no'} folds")
    if not cv:
        echo(
            "note: the shipped models answer, fitted on RealTimeQA 2022-2024 only; "
            "--cv K scores the learned sentence model out of fold on these questions instead"
        )
    return cv


def _report(
    systems: dict[str, list[Row]],
    plain: list[Row] | None,
    questions: list[Row],
    articles: list[Row],
    seed: int,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    ours = summarise(systems[FULL])
    theirs = summarise(plain) if plain else {}
    diffs = differences(systems[FULL], plain) if plain else {}
    echo("")
    for line in side_by_side(ours, theirs, diffs):
        echo(line)
    dated = summarise(systems[AS_OF]) if AS_OF in systems else {}
    dated_diffs = differences(systems[AS_OF], plain) if plain and dated else {}
    if dated:
        echo("\nEach question asked as of its own day (the plain pipeline has no such input):")
        for line in side_by_side(dated, theirs, dated_diffs):
            echo(line)
        paired = differences(systems[AS_OF], systems[FULL])
        echo(
            "as of its day vs without, paired: " + ", ".join(f"{k} {v}" for k, v in paired.items())
        )
    readers = _reader_report(systems, plain, echo)
    if len(systems) > 1:
        echo("\nAblation (same index):")
        for line in ablation_table(systems, plain):
            echo(line)
    return {
        "questions": len(questions),
        "articles": len(articles),
        "seed": seed,
        "cores": os.cpu_count(),
        "newsdesk": _json_ready(ours),
        "plain_llama_index": _json_ready(theirs),
        "difference": _json_ready(diffs),
        "newsdesk_as_of": _json_ready(dated),
        "difference_as_of": _json_ready(dated_diffs),
        "ablation": {name: _json_ready(summarise(rows)) for name, rows in systems.items()},
        "reader": readers,
    }


def _reader_report(
    systems: dict[str, list[Row]], plain: list[Row] | None, echo: Callable[[str], None]
) -> dict[str, Any]:
    """The reader's rows next to the plain pipeline, and paired against the answerers without it."""
    out: dict[str, Any] = {}
    # Each reader row against the answerers asked the same way (plainly, or as of the day).
    for mine, without, others in (
        (READER, FULL, (FULL, COVERAGE)),
        (READER_CHOICE, FULL, (FULL,)),
        (READER_COVERAGE, COVERAGE, (FULL, COVERAGE)),
        (READER_AS_OF, AS_OF, (AS_OF,)),
    ):
        if mine not in systems or without not in systems:
            continue
        figures = summarise(systems[mine])
        vs_plain = differences(systems[mine], plain) if plain else {}
        echo(f"\n{mine}:")
        for line in side_by_side(figures, summarise(plain) if plain else {}, vs_plain):
            echo(line)
        paired = {
            other: differences(systems[mine], systems[other], ANSWERS)
            for other in others
            if other in systems
        }
        for other, diffs in paired.items():
            echo(f"{mine} vs {other}, paired: " + ", ".join(f"{k} {v}" for k, v in diffs.items()))
        out[mine] = {
            "figures": _json_ready(figures),
            "difference_plain": _json_ready(vs_plain),
            "paired": {k: _json_ready(v) for k, v in paired.items()},
        }
    return out


def _json_ready(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.as_dict() if isinstance(v, Estimate) else v for k, v in figures.items()}


def _write_rows(path: Path, systems: dict[str, list[Row]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for system, rows in systems.items():
            for row in rows:
                out.write(json.dumps({"system": system, **row}, ensure_ascii=False) + "\n")


def ingest_sample(
    indexing: Indexing, workdir: Path, articles: list[Row], echo: Callable[[str], None]
) -> None:
    """Index the articles in `workdir` (unchanged ones are skipped, so a rerun costs seconds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in articles))
    report = indexing.ingest([source], workdir)
    echo(
        f"newsdesk ingest: {report.chunks} chunks embedded in {report.seconds:.0f}s "
        f"({len(report.skipped)} skipped)"
    )


def _as_of_systems(
    indexing: Indexing,
    workdir: Path,
    questions: list[Row],
    cv: int,
    echo: Callable[[str], None],
) -> dict[str, list[Row]]:
    """Every question asked as of its own day. Out of fold, each week's rows come from the
    as-of weight and answer model that did best without it; one row per weight tried follows."""
    if not cv:
        engine = indexing.make_engine(workdir, max(KS), FULL, None)
        return {AS_OF: _ask_all(engine, questions, AS_OF, as_of=True)}
    runs, examples = {}, {}
    for weight in RECENCY_GRID:
        engine = indexing.make_engine(workdir, max(KS), COVERAGE, weight)
        runs[weight] = _ask_all(engine, questions, f"as of, weight {weight}", as_of=True)
        examples[weight] = collect(engine, questions, as_of=True)
    limit = engine.settings.answer_sentences
    rows, chosen = out_of_fold_weights(runs, examples, cv, limit)
    whole = best_weight(runs, range(len(questions)))
    echo(f"as-of week weight chosen per fold: {chosen}; on every question: {whole}")
    return {AS_OF: rows, **{f"as of, weight {w}": runs[w] for w in RECENCY_GRID}}


def _run_newsdesk(
    indexing: Indexing, workdir: Path, variant: str, questions: list[Row]
) -> list[Row]:
    engine = indexing.make_engine(workdir, max(KS), variant, None)
    return _ask_all(engine, questions, variant)


def _ask_all(engine: Newsdesk, questions: list[Row], label: str, as_of: bool = False) -> list[Row]:
    rows = []
    for q in _progress(questions, label):
        started = time.perf_counter()
        answer = engine.ask(q["question"], filters=asked_filters(q, as_of))
        rows.append(answer_row(q, answer, (time.perf_counter() - started) * 1e3))
    return rows


def _run_baseline(
    workdir: Path, articles: list[Row], questions: list[Row], echo: Callable[[str], None]
) -> list[Row]:
    started = time.perf_counter()
    client = llama_baseline.client_at(workdir / "plain-chroma")
    index = llama_baseline.build_index(articles, client, "plain", llama_baseline.embed_model())
    echo(f"plain llama-index ingest: {time.perf_counter() - started:.0f}s")
    rows = []
    for q in _progress(questions, "plain"):
        started = time.perf_counter()
        texts = llama_baseline.retrieve(index, q["question"], max(KS))
        rows.append(passages_row(q, texts, (time.perf_counter() - started) * 1e3))
    return rows


def _progress(items: list[Row], what: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, unit="q", desc=what, file=sys.stderr, leave=False)
