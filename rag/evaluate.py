"""`newsdesk eval`: run a question set through the engine, score it, report it, gate on floors.

A question set is YAML or JSON (documented in the README):
    name: seed corpus checks
    questions:
      - id: substation
        question: Where was equipment at a key substation hit?      # or turns: [q1, q2, ...]
        filters: {outlet: Al Jazeera, since: 2025-08-01}             # optional
        answerable: true                                             # default true
        expect: {sources: [{doc: 001_c81ca98ac9a2360a}], facts: [Sumy, [gas transport, gas infrastructure]]}
The whole file is checked before anything runs; metrics are defined in `rag.metrics`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from tqdm import tqdm

from rag.citations import label
from rag.metrics import (
    METRICS,
    Day,
    Outcome,
    Record,
    Scored,
    SourceSpec,
    missed_floors,
    parse_floors,
    passage_matches,
    score,
)
from rag.types import Answer, Citation, Filters, Passage, Turn

if TYPE_CHECKING:
    from newsdesk.settings import Settings
    from rag.engine import Newsdesk

Echo = Callable[[str], Any]
WARM_UP = "What is the latest news?"


def _alternatives(value: Any) -> Any:
    """A fact is a string or a list of alternative strings; YAML integers count as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return value
    raise ValueError(
        f"each fact is a non-empty string or a list of them (alternatives), not {value!r}"
    )


Fact = Annotated[list[str], BeforeValidator(_alternatives)]


class _Strict(BaseModel):
    # strict: "yes" is not a bool and 12 is not a doc id; extra="forbid": typos in keys are errors
    model_config = ConfigDict(extra="forbid", strict=True)


class FilterSpec(_Strict):
    """Outlet and date filters applied to every turn of a question."""

    outlet: str | None = None
    since: Day | None = None
    until: Day | None = None

    def to_filters(self) -> Filters:
        """As the engine's `Filters`."""
        return Filters(outlet=self.outlet, since=self.since, until=self.until)


class Expect(_Strict):
    """What a right answer shows: an expected source in the top k, and facts in its text."""

    sources: list[SourceSpec] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)


class QuestionSpec(_Strict):
    """One question (or conversation) and what a right answer looks like."""

    id: str = Field(min_length=1)
    question: str | None = None
    turns: list[str] | None = None
    filters: FilterSpec = Field(default_factory=FilterSpec)
    answerable: bool = True
    expect: Expect = Field(default_factory=Expect)

    @property
    def asks(self) -> list[str]:
        """The questions asked in order; expectations apply to the last."""
        return list(self.turns) if self.turns else [self.question or ""]


class QuestionSet(_Strict):
    """A named list of questions."""

    name: str | None = None
    questions: list[QuestionSpec] = Field(min_length=1)


class _Loader(yaml.SafeLoader):
    """YAML without implicit dates, so a bad date reaches validation and is named there."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_question_set(path: Path) -> QuestionSet:
    """Read and check a question set; raises ValueError naming the question id and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the question set ({exc.strerror or exc})") from exc
    try:
        raw = (
            json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_Loader)
        )
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        # PyYAML ends a plain word at '?', ':' or ',' inside [...] or {...}: a trap for questions
        hint = (
            "; quote text inside [...] or {...} that holds '?', ':' or ','"
            if "flow" in str(exc)
            else ""
        )
        raise ValueError(f"{path}: not valid {kind}: {' '.join(str(exc).split())}{hint}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with 'name' and 'questions'")
    try:
        qset = QuestionSet.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"{path}: " + "; ".join(_describe(e, raw) for e in exc.errors())) from exc
    problems = _cross_checks(qset)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return qset.model_copy(update={"name": qset.name or path.stem})


def _describe(error: Any, raw: dict[str, Any]) -> str:
    loc, msg = list(error["loc"]), str(error["msg"]).removeprefix("Value error, ")
    msg = {"extra_forbidden": "unknown field", "missing": "required"}.get(error["type"], msg)
    where = ""
    if loc[:1] == ["questions"] and len(loc) > 1 and isinstance(loc[1], int):
        item = (raw.get("questions") or [None] * (loc[1] + 1))[loc[1]]
        qid = item.get("id") if isinstance(item, dict) else None
        where = (
            f"question {qid!r}: " if isinstance(qid, str) and qid else f"question #{loc[1] + 1}: "
        )
        loc = loc[2:]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{where}field {field!r}: {msg}" if field else f"{where}{msg}"


