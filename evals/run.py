"""`newsdesk eval`: run a question set through the engine, score it, report it, gate on floors.

The question-set format is in `evals.questions`, the metrics in `evals.metrics` and the reports
in `evals.report`. The engine comes from the caller (the CLI builds it from settings), so this
package never reads settings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from evals.metrics import Record, parse_floors, score
from evals.questions import QuestionSet, QuestionSpec, load_question_set
from evals.report import Echo, Report, gate, summary_lines, write_reports
from rag.types import AnswerMode, Turn

if TYPE_CHECKING:
    from rag.engine import Newsdesk

WARM_UP = "What is the latest news?"


def run_question(engine: Newsdesk, spec: QuestionSpec, mode: AnswerMode | None = None) -> Record:
    """Ask one question (earlier turns first, as history) and time the last ask."""
    filters = spec.filters.to_filters()
    history: list[Turn] = []
    for text in spec.asks[:-1]:
        history.append(engine.ask(text, history=history, filters=filters, mode=mode).as_turn())
    started = time.perf_counter()
    answer = engine.ask(spec.asks[-1], history=history, filters=filters, mode=mode)
    latency = (time.perf_counter() - started) * 1e3
    return Record(
        id=spec.id,
        answer=answer,
        answerable=spec.answerable,
        facts=spec.expect.facts,
        sources=spec.expect.sources,
        latency_ms=latency,
    )


def evaluate(
    engine: Newsdesk,
    qset: QuestionSet,
    k: int = 5,
    mode: AnswerMode | None = None,
    progress: bool = True,
) -> Report:
    """Run every question (after one untimed warm-up ask) and score the answers."""
    engine.ask(WARM_UP, mode=mode)  # loads the model session and the BM25 snapshot
    bar = tqdm(
        qset.questions,
        desc="eval",
        unit="question",
        file=sys.stderr,
        leave=False,
        disable=not progress,
    )
    records = [run_question(engine, spec, mode) for spec in bar]
    return Report(
        name=qset.name or "",
        k=k,
        mode=mode or engine.mode,
        questions=list(qset.questions),
        records=records,
        scored=score(records, engine.checker, k),
    )


def open_index(make_engine: Callable[[], Newsdesk], data_dir: Path) -> Newsdesk:
    """The engine `make_engine` builds over the index at `data_dir`, checked to hold articles.

    Raises ValueError, in one line, when the index cannot be opened or is empty.
    """
    try:
        engine = make_engine()
        articles = engine.summary().articles
    except Exception as exc:  # a missing model or a broken index: one line, not a traceback
        where = data_dir.expanduser().resolve()
        raise ValueError(f"cannot open the index at {where}: {exc}") from exc
    if not articles:
        raise ValueError(f"the index at {data_dir} is empty: run `newsdesk ingest`")
    return engine


def _unknown_docs(qset: QuestionSet, engine: Newsdesk) -> list[str]:
    known = {d.doc_id for d in engine.summary().documents}
    return [
        f"question {q.id!r} expects doc {s.doc!r}, which is not in the index"
        for q in qset.questions
        for s in q.expect.sources
        if s.doc and s.doc not in known
    ]


def run_cli(
    open_engine: Callable[[], Newsdesk],
    question_set: Path,
    k: int,
    json_out: Path | None,
    md_out: Path | None,
    fail_under: Sequence[str],
    echo: Echo = print,
) -> int:
    """Everything `newsdesk eval` does; returns the exit code (1 when a floor is missed).

    `open_engine` is called once, after the checks below (see `open_index`). Raises ValueError
    for problems the user can fix (bad file, bad --fail-under, empty index), all of them before
    any question is asked.
    """
    floors = parse_floors(fail_under)
    if k < 1:
        raise ValueError(f"--k must be at least 1, not {k}")
    qset = load_question_set(question_set)
    engine = open_engine()
    for warning in _unknown_docs(qset, engine):
        echo(f"warning: {warning}")
    if k > engine.top_k:
        echo(f"note: the engine retrieves only {engine.top_k} passages (NEWSDESK_TOP_K)")
    report = evaluate(engine, qset, k)
    write_reports(report, json_out, md_out)
    for line in summary_lines(report):
        echo(line)
    return gate(report, floors, echo)
