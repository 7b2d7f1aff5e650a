"""`newsdesk eval`: the question-set format, each metric on hand-made answers, reports, gating."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evals.metrics import (
    METRICS,
    Record,
    SourceSpec,
    fact_found,
    missed_floors,
    parse_floors,
    passage_matches,
    score,
)
from evals.questions import load_question_set
from evals.report import summary_lines
from evals.run import evaluate, run_cli
from newsdesk import factory
from newsdesk.cli import main
from newsdesk.factory import build_eval_engine
from rag.citations import make_citation
from rag.support import SupportChecker
from rag.types import Answer, AnswerMode, AnswerSentence, Passage, Source
from tests.conftest import ROOT, make_passage

SEED = ROOT / "tests" / "eval" / "seed.yaml"
CHECKER = SupportChecker(None, 0.5)  # lexical support only: known values without a model


def write(tmp_path: Path, text: str, name: str = "set.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the format ----------------------------------------------------------------------------
def test_seed_set_is_valid_and_covers_what_the_issue_asks() -> None:
    qset = load_question_set(SEED)
    assert qset.name == "seed corpus checks" and len(qset.questions) >= 25
    docs = {s.doc for q in qset.questions for s in q.expect.sources if s.doc}
    assert {f"00{i}" for i in range(5)} <= {d[:3] for d in docs}  # every article
    assert any(q.turns for q in qset.questions) and any(not q.answerable for q in qset.questions)
    assert any(q.filters.outlet for q in qset.questions)
    assert any(q.filters.since for q in qset.questions)


def test_the_documented_example_loads_from_yaml_and_json(tmp_path: Path) -> None:
    text = """
name: seed corpus checks
questions:
  - id: substation
    question: Where was equipment at a key substation hit?
    filters: {outlet: Al Jazeera, since: 2025-08-01, until: 2025-08-31}
    answerable: true
    expect:
      sources: [{doc: 001_c81ca98ac9a2360a}, {outlet: Al Jazeera, date: 2025-08-27}]
      facts: [Sumy, [gas transport, gas infrastructure]]
  - id: follow-up
    turns: ["What did Zelenskyy say on X about security guarantees?", "Who is involved in preparing them?"]
    expect: {facts: [Europeans]}
