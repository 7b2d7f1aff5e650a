"""Benchmarks, probes and training: `python -m bench COMMAND`. Not part of the product.

python -m bench realtimeqa --articles A --questions Q [--sample N] ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bench.realtimeqa import run_benchmark
from bench.wiring import realtimeqa_indexing
from newsdesk.settings import Settings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the benchmark's indexes (default: NEWSDESK_DATA_DIR or .newsdesk).",
)


def _settings(data_dir: Path | None) -> Settings:
    values: dict[str, Any] = {} if data_dir is None else {"data_dir": data_dir}
    return Settings(**values)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Newsdesk's benchmarks on real news data."""


@main.command()
@click.option("--articles", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--questions", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--sample", type=int, default=0, help="Questions to sample (default 0 = all).")
@click.option("--articles-total", type=int, default=0, help="Articles to index (default 0 = all).")
@click.option("--seed", type=int, default=0, help="Random seed for sampling.")
@click.option(
    "--baseline/--no-baseline", default=True, help="Also run a plain llama-index pipeline."
)
@click.option("--ablation/--no-ablation", default=True, help="Also run each retrieval variant.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None)
@click.option(
    "--per-question",
    type=click.Path(path_type=Path),
    default=None,
    help="Write one JSON line per system and question (passages, answer, latency).",
)
@click.option(
    "--vectors",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="Document vectors computed elsewhere (bench/gpu_vectors.py), used where they match.",
)
@click.option(
    "--cv",
    type=int,
    default=0,
    help="Score the learned sentence model out of fold, K folds grouped by question week, "
    "and choose the as-of week's weight out of fold (default 0: the shipped models).",
)
@click.option(
    "--train",
    type=click.Path(path_type=Path),
    default=None,
    help="Fit the answer model on these questions and write it to this JSON file.",
)
@click.option(
    "--as-of/--no-as-of",
    default=True,
    help="Also ask every question as of its own day (default on).",
)
@click.option(
    "--reader/--no-reader",
    default=True,
    help="Also answer with the shipped reader, paired against the answerers without it.",
)
@data_dir_option
def realtimeqa(
    articles: Path,
    questions: Path,
    sample: int,
    articles_total: int,
    seed: int,
    baseline: bool,
    ablation: bool,
    json_out: Path | None,
    per_question: Path | None,
    vectors: Path | None,
    cv: int,
    train: Path | None,
    as_of: bool,
    reader: bool,
    data_dir: Path | None,
) -> None:
    """RealTimeQA's public split next to a plain llama-index pipeline, with 95% intervals.

    Answer recall (at 1, 5, 10 and at an equal token budget), cited-answer rate and
    abstention; by default all questions over all articles.
    """

    indexing = realtimeqa_indexing(_settings(data_dir), vectors)
    run_benchmark(
        indexing,
        articles,
        questions,
        sample,
        articles_total,
        seed,
        baseline,
        json_out,
        click.echo,
        per_question=per_question,
        ablation=ablation,
        cv=cv,
        train=train,
        as_of=as_of,
        reader=reader,
    )


if __name__ == "__main__":
    main()