def _cross_checks(qset: QuestionSet) -> list[str]:
    """Rules that span fields: question xor turns, no empty text, unique ids, sane filters."""
    problems: list[str] = []
    seen: set[str] = set()
    for q in qset.questions:
        where = f"question {q.id!r}"
        if (q.question is None) == (q.turns is None):
            which = "both" if q.question is not None else "neither"
            problems.append(
                f"{where}: field 'question': give 'question' or 'turns' (it has {which})"
            )
        elif any(not t.strip() for t in q.asks) or not q.asks:
            problems.append(
                f"{where}: field '{'turns' if q.turns is not None else 'question'}': empty"
            )
        if q.id in seen:
            problems.append(f"{where}: field 'id': duplicate id")
        seen.add(q.id)
        if not q.answerable and (q.expect.facts or q.expect.sources):
            problems.append(
                f"{where}: field 'expect': a question with answerable: false expects "
                "an abstention, not facts or sources"
            )
        f = q.filters
        if f.since and f.until and f.since > f.until:
            problems.append(f"{where}: field 'filters.since': {f.since} is after until {f.until}")
    return problems


@dataclass
class Report:
    """A scored run of a question set."""

    name: str
    k: int
    mode: str
    questions: list[QuestionSpec]
    records: list[Record]
    scored: Scored

    def rows(self) -> list[tuple[QuestionSpec, Record, Outcome]]:
        """Each question with its record and outcome."""
        return list(zip(self.questions, self.records, self.scored.outcomes, strict=True))


def run_question(engine: Newsdesk, spec: QuestionSpec, mode: str | None = None) -> Record:
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
    engine: Newsdesk, qset: QuestionSet, k: int = 5, mode: str | None = None, progress: bool = True
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


