"""Scoring one RealTimeQA answer, summarising a system, and printing systems side by side.

Recall is counted on the passages the answerer receives: at 1, 5 and 10, and at an equal token
budget (the top passages up to 5 x 1,024 tokens, what the plain pipeline's top 5 chunks hold),
so a system with larger passages cannot buy recall with length. The cited answer is judged on
the answer's own sentences (never on citation labels such as "[1: CNN, 3 Jan 2025]") and on the
passages those sentences cite, matching the answer text as whole words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from bench.stats import Estimate, bootstrap, paired_difference
from evals.metrics import fact_found
from index.chunking import count_tokens
from rag.types import Answer

KS = (1, 5, 10)
BUDGET_TOKENS = 5 * 1024
RECALLS = [*(f"recall@{k}" for k in KS), "recall@budget"]
SHORT_ANSWER = 3  # words: answers this short are matched verbatim where an article states them
Row = dict[str, Any]


def contains(passage: str, answer: str) -> bool:
    """Answer text found in a passage as whole words, ignoring case, whitespace, quotes, dashes."""
    return fact_found([answer], passage)


def recall_at(texts: Sequence[str], answer: str) -> dict[str, bool]:
    """Whether the answer is in the top 1, 5 and 10 passages, and within the token budget."""
    found = {f"recall@{k}": any(contains(t, answer) for t in texts[:k]) for k in KS}
    found["recall@budget"] = any(contains(t, answer) for t in within_budget(texts))
    return found


def within_budget(texts: Sequence[str], budget: int = BUDGET_TOKENS) -> list[str]:
    """The leading passages whose tokens add up to at most `budget` (at least the first)."""
    kept: list[str] = []
    used = 0
    for text in texts:
        used += count_tokens(text)
        if kept and used > budget:
            break
        kept.append(text)
    return kept


def cited_correctly(answer: Answer, expected: str) -> bool:
    """An answer sentence states the answer and cites a passage that contains it."""
    passages = {c.number: c.passage for c in answer.citations}
    return any(
        contains(s.text, expected)
        and any(contains(passages.get(n, ""), expected) for n in s.citations)
        for s in answer.sentences
    )


def answer_row(question: Row, answer: Answer, ms: float) -> Row:
    """One question's outcome for Newsdesk, with what was retrieved and answered."""
    texts = [p.text for p in answer.retrieved]
    return {
        **_question_fields(question),
        **recall_at(texts, question["answer"]),
        "cited": cited_correctly(answer, question["answer"]),
        "lead": bool(answer.sentences) and contains(answer.sentences[0].text, question["answer"]),
        "abstained": answer.abstained,
        "ms": ms,
        "response": " ".join(s.text for s in answer.sentences) or answer.answer,
        "passages": [
            {"doc_id": p.doc_id, "score": p.score, "dense": p.dense, "bm25": p.bm25, "text": p.text}
            for p in answer.retrieved
        ],
    }


def passages_row(question: Row, texts: Sequence[str], ms: float) -> Row:
    """One question's outcome for a retrieval-only system (it never answers or abstains)."""
    return {
        **_question_fields(question),
        **recall_at(texts, question["answer"]),
        "cited": None,
        "lead": None,
        "abstained": False,
        "ms": ms,
        "passages": [{"text": t} for t in texts],
    }


def _question_fields(question: Row) -> Row:
    return {
        "id": question["id"],
        "question": question["question"],
        "answer": question["answer"],
        "in_corpus": bool(question["answer_in_corpus"]),
        "findable": bool(question.get("findable", question["answer_in_corpus"])),
        "evidence": bool(question.get("evidence")),
    }


