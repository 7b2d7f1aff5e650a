"""Newsdesk: ask questions about a news corpus and get answers cited to outlet and date."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from index.dates import parse_optional_day
from newsdesk.settings import Settings, variable_for
from rag.types import Answer, AnswerMode, CorpusSummary, Filters, StreamEvent


class UserError(click.ClickException):
    """A problem the user can fix; printed as one line, exit code 2 (1 is a failed eval gate)."""

    exit_code = 2


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(
            f"bad setting {variable_for(first['loc'])} (or its option): {first['msg']}"
        ) from exc


def _refuse_if_served(settings: Settings, doing: str) -> None:
    """Stop when a live server owns the embedded folder's writes (`index.owner`)."""
    from index.owner import refuse_if_served

    if not settings.store.chroma_host:
        refuse_if_served(settings.store.resolved_data_dir(), doing)


def _friendly(exc: Exception) -> UserError:
    return UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


mode_option = click.option(
    "--llm",
    "mode",
    type=click.Choice([m.value for m in AnswerMode]),
    default=None,
    help="Answer mode (default: NEWSDESK_LLM).",
)
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Index folder (default: NEWSDESK_DATA_DIR or .newsdesk).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsdesk")
def main() -> None:
    """Newsdesk: ask questions about a news corpus; every answer cites outlet and date."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove articles whose files are gone.")
@click.option("--chunk-size", type=int, default=None, help="Chunk size in tokens.")
@click.option("--chunk-overlap", type=int, default=None, help="Chunk overlap in tokens.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@data_dir_option
def ingest(
    paths: tuple[Path, ...],
    prune: bool,
    chunk_size: int | None,
    chunk_overlap: int | None,
    quiet: bool,
    data_dir: Path | None,
) -> None:
    """Ingest article files or folders (default: the shipped corpus) into the index.

    Reads .txt, .md, .html, .htm, .json and .jsonl; unchanged articles are not embedded again.
    A missing path, or a file that cannot be read, is reported and skipped; exits non-zero only
    when nothing could be ingested.
    """
    from newsdesk.factory import build_ingestor

    settings = _settings(data_dir, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    targets = list(paths) or [settings.corpus_dir]
    try:
        _refuse_if_served(settings, "ingest into it")
        report = build_ingestor(settings, prune=prune, progress=not quiet).run(
            targets, log=lambda m: click.echo(m, err=True)
        )
    except Exception as exc:
        raise _friendly(exc) from exc
    click.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.skipped)} skipped; "
        f"{report.chunks} chunks embedded in {report.seconds:.1f}s"
    )
    if report.steps:
        click.echo(f"time: {report.profile()}")
    if report.ingested == 0:
        raise UserError("nothing could be ingested")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
def corpus(as_json: bool, data_dir: Path | None) -> None:
    """List the indexed articles: doc id, outlet, date, title, URL and chunk count."""
    from newsdesk.factory import build_store

    try:
        listing = CorpusSummary.of(build_store(_settings(data_dir)).articles())
    except Exception as exc:
        raise _friendly(exc) from exc
    if as_json:
        rows = [d.model_dump(mode="json") for d in listing.documents]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not listing.documents:
        click.echo("The index is empty: run `newsdesk ingest` to add the default corpus.")
    for d in listing.documents:
        click.echo(
            f"{d.doc_id}\t{d.outlet or 'unknown outlet'}\t{d.date or 'unknown date'}\t"
            f"{d.chunks} chunks\t{d.title or ''}\t{d.url or ''}"
        )


def _parse_day(value: str | None, name: str) -> date | None:
    try:
        return parse_optional_day(value, f"--{name}")
    except ValueError as exc:
        raise UserError(str(exc)) from exc


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the full typed result as JSON.")
@click.option("-k", "top_k", type=int, default=None, help="Passages to retrieve.")
@click.option("--outlet", default=None, help="Only this outlet.")
@click.option("--since", default=None, help="Only articles from this date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Only articles up to this date (YYYY-MM-DD).")
@click.option(
    "--as-of",
    default=None,
    help="Ask as on this date (YYYY-MM-DD): 'last week' is read from it, its week ranks first.",
)
@mode_option
@click.option("--passages", is_flag=True, help="Print the retrieved passages too.")
@data_dir_option
def ask(
    question: str,
    as_json: bool,
    top_k: int | None,
    outlet: str | None,
    since: str | None,
    until: str | None,
    as_of: str | None,
    mode: str | None,
    passages: bool,
    data_dir: Path | None,
) -> None:
    """Answer QUESTION from the index, citing outlet and date for every sentence."""
    from newsdesk.factory import build_newsdesk

    settings = _settings(data_dir, top_k=top_k, llm=mode)
    filters = Filters(
        outlet=outlet,
        since=_parse_day(since, "since"),
        until=_parse_day(until, "until"),
        as_of=_parse_day(as_of, "as-of"),
    )
    try:
        engine = build_newsdesk(settings)
        if as_json:
            click.echo(engine.ask(question, filters=filters).model_dump_json(indent=2))
            return
        # LLM text is shown only once verified (its markers are renumbered and checked);
        # extractive sentences are final as they come.
        result = _print_answer(engine.stream(question, filters=filters), settings.answer.mode)
    except Exception as exc:
        raise _friendly(exc) from exc
    if result is not None:
        click.echo()
        _print_footer(result, passages)


def _print_answer(events: Iterator[StreamEvent], mode: AnswerMode) -> Answer | None:
    """Print a streamed answer: extractive text as it comes, LLM text once checked."""
    result = None
    live = mode is AnswerMode.EXTRACTIVE
    for event in events:
        if event.type == "delta" and live:
            click.echo(event.text, nl=False)
        elif event.type == "final":
            result = event.answer
    if result is not None and not live:
        click.echo(result.answer, nl=False)
    return result


def _print_footer(result: Answer, passages: bool) -> None:
    from newsdesk.terminal import footer_lines, passage_lines

    for line in footer_lines(result):
        click.echo(line)
    if passages:
        for line in passage_lines(result.retrieved):
            click.echo(line)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 7860).")
@click.option("--no-ingest", is_flag=True, help="Do not build the index when it is empty.")
@data_dir_option
def serve(host: str | None, port: int | None, no_ingest: bool, data_dir: Path | None) -> None:
    """Start the chat UI and HTTP API; first builds the index from the shipped corpus if it is empty."""
    from newsdesk.serve import serve as run_server

    settings = _settings(data_dir, host=host, port=port)
    try:
        run_server(settings, ingest_if_empty=not no_ingest)
    except Exception as exc:
        raise _friendly(exc) from exc


@main.command()
@data_dir_option
def mcp(data_dir: Path | None) -> None:
    """Serve Newsdesk's tools (ask, search, corpus) to an MCP client over stdin and stdout, as
    a desktop assistant starts it. Nothing but the protocol goes to stdout; logs go to stderr."""
    import logging

    from newsdesk.factory import build_newsdesk
    from ui.guards import Gate
    from ui.mcp_server import build_mcp

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    settings = _settings(data_dir)
    try:
        engine = build_newsdesk(settings)
        engine.warm()
    except Exception as exc:
        raise _friendly(exc) from exc
    build_mcp(engine, Gate(settings.server.concurrency)).run("stdio")


@main.command()
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild what is damaged: a vector index from the texts Chroma keeps (embedded again), "
    "the keyword index from the store. Damaged vector files are moved aside, not deleted.",
)
@data_dir_option
def check(repair: bool, data_dir: Path | None) -> None:
    """Verify the data folder: every vector index file and keyword segment. Exits 1 while
    anything is damaged; with --repair, rebuilds it first and checks again."""
    from index import check as checking
    from newsdesk.factory import build_embedder, build_keywords

    settings = _settings(data_dir)
    if settings.store.chroma_host:
        raise UserError("`newsdesk check` verifies an embedded folder; unset CHROMA_HOST")
    folder, keywords = settings.store.resolved_data_dir(), build_keywords(settings)
    try:
        problems = _report(checking.damage(folder, keywords), "damaged")
        if problems and repair:
            _refuse_if_served(settings, "repair it")
            embedder = partial(build_embedder, settings)
            checking.repair(folder, settings.store.collection, keywords, embedder, click.echo)
            problems = _report(checking.damage(folder, keywords), "still damaged")
    except Exception as exc:
        raise _friendly(exc) from exc
    if problems:
        hint = "" if repair else "; run `newsdesk check --repair` to rebuild it"
        raise click.ClickException(f"{folder}: {len(problems)} damaged part(s){hint}")
    click.echo(f"{folder}: vector and keyword indexes are whole")


def _report(problems: list[str], heading: str) -> list[str]:
    for line in problems:
        click.echo(f"{heading}: {line}")
    return problems


@main.command(name="eval")
@click.argument("question_set", type=click.Path(path_type=Path))
@click.option("-k", "k", type=int, default=5, help="Passages counted for source hit rate and MRR.")
@click.option(
    "--json", "json_out", type=click.Path(path_type=Path), default=None, help="Write a JSON report."
)
@click.option(
    "--markdown",
    "md_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a Markdown report.",
)
@mode_option
@click.option(
    "--fail-under",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Exit non-zero when METRIC is below VALUE (repeatable).",
)
@data_dir_option
def evaluate(
    question_set: Path,
    k: int,
    json_out: Path | None,
    md_out: Path | None,
    mode: str | None,
    fail_under: tuple[str, ...],
    data_dir: Path | None,
) -> None:
    """Score a question set (YAML or JSON) and gate on metric floors."""
    from evals.run import run_cli
    from newsdesk.factory import build_eval_engine

    settings = _settings(data_dir, llm=mode)
    engine = build_eval_engine(settings)
    try:
        code = run_cli(engine, question_set, k, json_out, md_out, list(fail_under), click.echo)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    sys.exit(code)


if __name__ == "__main__":
    main()