# --- reports ---------------------------------------------------------------------------------
def _fmt(value: float | None, name: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if name.startswith("latency") else f"{value:.3f}"


def _fact(alternatives: Sequence[str]) -> str | list[str]:
    return alternatives[0] if len(alternatives) == 1 else list(alternatives)


def _passage_json(rank: int, p: Passage, specs: Sequence[SourceSpec]) -> dict[str, Any]:
    return {
        "rank": rank,
        "doc_id": p.doc_id,
        "chunk_id": p.chunk_id,
        "outlet": p.outlet,
        "date": p.date.isoformat() if p.date else None,
        "title": p.title,
        "score": p.score,
        "also_in": [s.doc_id for s in p.also_in],
        "expected": any(passage_matches(s, p) for s in specs),
    }


def _citation_json(c: Citation) -> dict[str, Any]:
    return {
        "number": c.number,
        "label": c.label,
        "doc_id": c.doc_id,
        "outlet": c.outlet,
        "date": c.date.isoformat() if c.date else None,
        "title": c.title,
        "quote": c.quote,
        "also_in": [s.doc_id for s in c.also_in],
    }


def report_json(report: Report) -> dict[str, Any]:
    """The JSON report: name, k, mode, metrics (None = n/a) and one entry per question."""
    questions = []
    for spec, rec, out in report.rows():
        a = rec.answer
        questions.append(
            {
                "id": spec.id,
                "question": spec.asks[-1],
                "passed": out.passed,
                "answer": a.answer,
                "abstained": a.abstained,
                "mode": a.mode,
                "citations": [_citation_json(c) for c in a.citations],
                "retrieved": [
                    _passage_json(i, p, rec.sources)
                    for i, p in enumerate(a.retrieved[: report.k], 1)
                ],
                "source_rank": out.source_rank,
                "missing_facts": [_fact(f) for f in out.missing_facts],
                "latency_ms": round(rec.latency_ms, 1),
            }
        )
    metrics = {name: report.scored.metrics[name] for name in METRICS}
    return {
        "name": report.name,
        "k": report.k,
        "mode": report.mode,
        "metrics": metrics,
        "questions": questions,
    }


def _passed_count(report: Report) -> int:
    return sum(o.passed for o in report.scored.outcomes)


def summary_lines(report: Report) -> list[str]:
    """A short plain-text summary for the terminal."""
    lines = [
        f"{report.name}: {_passed_count(report)}/{len(report.records)} questions passed "
        f"(k={report.k}, {report.mode})"
    ]
    for name in METRICS:
        n = report.scored.counts[name]
        lines.append(f"  {name:<22} {_fmt(report.scored.metrics[name], name):>7}   over {n}")
    failed = [spec.id for spec, _, out in report.rows() if not out.passed]
    if failed:
        lines.append(f"failed: {', '.join(failed)}")
    return lines


def _md_expected(spec: QuestionSpec) -> list[str]:
    if not spec.answerable:
        return ["- **Expected:** an abstention (not in the corpus)"]
    facts = "; ".join(" or ".join(f"“{a}”" for a in alts) for alts in spec.expect.facts)
    sources = (
        "; ".join(
            ", ".join(f"{k} {v}" for k, v in s.model_dump(exclude_none=True).items())
            for s in spec.expect.sources
        )
        or "none given"
    )
    return [f"- **Expected facts:** {facts or 'none given'}", f"- **Expected sources:** {sources}"]


def _md_failure(spec: QuestionSpec, rec: Record, out: Outcome, k: int) -> list[str]:
    asked = " → ".join(f"“{t}”" for t in spec.asks)
    lines = [f"### `{spec.id}`", "", f"- **Asked:** {asked}"]
    if spec.filters.model_dump(exclude_none=True):
        lines.append(f"- **Filters:** {spec.filters.to_filters().describe()}")
    lines += _md_expected(spec)
    a: Answer = rec.answer
    lines.append(f"- **Came back{' (abstained)' if a.abstained else ''}:** {a.answer}")
    if out.missing_facts:
        lines.append(f"- **Missing facts:** {'; '.join(' or '.join(f) for f in out.missing_facts)}")
    if spec.answerable and spec.expect.sources:
        found = f"rank {out.source_rank}" if out.source_rank else f"not in the top {k}"
        lines.append(f"- **Expected source:** {found}")
    lines.append(f"- **Top {k} passages:**")
    for i, p in enumerate(a.retrieved[:k], 1):
        snippet = " ".join(p.text.split())[:140]
        lines.append(f"  {i}. {label(p)} `{p.doc_id}`: {snippet}…")
    return [*lines, ""]


def report_markdown(report: Report) -> str:
    """A person-readable report: summary table, all questions, then every failure in detail."""
    m, counts = report.scored.metrics, report.scored.counts
    lines = [
        f"# Evaluation: {report.name}",
        "",
        f"{_passed_count(report)}/{len(report.records)} questions passed; "
        f"k = {report.k}; mode {report.mode}.",
        "",
        "| Metric | Value | Over |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {_fmt(m[name], name)} | {counts[name]} |" for name in METRICS]
    lines += [
        "",
        "## Questions",
        "",
        "| Question | Result | Source rank | Latency (ms) |",
        "| --- | --- | ---: | ---: |",
    ]
    for rec, out in zip(report.records, report.scored.outcomes, strict=True):
        result = "pass" if out.passed else "**FAIL**"
        lines.append(f"| `{rec.id}` | {result} | {out.source_rank or '-'} | {rec.latency_ms:.0f} |")
    lines += ["", "## Failed questions", ""]
    failures = [row for row in report.rows() if not row[2].passed]
    for spec, rec, out in failures:
        lines += _md_failure(spec, rec, out, report.k)
    if not failures:
        lines.append("None: every question passed.")
    return "\n".join(lines).rstrip() + "\n"


# --- the command -----------------------------------------------------------------------------
def _open_engine(settings: Settings) -> Newsdesk:
    from newsdesk.factory import build_newsdesk

    try:
        engine = build_newsdesk(settings)
        articles = engine.summary()["articles"]
    except Exception as exc:  # a missing model or a broken index: one line, not a traceback
        raise ValueError(f"cannot open the index at {settings.resolved_data_dir()}: {exc}") from exc
    if not articles:
        raise ValueError(f"the index at {settings.data_dir} is empty: run `newsdesk ingest`")
    return engine


def _unknown_docs(qset: QuestionSet, engine: Newsdesk) -> list[str]:
    known = {d["doc_id"] for d in engine.summary()["documents"]}
    return [
        f"question {q.id!r} expects doc {s.doc!r}, which is not in the index"
        for q in qset.questions
        for s in q.expect.sources
        if s.doc and s.doc not in known
    ]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_cli(
    settings: Settings,
    question_set: Path,
    k: int,
    json_out: Path | None,
    md_out: Path | None,
    fail_under: Sequence[str],
    echo: Echo = print,
) -> int:
    """Everything `newsdesk eval` does; returns the exit code (1 when a floor is missed).

    Raises ValueError for problems the user can fix (bad file, bad --fail-under, empty index),
    all of them before any question is asked.
    """
    floors = parse_floors(fail_under)
    if k < 1:
        raise ValueError(f"--k must be at least 1, not {k}")
    qset = load_question_set(question_set)
    engine = _open_engine(settings)
    for warning in _unknown_docs(qset, engine):
        echo(f"warning: {warning}")
    if k > engine.top_k:
        echo(f"note: the engine retrieves only {engine.top_k} passages (NEWSDESK_TOP_K)")
    report = evaluate(engine, qset, k)
    if json_out is not None:
        _write(json_out, json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n")
    if md_out is not None:
        _write(md_out, report_markdown(report))
    for line in summary_lines(report):
        echo(line)
    missed = missed_floors(report.scored.metrics, floors)
    for message in missed:
        echo(f"FAIL: {message}")
    return 1 if missed else 0