def summarise(rows: Sequence[Row]) -> dict[str, Estimate | float | int | None]:
    """A system's metrics, each rate with its bootstrap 95% interval."""
    answerable = [r for r in rows if r["in_corpus"]]
    others = [r for r in rows if not r["in_corpus"]]
    absent = [r for r in others if not r["findable"]]
    # A long answer ("To renovate the community center") is rarely in an article word for word
    # even where the article states it; for short ones, not found verbatim most nearly means
    # not there.
    absent_short = [r for r in absent if len(str(r["answer"]).split()) <= SHORT_ANSWER]

    def rate(items: Sequence[Row], pick: Callable[[Row], Any]) -> Estimate | None:
        return bootstrap([float(bool(pick(r))) for r in items]) if items else None

    out: dict[str, Estimate | float | int | None] = {
        name: rate(answerable, itemgetter(name)) for name in RECALLS
    }
    answers = answerable and answerable[0]["cited"] is not None
    out["cited_answer_rate"] = rate(answerable, lambda r: r["cited"]) if answers else None
    # The answer's first sentence states the answer, where the quiz names an evidence sentence.
    evidenced = [r for r in answerable if r.get("evidence")]
    out["lead_holds_answer"] = rate(evidenced, lambda r: r["lead"]) if answers else None
    out["abstention_not_in_corpus"] = rate(others, lambda r: r["abstained"])
    out["abstention_answer_nowhere"] = rate(absent, lambda r: r["abstained"])
    out["abstention_nowhere_short"] = rate(absent_short, lambda r: r["abstained"])
    out["false_abstention"] = rate(answerable, lambda r: r["abstained"])
    ms = sorted(r["ms"] for r in rows)
    out["latency_ms_p50"] = round(ms[len(ms) // 2], 1) if ms else None
    out["answerable"], out["not_in_corpus"], out["answer_nowhere"] = (
        len(answerable),
        len(others),
        len(absent),
    )
    out["answer_nowhere_short"] = len(absent_short)
    return out


ANSWERS = ("cited", "lead")


def differences(
    ours: Sequence[Row], theirs: Sequence[Row], names: Sequence[str] = RECALLS
) -> dict[str, Estimate]:
    """Differences (ours - theirs) on the answerable questions, paired by question: recall by
    default, or `ANSWERS` (cited answer; lead sentence holds it, where there is evidence)."""
    mine = {r["id"]: r for r in ours if r["in_corpus"]}
    other = {r["id"]: r for r in theirs if r["in_corpus"] and r["id"] in mine}
    out = {}
    for name in names:
        ids = sorted(i for i in other if name != "lead" or other[i].get("evidence"))
        out[name] = paired_difference(
            [float(mine[i][name]) for i in ids], [float(other[i][name]) for i in ids]
        )
    return out


def side_by_side(
    ours: dict[str, Any], plain: dict[str, Any], diffs: dict[str, Estimate]
) -> list[str]:
    """The main table: each metric for Newsdesk, the plain pipeline, and their difference."""
    lines = [
        f"{'metric':28} {'newsdesk [95% CI]':>26} {'plain llama-index':>26} {'difference':>26}"
    ]
    for key, value in ours.items():
        diff = diffs.get(key)
        lines.append(f"{key:28} {_fmt(value):>26} {_fmt(plain.get(key)):>26} {_fmt(diff):>26}")
    return lines


def ablation_table(variants: Mapping[str, Sequence[Row]], plain: Sequence[Row] | None) -> list[str]:
    """One row per retrieval variant of the same index: recall and answer figures."""
    head = (
        f"{'variant':28} {'@1':>6} {'@5':>6} {'@budget':>8} {'cited':>6} {'abst.':>6} {'false':>6}"
    )
    lines = [head + ("   @5 vs plain [95% CI]" if plain else "")]
    for name, rows in variants.items():
        s = summarise(rows)
        cells = [s["recall@1"], s["recall@5"], s["recall@budget"], s["cited_answer_rate"]]
        cells += [s["abstention_not_in_corpus"], s["false_abstention"]]
        text = " ".join(f"{_point(c):>6}" for c in cells[:2]) + f" {_point(cells[2]):>8} "
        text += " ".join(f"{_point(c):>6}" for c in cells[3:])
        vs = f"   {differences(rows, plain)['recall@5']}" if plain else ""
        lines.append(f"{name:28} {text}{vs}")
    return lines


def _point(value: Any) -> str:
    return f"{value.value:.3f}" if isinstance(value, Estimate) else "n/a"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return str(value)
