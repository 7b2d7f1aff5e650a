"""The training years' questions and their articles as one bench split, like the 2025 folder.

    python -m bench.training_split --since 2024/01/01 --out DIR

Writes DIR/questions.jsonl (the RealTimeQA 2022-2024 questions dated from `--since`) and
DIR/articles.jsonl (their candidate articles, read from the news archive by URL), the two files
`python -m bench realtimeqa --articles --questions` takes. The answer model and the as-of weight
are fitted on such a split (`--cv K --train FILE`), so the 2025 split stays unseen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import reader_data


def write_split(since: str, out: Path) -> tuple[int, int]:
    """(questions, articles) written to `out`."""
    questions = [
        q
        for q in reader_data.load_jsonl(reader_data.TRAIN_QUESTIONS)
        if reader_data.day(q["question_date"]) >= since
    ]
    wanted = {u for q in questions for u in q["candidate_urls"]}
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    with (out / "articles.jsonl").open("w", encoding="utf-8") as handle:
        for article in reader_data.archive_records(reader_data.ARCHIVE):
            url = article.get("url")
            if url in wanted and url not in seen:
                seen.add(url)
                handle.write(json.dumps(article) + "\n")
    with (out / "questions.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(q) + "\n" for q in questions)
    return len(questions), len(seen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", default="2024/01/01", help="first question date (YYYY/MM/DD)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    questions, articles = write_split(args.since, args.out)
    print(f"{questions} questions, {articles} articles -> {args.out}")


if __name__ == "__main__":
    main()