"""
    qset = load_question_set(write(tmp_path, text))
    first, second = qset.questions
    assert first.filters.to_filters().since == date(2025, 8, 1)
    assert first.expect.facts == [["Sumy"], ["gas transport", "gas infrastructure"]]
    assert first.expect.sources[1] == SourceSpec(outlet="Al Jazeera", date=date(2025, 8, 27))
    assert second.asks[-1] == "Who is involved in preparing them?" and second.answerable
    as_json = write(tmp_path, json.dumps(qset.model_dump(mode="json")), "set.json")
    assert load_question_set(as_json) == qset


def test_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "questions: [{id: a, question: Why}]", "smoke.yaml")
    assert load_question_set(path).name == "smoke"


HEAD = "name: t\nquestions:\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - {id: q1, answerable: true}",
            "question 'q1': field 'question': give 'question' or 'turns'",
        ),
        (
            "  - {id: q1, question: a, turns: [b]}",
            "question 'q1': field 'question': give 'question' or 'turns' (it has both)",
        ),
        ("  - {id: q1, turns: []}", "question 'q1': field 'turns': empty"),
        (
            "  - {id: q1, question: a, answerable: 'yes'}",
            "question 'q1': field 'answerable': Input should be a valid boolean",
        ),
        (
            "  - {id: q1, question: a, expect: {facts: [{x: 1}]}}",
            "question 'q1': field 'expect.facts[0]': each fact is",
        ),
        (
            "  - {id: q1, question: a, expect: {facts: Sumy}}",
            "question 'q1': field 'expect.facts': Input should be a valid list",
        ),
        (
            "  - {id: q1, question: a, expected: {facts: [x]}}",
            "question 'q1': field 'expected': unknown field",
        ),
        (
            "  - {id: q1, question: a, expect: {sources: [{docid: x}]}}",
            "question 'q1': field 'expect.sources[0].docid': unknown field",
        ),
        (
            "  - {id: q1, question: a, expect: {sources: [{}]}}",
            "question 'q1': field 'expect.sources[0]': give at least one of doc, outlet, date",
        ),
        (
            "  - {id: q1, question: a}\n  - {id: q1, question: b}",
            "question 'q1': field 'id': duplicate id",
        ),
        (
            "  - {id: q1, question: a, filters: {since: 2025-13-01}}",
            "question 'q1': field 'filters.since': expected a date like 2025-08-27, not '2025-13-01'",
        ),
        (
            "  - {id: q1, question: a, expect: {sources: [{date: 27 Aug 2025}]}}",
            "question 'q1': field 'expect.sources[0].date': expected a date",
        ),
        (
            "  - {id: q1, question: a, filters: {since: 2025-09-01, until: 2025-08-01}}",
            "question 'q1': field 'filters.since': 2025-09-01 is after until",
        ),
        (
            "  - {id: q1, question: a, answerable: false, expect: {facts: [x]}}",
            "question 'q1': field 'expect': a question with answerable: false",
        ),
        ("  - {id: q1, question: a}\n  - {question: b}", "question #2: field 'id': required"),
        (
            "  - {id: q1, question: 7}",
            "question 'q1': field 'question': Input should be a valid string",
        ),
    ],
)
def test_malformed_question_names_the_id_and_field(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write(tmp_path, HEAD + body)
    with pytest.raises(ValueError) as caught:
        load_question_set(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: t\nquestions: []", "field 'questions': List should have at least 1 item"),
        ("name: t\nquestion: [{id: a, question: b}]", "field 'question': unknown field"),
        ("- just a list", "expected a mapping with 'name' and 'questions'"),
        ("name: [unclosed", "not valid YAML"),
        ("name: t\nquestions: [oops]", "question #1: Input should be a valid dictionary"),
    ],
)
def test_malformed_file_is_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_question_set(write(tmp_path, text))
    assert expected in str(caught.value)


def test_unquoted_question_mark_in_a_flow_list_gets_a_hint(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) ends a plain scalar at '?' inside [...], so the issue's unquoted
    # example does not parse; the error says how to fix it.
    path = write(tmp_path, HEAD + "  - {id: a, turns: [Who said it?, When?]}")
    with pytest.raises(ValueError, match="quote text inside"):
        load_question_set(path)


def test_missing_file_and_bad_json_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the question set"):
        load_question_set(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_question_set(write(tmp_path, "{", "set.json"))


# --- matching ------------------------------------------------------------------------------
def passage(
    doc: str,
    text: str = "",
    outlet: str | None = "Dawn",
    day: date | None = None,
    also_in: list[Source] | None = None,
) -> Passage:
    return make_passage(text, doc, outlet, day, also_in=also_in or [])


def test_facts_match_ignoring_case_whitespace_quotes_and_dashes() -> None:
    text = "Peskov said: “We view such discussions\n negatively.” Three regions – Poltava, Sumy."
    assert fact_found(['"we view such discussions negatively."'], text)
    assert fact_found(["three regions - poltava"], text)
    assert fact_found(["THREE   REGIONS"], text)
    assert fact_found(["Kohut", "Sumy"], text)  # any alternative
    assert not fact_found(["Kohut"], text)


def test_facts_match_whole_words_only() -> None:
    assert fact_found(["74"], "it downed 74 drones")
    assert not fact_found(["74"], "since 1974")
    assert not fact_found(["Sum"], "in Sumy")
    assert fact_found(["100,000"], "more than 100,000 households")


def test_source_matches_when_every_given_key_matches() -> None:
    p = passage("d1", outlet="Al Jazeera", day=date(2025, 8, 27))
    assert passage_matches(SourceSpec(doc="d1"), p)
    assert passage_matches(SourceSpec(outlet="al jazeera", date=date(2025, 8, 27)), p)
    assert not passage_matches(SourceSpec(outlet="Al Jazeera", date=date(2025, 8, 28)), p)
    assert not passage_matches(SourceSpec(doc="d2", outlet="Al Jazeera"), p)
    assert not passage_matches(SourceSpec(outlet="Dawn"), passage("d3", outlet=None))


def test_syndicated_copy_counts_as_the_passage() -> None:
    copy = Source(
        doc_id="d2", chunk_id="d2#0", outlet="Business Standard", date=None, title="", url=None
    )
    assert passage_matches(SourceSpec(doc="d2"), passage("d1", also_in=[copy]))
    assert passage_matches(SourceSpec(outlet="Business Standard"), passage("d1", also_in=[copy]))


# --- metrics on hand-made answers ------------------------------------------------------------
SUMY = "The ministry said equipment at a key substation in Sumy was hit."
DRONES = "The air force said it downed 74 drones."
UNRELATED = "Kallas called for additional sanctions."


def answer(
    sentences: list[tuple[str, list[int]]],
    cited: dict[int, Passage],
    retrieved: list[Passage],
    abstained: bool = False,
) -> Answer:
    return Answer(
        question="q",
        answer="abstained" if abstained else " ".join(s for s, _ in sentences),
        sentences=[AnswerSentence(text=s, citations=c) for s, c in sentences],
        citations=[make_citation(n, p) for n, p in cited.items()],
        abstained=abstained,
        retrieved=retrieved,
    )


def hand_made_records() -> list[Record]:
    sumy, drones, kallas = passage("d1", SUMY), passage("d2", DRONES), passage("d3", UNRELATED)
    syndicated = passage(
        "d4", DRONES, also_in=[Source(**drones.model_dump(include=set(Source.model_fields)))]
    )
    return [
        # source at rank 2; one of two facts; its citation supports its sentence
        Record(
            "a",
            answer([(SUMY, [1])], {1: sumy}, [kallas, sumy]),
            facts=[["Sumy"], ["gas transport", "gas infrastructure"]],
            sources=[SourceSpec(doc="d1")],
            latency_ms=10,
        ),
        # source found through a syndicated copy at rank 1; passes; 1 of 3 citation pairs supports
        Record(
            "b",
            answer(
                [(DRONES, [1, 2]), ("Kallas wants sanctions.", [2])],
                {1: drones, 2: sumy},
                [syndicated],
            ),
            facts=[["74"]],
            sources=[SourceSpec(doc="d2")],
            latency_ms=20,
        ),
        # abstained although answerable, source not retrieved
        Record(
            "c",
            answer([], {}, [kallas], abstained=True),
            facts=[["Kohut"]],
            sources=[SourceSpec(doc="d9")],
            latency_ms=30,
        ),
        Record("d", answer([], {}, [], abstained=True), answerable=False, latency_ms=40),
        # answered an off-corpus question with a citation that does not support it
        Record(
            "e",
            answer([("The Nobel went to someone.", [1])], {1: kallas}, [kallas]),
            answerable=False,
            latency_ms=50,
        ),
    ]


def test_each_metric_on_hand_made_answers() -> None:
    scored = score(hand_made_records(), CHECKER, k=5)
    m = scored.metrics
    assert m["source_hit_rate"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m["fact_recall"] == pytest.approx(2 / 4)  # a: 1 of 2, b: 1 of 1, c: 0 of 1
    assert m["answer_accuracy"] == pytest.approx(1 / 3)
    # per answer (a, b, e), then averaged, as ALCE does
    assert m["citation_precision"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert m["citation_recall"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert m["abstention_accuracy"] == pytest.approx(1 / 2)
    assert m["false_abstention_rate"] == pytest.approx(1 / 3)
    assert m["latency_ms_p50"] == pytest.approx(30)
    assert m["latency_ms_p95"] == pytest.approx(48)
    assert set(m) == set(METRICS)
    assert scored.counts["fact_recall"] == 4 and scored.counts["citation_precision"] == 3


def test_pass_and_fail_per_question() -> None:
    scored = score(hand_made_records(), CHECKER, k=5)
    assert [o.passed for o in scored.outcomes] == [False, True, False, True, False]
    assert [o.source_rank for o in scored.outcomes[:3]] == [2, 1, None]
    assert scored.outcomes[0].missing_facts == [["gas transport", "gas infrastructure"]]


def test_source_beyond_k_does_not_count() -> None:
    scored = score(hand_made_records()[:1], CHECKER, k=1)
    assert scored.metrics["source_hit_rate"] == 0.0 and scored.metrics["mrr"] == 0.0
    assert not scored.outcomes[0].passed


def test_abstention_text_is_not_searched_for_facts() -> None:
    record = Record("c", answer([], {}, [], abstained=True), facts=[["abstained"]])
    assert score([record], CHECKER).metrics["fact_recall"] == 0.0


def test_answer_without_citations_scores_zero_like_alce() -> None:
    record = Record("x", answer([(SUMY, [])], {}, []))
    m = score([record], CHECKER).metrics
    assert m["citation_precision"] == 0.0 and m["citation_recall"] == 0.0


def test_metrics_with_no_applicable_question_are_none() -> None:
    only_answerable = [Record("x", answer([(SUMY, [1])], {1: passage("d1", SUMY)}, []))]
    m = score(only_answerable, CHECKER).metrics
    for name in ("source_hit_rate", "mrr", "fact_recall", "answer_accuracy", "abstention_accuracy"):
        assert m[name] is None, name
    assert m["citation_precision"] == 1.0 and m["false_abstention_rate"] == 0.0
    assert all(v is None for v in score([], CHECKER).metrics.values())


# --- floors --------------------------------------------------------------------------------
def test_floors_parse_and_check() -> None:
    floors = parse_floors(["fact_recall=0.8", " mrr = 0.5"])
    assert floors == {"fact_recall": 0.8, "mrr": 0.5}
    assert missed_floors({"fact_recall": 0.8, "mrr": 0.4}, floors) == [
        "mrr 0.400 is below its floor 0.5"
    ]
    assert "n/a" in missed_floors({"fact_recall": None, "mrr": 1.0}, floors)[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fact_recall", "wants METRIC=VALUE"),
        ("=0.5", "wants METRIC=VALUE"),
        ("recall=0.5", "unknown metric 'recall'"),
        ("fact_recall=high", "'high' is not a number"),
        ("latency_ms_p95=100", "lower is better"),
    ],
)
def test_bad_floor_is_a_user_error(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_floors([spec])


# --- on the seed index ---------------------------------------------------------------------
SMALL = """
name: small
questions:
  - id: substation
    question: Where was equipment at a key substation hit?
    expect: {sources: [{doc: 001_c81ca98ac9a2360a}], facts: [Sumy]}
  - id: wrong-fact
    question: How many drones did the Ukrainian air force say it downed?
    expect: {sources: [{outlet: Al Jazeera}], facts: ["75"]}
  - id: nobel
    question: Who won the 2025 Nobel Peace Prize?
    answerable: false
