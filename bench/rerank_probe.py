"""Would the reader put the answering passage first? A probe over a bench run's retrieved passages.

    python -m bench.rerank_probe --rows ROWS.jsonl --articles ARTICLES.jsonl [--from 2024/10/01]

Reads the per-question rows of `python -m bench realtimeqa --per-question` (one system's top
passages, in retrieval's order, with their fused scores), scores each passage's best sentences
with the shipped reader, and reorders the passages by z(best reader score) x weight + z(fused
score), for each weight on a grid. Reports recall at 1 and 5 for each weight, with paired 95%
intervals against retrieval's own order, on the questions dated from `--from` (the development
weeks of the training years, or the test year run once). Labels are read only to score.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from bench.scoring import contains
from bench.stats import paired_difference
from index.sentences import split_sentences
from rag.extractive import z_scores
from rag.reader import Reader, candidate_text, shipped_reader_dir

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
WORD = re.compile(r"[a-z0-9]+")


def best_sentences(question: str, text: str, per_passage: int) -> list[tuple[str, str]]:
    """The passage's whole sentences sharing most words with the question, with the one before."""
    asked = set(WORD.findall(question.lower()))
    sentences = [s.text for s in split_sentences(text) if len(s.text.split()) >= 6]
    scored = [(len(asked & set(WORD.findall(s.lower()))), i, s) for i, s in enumerate(sentences)]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [(s, sentences[i - 1] if i else "") for _, i, s in scored[:per_passage]]


def passage_scores(
    reader: Reader, row: dict[str, Any], titles: dict[str, str], args: Any
) -> np.ndarray:
    """The best reader score among each passage's candidate sentences (-inf: none)."""
    texts, owner = [], []
    for k, passage in enumerate(row["passages"][: args.top]):
        title = titles.get(passage.get("doc_id") or "", "")
        for sentence, previous in best_sentences(
            row["question"], passage["text"], args.per_passage
        ):
            texts.append(candidate_text(sentence, title, previous))
            owner.append(k)
    best = np.full(min(args.top, len(row["passages"])), -np.inf)
    if texts:
        for k, score in zip(owner, reader.score(row["question"], texts).tolist(), strict=True):
            best[k] = max(best[k], score)
    return best


def reordered(row: dict[str, Any], best: np.ndarray, weight: float) -> list[str]:
    """Passage texts with the top ones reordered by the reader and the fused score together."""
    top = row["passages"][: len(best)]
    fused = np.array([p["score"] or 0.0 for p in top], dtype=float)
    reader = np.where(np.isfinite(best), best, best[np.isfinite(best)].min(initial=0.0) - 1)
    order = np.argsort(-(weight * z_scores(reader) + z_scores(fused)), kind="stable")
    return [top[i]["text"] for i in order] + [p["text"] for p in row["passages"][len(best) :]]


def diff_str(d: dict[str, float]) -> str:
    return f"{d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--system", default="newsdesk, as of its day")
    parser.add_argument("--from", dest="since", default="")
    parser.add_argument("--top", type=int, default=10, help="passages reordered")
    parser.add_argument("--per-passage", type=int, default=3)
    parser.add_argument("--reader", type=Path, default=shipped_reader_dir())
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    titles = {}
    with args.articles.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            titles[record.get("url", "")] = record.get("title", "")
    rows = [json.loads(line) for line in args.rows.open(encoding="utf-8")]
    rows = [r for r in rows if r["system"] == args.system and r["in_corpus"]]
    rows = [r for r in rows if r["id"][:8] >= args.since.replace("/", "")]
    reader = Reader(args.reader)
    hits: dict[float, dict[str, list[float]]] = {w: {"1": [], "5": []} for w in WEIGHTS}
    for row in rows:
        best = passage_scores(reader, row, titles, args)
        answer = row["answer"].strip("“”\"'‘’ ")
        for weight in WEIGHTS:
            texts = reordered(row, best, weight) if len(best) else []
            hits[weight]["1"].append(float(any(contains(t, answer) for t in texts[:1])))
            hits[weight]["5"].append(float(any(contains(t, answer) for t in texts[:5])))
    report = {"system": args.system, "questions": len(rows), "since": args.since, "weights": {}}
    for weight in WEIGHTS:
        entry: dict[str, Any] = {}
        for k in ("1", "5"):
            diff = paired_difference(hits[weight][k], hits[0.0][k])
            entry[f"recall@{k}"] = float(np.mean(hits[weight][k]))
            entry[f"recall@{k} vs retrieval"] = diff.as_dict()
        report["weights"][str(weight)] = entry
        print(
            weight,
            {k: str(v) if not isinstance(v, dict) else str(diff_str(v)) for k, v in entry.items()},
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
