"""Reports of an evaluation run: the JSON report, the Markdown report, the terminal summary."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import (
    METRICS,
    Outcome,
    Record,
    Scored,
    SourceSpec,
    missed_floors,
    passage_matches,
)
from evals.questions import QuestionSpec
from rag.citations import label
from rag.types import Answer, Citation, Passage

Echo = Callable[[str], Any]


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


def _fmt(value: float | None, name: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if name.startswith("latency") else f"{value:.3f}"


def _fact(alternatives: Sequence[str]) -> str | list[str]:
    return alternatives[0] if len(alternatives) == 1 else list(alternatives)


# What a report keeps of each passage and citation: the reference, not the whole text.
_PASSAGE_FIELDS = {"doc_id", "chunk_id", "outlet", "date", "title", "score"}
_CITATION_FIELDS = {"number", "label", "doc_id", "outlet", "date", "title", "quote"}


def _passage_json(rank: int, p: Passage, specs: Sequence[SourceSpec]) -> dict[str, Any]:
    return {
        "rank": rank,
        **p.model_dump(mode="json", include=_PASSAGE_FIELDS),
        "also_in": [s.doc_id for s in p.also_in],
        "expected": any(passage_matches(s, p) for s in specs),
    }


def _citation_json(c: Citation) -> dict[str, Any]:
    return {
        **c.model_dump(mode="json", include=_CITATION_FIELDS),
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


def write_reports(report: Report, json_out: Path | None, md_out: Path | None) -> None:
    """Write the JSON and the Markdown report where asked (None: not wanted)."""
    if json_out is not None:
        _write(json_out, json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n")
    if md_out is not None:
        _write(md_out, report_markdown(report))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def gate(report: Report, floors: dict[str, float], echo: Echo) -> int:
    """Print each metric floor the run misses; the exit code (1 when any is missed, else 0)."""
    missed = missed_floors(report.scored.metrics, floors)
    for message in missed:
        echo(f"FAIL: {message}")
    return 1 if missed else 0
