"""How the reader should sit beside the sentence model, chosen on the engine's own candidates.

    python -m bench.reader_blend --examples FILE [--reader DIR ...] [--from 2024/10/01]

The examples come from `python -m bench.engine_examples` (each question's candidates as the
sentence model ranks them, its probability as `overlap`). For each reader, each number of the
model's best candidates the reader scores, and each weight of the reader's z-score beside the
model's (z of its logit, as `rag.extractive` orders them), it reports how often the leading
sentence holds the answer, on the questions dated from `--from`, with a paired 95% interval
against the model's own order. Also the reader's best score on questions with and without a
labelled candidate, for the abstention threshold. Choose on the development weeks; run the test
year once with what was chosen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from bench import reader_data
from bench.stats import paired_difference
from rag.extractive import logits, z_scores
from rag.reader import Reader, candidate_text, shipped_reader_dir

CAPS = (6, 8, 12, 24)
WEIGHTS = (0.0, 0.5, 0.75, 1.0, 1.5, 2.0, 100.0)
FALSE_ABSTENTION = 0.08


def lead_holds(example: reader_data.Example, scores: np.ndarray, cap: int, weight: float) -> float:
    """Whether the sentence leading the blended order of the model's best `cap` holds it."""
    top = example.candidates[:cap]
    model = logits(np.array([c.overlap for c in top]))
    order = weight * z_scores(scores[:cap]) + z_scores(model) if len(top) > 1 else np.zeros(1)
    return float(top[int(np.argmax(order))].label)


def blend_table(
    examples: list[reader_data.Example], scores: list[np.ndarray]
) -> dict[str, dict[str, Any]]:
    """Lead accuracy for every cap and weight, each against the model alone."""
    answerable = [(e, s) for e, s in zip(examples, scores, strict=True) if e.answerable]
    alone = [float(e.candidates[0].label) for e, _ in answerable]
    table = {}
    for cap in CAPS:
        for weight in WEIGHTS:
            rows = [lead_holds(e, s, cap, weight) for e, s in answerable]
            diff = paired_difference(rows, alone)
            table[f"cap {cap}, weight {weight}"] = {"lead": float(np.mean(rows)), **diff.as_dict()}
    return table


def abstention(
    examples: list[reader_data.Example], scores: list[np.ndarray], in_corpus: dict[str, bool]
) -> dict[str, dict[str, float]]:
    """For each signal (the reader's best score among the model's first 12, the model's best
    probability, both), the share of questions whose answer is not in the corpus that stay
    under the threshold that abstains on FALSE_ABSTENTION of those whose answer is."""
    signals = {
        "reader": [float(s[:12].max()) for s in scores],
        "model": [float(logits(np.array([e.candidates[0].overlap]))[0]) for e in examples],
    }
    reader, model = (np.array(v) for v in signals.values())
    signals["both"] = (z_scores(reader) + z_scores(model)).tolist()
    yes = np.array([in_corpus[e.id] for e in examples])
    out = {}
    for name, values in signals.items():
        v = np.array(values)
        threshold = float(np.quantile(v[yes], FALSE_ABSTENTION)) if yes.any() else 0.0
        out[name] = {
            "threshold": threshold,
            "abstains_not_in_corpus": float(np.mean(v[~yes] < threshold)),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=Path, required=True)
    parser.add_argument("--reader", type=Path, nargs="+", default=[shipped_reader_dir()])
    parser.add_argument("--from", dest="since", default=reader_data.DEV_FROM)
    parser.add_argument("--until", default="9999")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--questions", type=Path, help="their questions: adds abstention figures")
    args = parser.parse_args(argv)
    in_corpus = {
        q["id"]: bool(q["answer_in_corpus"])
        for q in (reader_data.load_jsonl(args.questions) if args.questions else [])
    }
    examples = [
        e
        for e in reader_data.load(args.examples)
        if args.since <= reader_data.day(e.date) < args.until and e.candidates
    ]
    print(f"{len(examples)} questions, {sum(e.answerable for e in examples)} with a labelled one")
    report: dict[str, Any] = {"since": args.since, "until": args.until, "readers": {}}
    for folder in args.reader:
        reader = Reader(folder, args.tokens)
        texts = [
            [candidate_text(c.text, c.title, c.previous) for c in e.candidates] for e in examples
        ]
        scores = [
            reader.score(e.question, t[: max(CAPS)]) for e, t in zip(examples, texts, strict=True)
        ]
        table = blend_table(examples, scores)
        best = {
            "answerable": [
                float(s[:12].max()) for e, s in zip(examples, scores, strict=True) if e.answerable
            ],
            "unanswerable": [
                float(s[:12].max())
                for e, s in zip(examples, scores, strict=True)
                if not e.answerable
            ],
        }
        report["readers"][str(folder)] = {"table": table, "best_scores": best}
        if in_corpus:
            report["readers"][str(folder)]["abstention"] = abstention(examples, scores, in_corpus)
            print(json.dumps(report["readers"][str(folder)]["abstention"]))
        print(folder)
        for name, row in table.items():
            print(
                f"  {name}: {row['lead']:.3f} ({row['value']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}])"
            )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
