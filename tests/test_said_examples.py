"""Reader examples shaped like "What did X say about Y?" (bench.said_examples)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from bench import said_examples
from bench.train_reader import GROUP

PESKOV = [
    "Russia takes a negative view of European proposals on security guarantees for Ukraine, "
    "the Kremlin said on Wednesday.",
    "Kremlin spokesman Dmitry Peskov said Moscow hoped the American efforts to end the war "
    "would continue for some time.",
    "But Peskov said a European troop deployment in Ukraine would mean a NATO presence there, "
    "which Russia had aimed to prevent.",
    '"At the very beginning, it was the advancement of NATO military infrastructure into '
    'Ukraine that was among the root causes of the conflict," he said.',
    "Ukraine's European allies are working to put together a set of guarantees for Ukraine "
    "after any peace settlement.",
    "The foreign ministers of several European countries will meet in Brussels next week to "
    "discuss the plan.",
    "Markets in Moscow were little changed on Wednesday after the comments were published.",
    "The talks between the two sides have been on hold since the summer without a new date.",
    "Officials in Kyiv did not immediately respond to a request for comment on the remarks.",
    "Several analysts said the proposals were unlikely to be accepted by Moscow any time soon.",
]


def _article(date: str = "2023/05/01") -> dict[str, str]:
    return {
        "url": "u",
        "title": "Kremlin rejects plan",
        "text": " ".join(PESKOV),
        "publish_date": date,
    }


def test_he_said_carries_the_speaker_of_the_sentence_before() -> None:
    pairs = [(s, "") for s in PESKOV[1:4]]
    assert said_examples.speakers(pairs) == ["Dmitry Peskov", "Peskov", "Peskov"]


def test_the_topic_comes_from_what_was_said_not_from_the_attribution() -> None:
    about = said_examples.topic(PESKOV[3], "Peskov")
    quoted = PESKOV[3].split('"')[1]
    assert about and set(about.split()) <= set(re.findall(r"[A-Za-z'-]+", quoted))
    assert "Peskov" not in about and "said" not in about


def test_a_speaker_is_named_before_the_verb_or_in_a_closing_attribution_only() -> None:
    pairs = [
        ('"We will not accept troops from any NATO country," said Dmitry Peskov.', ""),
        ("European leaders said Trump had agreed to the plan on Monday.", ""),
        ("An official told Peskov that the talks would resume next week.", ""),
        ("Prime Minister Keir Starmer said the coalition would meet again.", ""),
    ]
    assert said_examples.speakers(pairs) == ["Dmitry Peskov", "", "", "Keir Starmer"]


def test_an_example_puts_the_statement_first_and_the_speakers_other_statements_next() -> None:
    examples = said_examples.article_examples(_article(), random.Random(0))
    example = next(e for e in examples if "Dmitry Peskov" in e.question)
    assert example.candidates[0].text == PESKOV[1] and example.candidates[0].label == 1
    assert all(c.label == 0 for c in example.candidates[1:])
    assert {c.text for c in example.candidates[1:3]} == {PESKOV[2], PESKOV[3]}
    assert len(example.candidates) >= GROUP


def test_articles_of_the_development_weeks_and_the_test_year_are_never_read() -> None:
    late = ["2024/10/01", "2024-10-01", "2024/11/02", "2025/03/01", "2021/06/01"]
    assert said_examples.build([_article(d) for d in late], 10, 0) == []
    assert said_examples.build([_article("2024/09/30")], 10, 0)
    assert said_examples.build([_article("2024-09-30")], 10, 0)


def test_a_window_not_given_as_days_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        said_examples.main(["--out", str(tmp_path / "x.jsonl"), "--since", "last week"])
