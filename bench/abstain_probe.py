"""Out-of-fold probe of abstention: do question-level signals abstain better than today's rule?

    python -m bench.abstain_probe --articles A --questions Q [--data-dir DIR] [--cv 4] [--plain]

Today Newsdesk abstains when no candidate sentence covers enough of the question (word
coverage, helped by a close passage: `rag.coverage.confident`). This probe collects every
question's candidates from the bench index (built when missing, reused when there), asked as of
its day unless `--plain`, and describes each question by the signals an answer-time gate could
read: that rule's best margin, the sentence model's best probabilities (the model refitted out of
fold), how many sentences pass the rule, the best passage's retrieval scores, whether the best
sentence is from the as-of week, and the kind of question. Each gate is a logistic regression
fitted out of fold (folds grouped by week) to tell questions whose answer is in their articles
from the others. (The probabilities a gate learns from come from sentence models that saw the
gate's held-out fold; nested folds would remove that small leak, which favours the gates.) For
each, at thresholds that abstain on 5, 8 and 10% of the answerable, it reports the share
abstained of those whose answer is not in their articles, of those whose answer is nowhere in the
indexed articles, and of the latter with short answers (three words or fewer), where "not found
verbatim" most nearly means "not there". The labels are read here, as a
benchmark reads them, never by the product.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.fit import fit_logistic
from bench.realtimeqa import COVERAGE, index_folder, ingest_sample, load_jsonl, mark_findable
from bench.scoring import SHORT_ANSWER
from bench.stats import grouped_folds, question_week
from bench.training import Example, collect, fit
from bench.wiring import realtimeqa_indexing
from newsdesk.settings import Settings
from rag.coverage import MIN_COVERAGE, margin
from rag.sentence_model import KINDS, question_kind

FALSE_ABSTENTION = (0.05, 0.08, 0.10)

GATES = {
    "rule and model": ("margin", "best_p"),
    "all signals": (
        "margin", "best_p", "second_p", "sum_p", "passing", "best_coverage", "best_in_week",
        "best_dense", "best_bm25", "best_fused", "sentences", "question_words",
        *(f"asks_{k}" for k in KINDS),
    ),
}  # fmt: skip


def margins(example: Example) -> list[float]:
    """Each candidate's margin (`rag.coverage.margin`): the rule answers when one reaches
    `MIN_COVERAGE`."""
    return [margin(c.vouched, c.passage) for c in example.found]


def signals(example: Example, probabilities: np.ndarray) -> dict[str, float]:
    """What a gate could read of one question's retrieval and candidates."""
    found, ranked = example.found, [*sorted(probabilities.tolist(), reverse=True), 0.0, 0.0]
    best = found[int(np.argmax(probabilities))] if found else None
    passages, rule = [c.passage for c in found], margins(example)
    kind = question_kind(example.question["question"])
    return {
        "margin": max(rule, default=0.0),
        "best_p": math.log(ranked[0] + 1e-4),
        "second_p": math.log(ranked[1] + 1e-4),
        "sum_p": math.log(sum(ranked) + 1e-4),
        "passing": math.log1p(sum(m >= MIN_COVERAGE for m in rule)),
        "best_coverage": best.coverage if best else 0.0,
        "best_in_week": best.features["in_week"] if best else 0.0,
        "best_dense": max((p.dense or 0.0 for p in passages), default=0.0),
        "best_bm25": math.log1p(max((p.bm25 or 0.0 for p in passages), default=0.0)),
        "best_fused": max((p.score for p in passages), default=0.0),
        "sentences": math.log1p(len(found)),
        "question_words": len(example.question["question"].split()) / 20,
        **{f"asks_{k}": float(kind == k) for k in KINDS},
    }


def out_of_fold_signals(examples: Sequence[Example], folds: list[list[int]]) -> list[dict]:
    """Every question's signals, its sentence model fitted without its fold."""
    out: list[dict] = [{} for _ in examples]
    for fold in folds:
        held = set(fold)
        model = fit([e for i, e in enumerate(examples) if i not in held])
        for i in fold:
            found = examples[i].found
            p = model.sentence.probabilities([c.features for c in found])
            out[i] = signals(examples[i], p if len(found) else np.zeros(1))
    return out


def gate_scores(
    rows: list[dict], labels: np.ndarray, names: Sequence[str], folds: list[list[int]]
) -> np.ndarray:
    """P(the answer is in the question's articles) by a gate fitted without each fold."""
    scores = np.zeros(len(rows))
    for fold in folds:
        held = set(fold)
        train = [i for i in range(len(rows)) if i not in held]
        seen = labels[train].astype(int).tolist()
        if len(set(seen)) < 2:  # one kind of question only: nothing to tell apart, its rate
            scores[fold] = float(seen[0]) if seen else 0.5
            continue
        gate = fit_logistic([rows[i] for i in train], seen, names)
        scores[fold] = gate.probabilities([rows[i] for i in fold])
    return scores


def abstains(
    score: np.ndarray, groups: dict[str, np.ndarray]
) -> dict[str, dict[str, float | None]]:
    """Per false-abstention target: each group's share under the threshold that abstains on
    that share of the answerable."""
    out = {}
    for target in FALSE_ABSTENTION:
        threshold = float(np.quantile(score[groups["answerable"]], target))
        under = score < threshold
        out[f"{target:.0%}"] = {name: _share(under, rows) for name, rows in groups.items()}
    return out


def _share(flags: np.ndarray, rows: np.ndarray) -> float | None:
    """The share of `rows` flagged; None for no rows."""
    return float(flags[rows].mean()) if rows.any() else None


def report(examples: Sequence[Example], k: int) -> dict:
    """Each signal's and gate's abstention, and today's rule as it stands."""
    folds = grouped_folds([question_week(e.question["question_date"]) for e in examples], k)
    rows = out_of_fold_signals(examples, folds)
    answerable = np.array([e.answerable for e in examples])
    nowhere = np.array([not e.question["findable"] for e in examples])
    short = np.array([len(e.question["answer"].split()) <= SHORT_ANSWER for e in examples])
    groups = {
        "answerable": answerable,
        "not_in_articles": ~answerable,
        "nowhere": nowhere,
        "nowhere_short": nowhere & short,
    }
    rule = np.array([r["margin"] for r in rows])
    scores = {
        "coverage margin": rule,
        "model's best": np.array([r["best_p"] for r in rows]),
        **{name: gate_scores(rows, answerable, names, folds) for name, names in GATES.items()},
    }
    today = rule < MIN_COVERAGE
    return {
        "questions": {name: int(rows.sum()) for name, rows in groups.items()},
        "today": {name: _share(today, rows) for name, rows in groups.items()},
        "signals": {name: abstains(score, groups) for name, score in scores.items()},
    }


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--cv", type=int, default=4)
    parser.add_argument("--plain", action="store_true", help="not as of each question's day")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    questions, articles = load_jsonl(args.questions), load_jsonl(args.articles)
    mark_findable(questions, articles)
    indexing = realtimeqa_indexing(settings)
    folder = index_folder(indexing, articles)
    ingest_sample(indexing, folder, articles, lambda m: print(m, file=sys.stderr))
    engine = indexing.make_engine(folder, 10, COVERAGE, None)
    result = report(collect(engine, questions, as_of=not args.plain), args.cv)
    print(json.dumps(result["questions"]), "today:", json.dumps(result["today"]))
    for name, table in result["signals"].items():
        cells = [f"{t}: " + " ".join(_cell(v) for v in row.values()) for t, row in table.items()]
        print(f"{name:16s} " + " | ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
