"""Plain-text rendering of answers for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rag.citations import label
from rag.types import Answer, Passage


def footer_lines(answer: Answer) -> list[str]:
    """Notice, filters, sources and the citation check under an answer."""
    lines: list[str] = []
    if answer.notice:
        lines.append(f"! {answer.notice}")
    applied = answer.filters
    if not applied.effective.is_empty():
        understood = (
            f" (from the question: {', '.join(applied.understood)})" if applied.understood else ""
        )
        lines.append(f"Filters: {applied.effective.describe()}{understood}")
    for c in answer.citations:
        also = f" (also carried by {', '.join(label(s) for s in c.also_in)})" if c.also_in else ""
        lines.append(
            f"  [{c.number}] {c.label} — {c.title} [{c.doc_id}]{also}"
            + (f" {c.url}" if c.url else "")
        )
    check = answer.citation_check
    if check.total:
        lines.append(
            f"Citations verified: {check.passed}/{check.total} passed"
            + (f", {check.repaired} repaired" if check.repaired else "")
            + (
                f", {check.unsupported_sentences} sentences unsupported"
                if check.unsupported_sentences
                else ""
            )
        )
    lines.append(f"({answer.mode}, {answer.timings.get('total_ms', 0):.0f} ms)")
    return lines


def passage_lines(passages: Sequence[Passage]) -> list[str]:
    """Retrieved passages with outlet, date, doc id and scores."""
    lines = ["", "Retrieved passages:"]
    for i, p in enumerate(passages, start=1):
        dense = f"{p.dense:.3f}" if p.dense is not None else "-"
        bm25 = f"{p.bm25:.2f}" if p.bm25 is not None else "-"
        lines.append(
            f"{i}. {label(p)} [{p.doc_id}] score {p.score:.4f} (dense {dense}, bm25 {bm25})"
        )
        lines.append("   " + p.text.replace("\n", " ")[:300])
    return lines
