"""The reader on its own, on RealTimeQA questions: does the sentence it puts first hold the answer?

    python -m bench.reader_eval [--reader DIR] [--questions Q --articles A] [--top 30]

Each question's candidates are the `--top` sentences of its own articles that share most of its
words (as in `bench.reader_data`); the reader orders them. Reported on the questions whose answer
is in their articles (`answer_in_corpus`): how often the first sentence holds the answer (whole
words) by the reader, by the word-overlap order, and by the sum of both orders' z-scores, with
paired bootstrap 95% intervals; and on the others, how often the best score stays under the
reader's threshold (it would abstain). The default questions are the 2025 split: the held-out test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from bench import reader_data
from bench.scoring import contains
from bench.stats import bootstrap, paired_difference
from rag.extractive import z_scores
from rag.reader import Reader, candidate_text, shipped_reader_dir

TEST = reader_data.SHARED / "realtimeqa-2025"


def evaluate(
    reader: Reader, examples: list[reader_data.Example], questions: list[dict], top: int
) -> dict[str, Any]:
    """Per-question outcomes for each order, and the best scores of unanswerable questions."""
    by_id = {q["id"]: q for q in questions}
    rows: dict[str, list[float]] = {"reader": [], "lexical": [], "sum": []}
    best_no, best_yes = [], []
    for e in examples:
        q, cands = by_id[e.id], e.candidates[:top]
        if not cands:
            (best_yes if q["answer_in_corpus"] else best_no).append(-np.inf)
            continue
        texts = [candidate_text(c.text, c.title, c.previous) for c in cands]
        scores = reader.score(e.question, texts)
        if not q["answer_in_corpus"]:
            best_no.append(float(scores.max()))
            continue
        best_yes.append(float(scores.max()))
        answer = q["answer"].strip("“”\"'‘’ ")
        holds = [contains(c.text, answer) for c in cands]
        lexical = np.array([c.overlap for c in cands])
        rows["reader"].append(float(holds[int(np.argmax(scores))]))
        rows["lexical"].append(float(holds[0]))
        rows["sum"].append(float(holds[int(np.argmax(z_scores(scores) + z_scores(lexical)))]))
    return {"rows": rows, "best_answerable": best_yes, "best_unanswerable": best_no}


def report(result: dict[str, Any], threshold: float) -> list[str]:
    """Lines of figures with intervals."""
    rows = result["rows"]
    lines = [f"answerable questions: {len(rows['reader'])}"]
    for name in ("reader", "lexical", "sum"):
        est = bootstrap(rows[name])
        lines.append(f"lead holds the answer, {name}: {est}")
    for ours, theirs in (("reader", "lexical"), ("sum", "lexical"), ("sum", "reader")):
        diff = paired_difference(rows[ours], rows[theirs])
        lines.append(f"{ours} - {theirs}: {diff}")
    yes, no = np.array(result["best_answerable"]), np.array(result["best_unanswerable"])
    lines.append(
        f"threshold {threshold:.3f}: abstains on {np.mean(no < threshold):.3f} of "
        f"{len(no)} unanswerable, {np.mean(yes < threshold):.3f} of {len(yes)} answerable"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", type=Path, default=shipped_reader_dir())
    parser.add_argument("--questions", type=Path, default=TEST / "questions.jsonl")
    parser.add_argument("--articles", type=Path, default=TEST / "articles.jsonl")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=64, help="tokens the reader reads per pair")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--examples", type=Path, default=None, help="candidates built before (built and kept here)"
    )
    args = parser.parse_args()
    questions = reader_data.load_jsonl(args.questions)
    if args.examples and args.examples.exists():
        examples = reader_data.load(args.examples)
    else:
        examples = reader_data.build(questions, args.articles)
        if args.examples:
            reader_data.save(examples, args.examples)
    reader = Reader(args.reader, args.tokens)
    result = evaluate(reader, examples, questions, args.top)
    for line in report(result, reader.threshold):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
