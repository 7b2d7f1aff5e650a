"""Follow-up scope: what a conversation carries to the next question, and how it says so."""

from __future__ import annotations

import pytest

from rag.follow_up import is_follow_up
from rag.types import AppliedFilters, Filters, Turn
from ui.render import filters_line

EARLIER = [Turn(question="According to Dawn, how many people were killed?", answer="...")]


@pytest.mark.parametrize(
    "question",
    [
        "Where did Russian and Ukrainian negotiators last meet face to face, and how long did "
        "that session last?",
        "What did the Kremlin say about European peacekeepers?",
        "Why did the Ukrainian air force say the drones came from the north?",
        "where did russian and ukrainian negotiators last meet face to face, and how long did "
        "that session last?",
    ],
)
def test_a_question_that_names_its_own_subject_starts_fresh(question: str) -> None:
    assert not is_follow_up(question, EARLIER)


def test_a_filter_phrase_is_not_a_subject_of_its_own() -> None:
    asked = "According to Reuters, what did they say about it?"
    assert is_follow_up(asked, EARLIER, query="what did they say about it?")
    assert is_follow_up("Can I ask what they agreed on in the end?", EARLIER)


@pytest.mark.parametrize(
    "question",
    [
        "And what did Zelensky say?",
        "What about the Telegraph?",
        "How long did that session last?",
        "What did they agree on in the end?",
        "Who said so?",
    ],
)
def test_a_question_that_needs_the_earlier_turn_is_a_follow_up(question: str) -> None:
    assert is_follow_up(question, EARLIER)


def test_a_fresh_question_after_an_outlet_question_is_answered_from_every_outlet(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("According to Dawn, how many households were left without power?")
    assert first.filters.effective.outlet == "Dawn"
    second = engine.ask(
        "Where did Russian and Ukrainian negotiators last meet face to face, and how long did "
        "that session last?",
        history=[first.as_turn()],
    )
    assert second.filters.effective.outlet is None and second.filters.carried.is_empty()
    assert not second.abstained and "40 minutes" in second.answer


def test_a_real_follow_up_keeps_its_scope_and_says_it_was_carried(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("According to Dawn, how many households were left without power?")
    second = engine.ask("And what did Zelensky say?", history=[first.as_turn()])
    assert second.filters.effective.outlet == "Dawn"
    assert second.filters.carried.outlet == "Dawn"
    assert "outlet Dawn — from the previous question" in filters_line(second.filters)


def test_a_carried_filter_that_leaves_nothing_is_dropped_with_a_notice(engine) -> None:  # type: ignore[no-untyped-def]
    earlier = Turn(
        question="What happened in 2019?",
        answer="...",
        filters=Filters(since="2019-01-01", until="2019-12-31"),
    )
    answer = engine.ask("And how long did the last Istanbul session last?", history=[earlier])
    assert answer.filters.effective.since is None and answer.filters.carried.is_empty()
    assert answer.notice and "left no articles" in answer.notice
    assert "40 minutes" in answer.answer


def test_nothing_within_a_carried_filter_answers_so_the_answer_searches_without_it(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("According to Dawn, how many households were left without power?")
    events = list(
        engine.stream("And how long did the last Istanbul session last?", [first.as_turn()])
    )
    answer = events[-1].answer
    assert answer is not None and not answer.abstained and "40 minutes" in answer.answer
    assert answer.filters.effective.outlet is None
    assert answer.notice and "carried from the previous question (outlet Dawn)" in answer.notice
    assert any(e.type == "status" and e.data.get("reset") for e in events)


def test_a_filter_set_this_turn_is_never_reported_as_carried(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask(
        "How many households were left without power?", filters=Filters(outlet="Dawn")
    )
    second = engine.ask(
        "And what did Zelensky say?", [first.as_turn()], filters=Filters(outlet="Dawn")
    )
    assert second.filters.effective.outlet == "Dawn" and second.filters.carried.outlet is None


def test_the_filters_line_names_no_carried_filter_when_none_was_carried() -> None:
    line = filters_line(AppliedFilters(effective=Filters(outlet="Dawn")))
    assert "previous question" not in line
