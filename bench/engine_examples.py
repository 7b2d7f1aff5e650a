"""The reader's training examples from the engine's own candidates: what it reads at answer time.

    python -m bench.engine_examples --articles A --questions Q --out FILE [--top 24] [--data-dir DIR]

Each question is asked of a benchmark index of its articles (the one `python -m bench realtimeqa`
builds under the data folder: built here when missing, reused when there), as of its own day. Its candidate sentences are those
the sentence model ranks first, as the reader receives them in the product, labelled as
`bench.reader_data` labels (the answer in whole words beside a question word, or the quiz's
evidence sentence). The model's best wrong sentences are the hardest negatives there are. The
examples are saved in `bench.reader_data`'s format, ordered by the model (its probability as
`overlap`), for `python -m bench.train_reader --examples FILE`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import reader_data
from bench.realtimeqa import FULL, index_folder, ingest_sample
from bench.training import collect
from bench.wiring import realtimeqa_indexing
from newsdesk.settings import Settings
from rag.types import AnswerMode


def engine_examples(
    questions: list[dict], articles: list[dict], top: int, settings: Settings
) -> list[reader_data.Example]:
    """Each question's top `top` candidates by the sentence model, labelled."""
    indexing = realtimeqa_indexing(settings)
    folder = index_folder(indexing, articles)
    ingest_sample(indexing, folder, articles, lambda m: print(m, file=sys.stderr))
    engine = indexing.make_engine(folder, 10, FULL, None)
    model = engine.answerers[AnswerMode.EXTRACTIVE].model  # type: ignore[attr-defined]
    out = []
    for found in collect(engine, questions, as_of=True):
        q = found.question
        asked = set(reader_data.words(q["question"]))
        example = reader_data.Example(q["id"], q["question"], q["question_date"])
        for c in model.rank(list(found.found))[:top]:
            label = reader_data.label_of(c.text, q, asked)
            example.candidates.append(
                reader_data.Candidate(c.text, c.passage.title, c.previous, label, c.score)
            )
        out.append(example)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top", type=int, default=24)
    parser.add_argument("--data-dir", type=Path, help="the benchmark indexes' folder")
    args = parser.parse_args(argv)
    questions = reader_data.load_jsonl(args.questions)
    articles = reader_data.load_jsonl(args.articles)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    examples = engine_examples(questions, articles, args.top, settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reader_data.save(examples, args.out)
    answerable = sum(e.answerable for e in examples)
    print(f"{len(examples)} questions ({answerable} with a labelled candidate) -> {args.out}")


if __name__ == "__main__":
    main()
