"""Suggested questions: written from what articles say, not from their headlines, and answered."""

from __future__ import annotations

from typing import Any

from ui.suggest import Suggestions, speakers


def test_speakers_are_the_people_quoted_by_name_not_pronouns_or_roles() -> None:
    sentences = [
        "Kremlin spokesman Dmitry Peskov said the talks were paused.",
        "But Peskov said channels remained open.",
        "It said nothing more, and the Ministry of Energy said power was back.",
        "The Kremlin said on Friday that Europe was to blame.",
    ]
    assert speakers(sentences) == ["Dmitry Peskov", "Kremlin"]


def test_suggestions_ask_about_what_articles_say_and_the_index_answers_them(engine: Any) -> None:
    summary = engine.summary()
    asks = Suggestions(engine, 3).for_corpus(summary)
    assert len(asks) == 3 and len(set(asks)) == 3
    titles = [" ".join((d.title or "").lower().split()[:4]) for d in summary.documents]
    for question in asks:
        assert not any(t and t in question.lower() for t in titles), question
        answer = engine.ask(question)
        assert not answer.abstained and answer.citations, question
