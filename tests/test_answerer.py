"""The learned answerer: the sentence that states the answer leads, absent answers abstain,
follow-ups move to a new topic, and the shipped model file loads (or fails) clearly."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bench.fit import fit_logistic
from rag.extractive import evidence_of
from rag.filters import as_of_week
from rag.sentence_model import (
    AnswerModel,
    Evidence,
    ModelFileError,
    candidates,
    question_kind,
    shipped_model_path,
)
from rag.types import AnswerMode, Filters
from tests.conftest import make_passage

DRONES = "How many drones did the Ukrainian air force say it downed?"


def test_the_sentence_that_states_the_answer_leads(engine) -> None:  # type: ignore[no-untyped-def]
    extractive = engine.answerers[AnswerMode.EXTRACTIVE]
    assert extractive.model is not None  # the shipped model is on by default
    answer = engine.ask(DRONES)
    assert "74 drones" in answer.sentences[0].text
    istanbul = engine.ask("How long did the last Istanbul session last?")
    assert "40 minutes" in istanbul.sentences[0].text


def test_a_question_whose_answer_is_absent_abstains(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Who won the 2025 Nobel Peace Prize?")
    assert answer.abstained and not answer.citations
    assert "does not cover" in answer.answer


def test_follow_up_naming_a_new_topic_and_an_outlet_is_answered_from_that_outlet(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("What did Peskov say about NATO infrastructure?")
    follow = engine.ask("And what did Dawn report about peacekeepers?", history=[first.as_turn()])
    assert not follow.abstained, follow.answer
    assert follow.filters.effective.outlet == "Dawn"
    assert {c.outlet for c in follow.citations} == {"Dawn"}
    assert "peacekeeping" in follow.answer


def test_a_question_of_filters_alone_is_answered_from_the_filtered_articles(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did Dawn report?", filters=Filters())
    assert not answer.abstained and {c.outlet for c in answer.citations} == {"Dawn"}


def test_shipped_model_loads_offline_and_names_its_training() -> None:
    model = AnswerModel.load(shipped_model_path())
    assert "RealTimeQA" in model.trained_on and len(model.sentence.coef) > 5


def test_corrupt_or_missing_model_file_fails_with_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "answerer.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match=r"answer model .*answerer\.json is corrupt .*retrain"):
        AnswerModel.load(bad)
    with pytest.raises(ModelFileError, match="is missing"):
        AnswerModel.load(tmp_path / "nowhere.json")
    data = json.loads(shipped_model_path().read_text())
    data["sentence"]["features"][0] = "something else"
    bad.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="other features"):
        AnswerModel.load(bad)


def test_corrupt_model_setting_stops_the_cli_with_one_line(tmp_path: Path, seed_settings) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from newsdesk.cli import main

    bad = tmp_path / "model.json"
    bad.write_text("[]")
    result = CliRunner().invoke(
        main,
        ["ask", DRONES, "--data-dir", str(seed_settings.data_dir)],
        env={"NEWSDESK_ANSWER_MODEL": str(bad)},
    )
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: answer model")
    assert len(result.output.strip().splitlines()) == 1


def test_logistic_fit_separates_a_simple_rule_and_round_trips() -> None:
    rows = [{"a": float(i % 2), "b": float(i % 3)} for i in range(60)]
    labels = [int(r["a"] == 1.0) for r in rows]
    model = fit_logistic(rows, labels, ("a", "b"))
    chances = model.probabilities(rows)
    assert all((p > 0.5) == bool(y) for p, y in zip(chances, labels, strict=True))
    again = type(model).from_dict(json.loads(json.dumps(model.as_dict())))
    assert again == model


def test_question_kinds_follow_the_wh_word() -> None:
    assert question_kind("How many drones were downed?") == "number"
    assert question_kind("When did the talks end?") == "date"
    assert question_kind("Who leads the delegation?") == "person"
    assert question_kind("In which state was she charged?") == "place"
    assert question_kind("What did the Kremlin say?") == "other"


def test_a_sentence_from_the_as_of_week_leads_over_the_same_news_from_later() -> None:
    question = "Where did the negotiators meet for the talks this week?"
    scores = {"score": 0.03, "dense": 0.5, "bm25": 5.0}
    geneva, istanbul = (
        "The negotiators met for talks in Geneva on Monday.",
        "The negotiators met for talks in Istanbul on Friday.",
    )
    later = make_passage(geneva, "b", "Reuters", date(2025, 10, 20), **scores)
    week_one = make_passage(istanbul, "a", "Reuters", date(2025, 9, 12), **scores)
    focus = {"negotiators": 1.0, "met": 1.0, "talks": 1.0}

    def tokenize(texts: list[str]) -> list[list[str]]:
        return [t.lower().replace(".", "").split() for t in texts]

    def lead(week: Filters | None) -> str:
        evidence = Evidence(question, focus, [later, week_one], week)
        found = candidates(evidence, tokenize)
        return AnswerModel.load(shipped_model_path()).rank(found)[0].text

    asked = as_of_week(Filters(as_of=date(2025, 9, 12)))
    assert "Istanbul" in lead(asked)  # the quiz's week answers "this week"
    assert "Geneva" in lead(None)  # without an as-of day, the better-ranked passage leads


def test_the_engine_hands_the_answerer_the_as_of_week_of_the_question(engine) -> None:  # type: ignore[no-untyped-def]
    question = "Why are the peace negotiations on pause?"
    asked = Filters(as_of=date(2025, 9, 12))
    reading = engine.read(question, asked)
    assert reading.week == as_of_week(asked)
    tokenize = engine.answerers[AnswerMode.EXTRACTIVE].tokenize
    in_week = [c.features["in_week"] for c in candidates(evidence_of(reading), tokenize)]
    assert 0.0 < sum(in_week) < len(in_week)  # the 12 September article's sentences, not the rest
    plain = candidates(evidence_of(engine.read(question)), tokenize)
    assert not any(c.features["in_week"] for c in plain)