"""


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    return write(tmp_path, SMALL)


@pytest.fixture
def on_session_engine(engine):  # type: ignore[no-untyped-def]
    """Opens the session engine for run_cli rather than a second copy of the model."""
    return lambda: engine


@pytest.fixture
def cli_on_session_engine(on_session_engine, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`newsdesk eval` on the session engine: the CLI's wiring hands out the opener above."""
    monkeypatch.setattr(factory, "build_eval_engine", lambda settings: on_session_engine)
    return on_session_engine


def test_reports_have_the_documented_keys_and_sections(
    on_session_engine, small_set: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out_json, out_md, lines = tmp_path / "r" / "eval.json", tmp_path / "eval.md", []
    code = run_cli(on_session_engine, small_set, 5, out_json, out_md, [], echo=lines.append)
    assert code == 0
    report = json.loads(out_json.read_text())
    assert {"name", "metrics", "questions"} <= set(report) and report["name"] == "small"
    assert set(report["metrics"]) == set(METRICS)
    by_id = {q["id"]: q for q in report["questions"]}
    for q in by_id.values():
        assert {
            "id",
            "passed",
            "answer",
            "abstained",
            "citations",
            "retrieved",
            "missing_facts",
            "latency_ms",
        } <= set(q)
    assert (
        by_id["substation"]["passed"] and by_id["nobel"]["passed"] and by_id["nobel"]["abstained"]
    )
    assert not by_id["wrong-fact"]["passed"] and by_id["wrong-fact"]["missing_facts"] == ["75"]
    assert by_id["substation"]["citations"][0]["outlet"] == "Al Jazeera"
    assert (
        len(by_id["substation"]["retrieved"]) == 5
        and by_id["substation"]["retrieved"][0]["expected"]
    )
    md = out_md.read_text()
    assert md.startswith("# Evaluation: small") and "| Metric | Value | Over |" in md
    assert "| fact_recall | 0.500 | 2 |" in md
    failed = md.split("## Failed questions", 1)[1]
    assert "`wrong-fact`" in failed and "“75”" in failed and "74 drones" in failed
    assert "`substation`" not in failed and "`nobel`" not in failed
    assert (
        lines[0] == "small: 2/3 questions passed (k=5, extractive)"
        and lines[-1] == "failed: wrong-fact"
    )


def test_fail_under_gates_the_exit_code(on_session_engine, small_set: Path) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    opener = on_session_engine
    assert run_cli(opener, small_set, 5, None, None, ["fact_recall=0.5"], lines.append) == 0
    assert run_cli(opener, small_set, 5, None, None, ["fact_recall=0.6"], lines.append) == 1
    assert "FAIL: fact_recall 0.500 is below its floor 0.6" in lines


def test_fail_under_on_a_metric_that_is_na_fails(on_session_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "questions: [{id: a, question: 'Where was a substation hit?'}]")
    lines: list[str] = []
    floors = ["abstention_accuracy=0.5"]
    assert run_cli(on_session_engine, path, 5, None, None, floors, lines.append) == 1
    assert any("abstention_accuracy is n/a" in line for line in lines)


def test_user_errors_come_before_anything_runs(small_set: Path) -> None:
    def no_engine() -> Any:
        raise AssertionError("the engine was opened")

    with pytest.raises(ValueError, match="unknown metric"):
        run_cli(no_engine, small_set, 5, None, None, ["nope=1"])
    with pytest.raises(ValueError, match="at least 1"):
        run_cli(no_engine, small_set, 0, None, None, [])
    with pytest.raises(ValueError, match="duplicate id"):
        dup = write(small_set.parent, SMALL + SMALL.split("questions:")[1], "dup.yaml")
        run_cli(no_engine, dup, 5, None, None, [])


def test_empty_index_is_a_user_error(settings_factory, small_set: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="is empty: run `newsdesk ingest`"):
        run_cli(build_eval_engine(settings_factory()), small_set, 5, None, None, [])


def test_cli_end_to_end(seed_settings, small_set: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = [
        "eval",
        str(small_set),
        "--data-dir",
        str(seed_settings.data_dir),
        "--llm",
        "extractive",
        "--json",
        str(tmp_path / "out.json"),
        "--fail-under",
        "source_hit_rate=0.9",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "small: 2/3 questions passed" in result.stdout and "source_hit_rate" in result.stdout
    assert json.loads((tmp_path / "out.json").read_text())["metrics"]["source_hit_rate"] == 1.0


def test_cli_exit_codes(cli_on_session_engine, small_set: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["eval", str(small_set), "--llm", "extractive", "--fail-under"]
    gated = CliRunner().invoke(main, [*args, "answer_accuracy=0.9"])
    assert (
        gated.exit_code == 1
        and "FAIL: answer_accuracy 0.500 is below its floor 0.9" in gated.stdout
    )
    bad = CliRunner().invoke(main, [*args, "answer_accuracy"])
    assert bad.exit_code == 2 and "Error: --fail-under wants METRIC=VALUE" in bad.output
    assert "questions passed" not in bad.output


# --- the shipped question set, as a CI gate ---------------------------------------------------
# Floors: what `newsdesk eval tests/eval/seed.yaml` measured in extractive mode, minus ~0.05.
SEED_FLOORS = {
    "source_hit_rate": 0.95,
    "mrr": 0.93,
    "fact_recall": 0.86,
    "answer_accuracy": 0.83,
    "citation_precision": 0.95,
    "citation_recall": 0.95,
    "abstention_accuracy": 0.95,
}
SEED_CEILINGS = {"false_abstention_rate": 0.11}


def test_seed_question_set_meets_its_floors(engine) -> None:  # type: ignore[no-untyped-def]
    qset = load_question_set(SEED)
    report = evaluate(engine, qset, k=5, mode=AnswerMode.EXTRACTIVE, progress=False)
    metrics = report.scored.metrics
    summary = "\n".join(summary_lines(report))
    assert missed_floors(metrics, SEED_FLOORS) == [], summary
    for name, ceiling in SEED_CEILINGS.items():
        value = metrics[name]
        assert value is not None and value <= ceiling, summary
    assert metrics["latency_ms_p95"] is not None and metrics["latency_ms_p95"] > 0
