"""Cleaning the real seed articles: furniture out, broken words repaired, sentences kept."""

from __future__ import annotations

import re

import pytest

from index.cleaning import clean_text, is_broken_word
from index.sentences import split_sentences
from tests.conftest import CORPUS


def seed(name: str) -> str:
    return next(CORPUS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Wed-nesday", "Wednesday"),
        ("downpla-yed", "downplayed"),
        ("Russi-a’s", "Russia’s"),
        ("Dm--itry", "Dmitry"),
        ("neg---at---ively", "negatively"),
        ("Zel-e---nsky’s", "Zelensky’s"),
        ("rep------orters", "reporters"),
        ("reg-ions", "regions"),
        ("Zaporiz-hzhia", "Zaporizhzhia"),
        ("cla-ims", "claims"),
        ("thr-ee", "three"),
        ("Ukra-inian", "Ukrainian"),
        ("inf-r--a---s-t-ructure", "infrastructure"),
    ],
)
def test_dawn_article_broken_words_are_repaired(broken: str, fixed: str) -> None:
    raw = seed("000")
    assert broken in raw
    text = clean_text(raw).text
    assert fixed in text
    assert broken not in text


@pytest.mark.parametrize(
    "word",
    [
        "Putin-Zelensky",
        "face-to-face",
        "top-level",
        "high-level",
        "Western-backed",
        "all-out",
        "non-starter",
        "well-prepared",
        "US-Russia",
        "Russia-Ukraine",
        "28-point",
        "four-year",
        "Gen-Z",
    ],
)
def test_real_hyphenated_words_are_kept(word: str) -> None:
    assert not is_broken_word(word)


def test_furniture_is_removed_from_every_seed_article() -> None:
    text = "\n".join(
        clean_text(p.read_text(encoding="utf-8")).text for p in sorted(CORPUS.glob("*.txt"))
    )
    for furniture in [
        "Join our Whatsapp channel",
        "ADVERTISEMENT",
        "Advertisement",
        "Recommended Stories",
        "list of 4 items",
        "Also Read",
        "Best of BS Opinion",
        "STRONG ROOTS",
        "Listen to This Article",
        "Photo: Bloomberg",
        "More From This Section",
        "Amitabh Kant",
        "Stock Market Holiday",
        "Copyrights",
        "LinkedIN Icon",
        "MY KOLKATA EDUGRAPH",
        "RELATED TOPICS",
        "Sushila Karki",
        "Nepal",
        "READ MORE",
        "Leave a Reply",
        "Your email address",
        "Notification Icon",
        "Published in Dawn",
        "First Published",
        "Telegram channel",
    ]:
        assert furniture not in text, furniture


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("000", "Kyiv has rejected that idea as a non-starter."),
        (
            "001",
            "Meanwhile, Russia’s Ministry of Defence claimed its forces had taken control of the village of Ozarianivka in Ukraine’s Donetsk region.",
        ),
        ("002", '"So we have a negative attitude towards these discussions."'),
        (
            "002",
            "The two sides last held face-to-face talks in Istanbul on July 23, in a session that lasted just 40 minutes.",
        ),
        (
            "003",
            "Efforts by US President Donald Trump to broker a deal have so far come to nothing.",
        ),
        ("003", "Peskov blamed the pause in talks on such ideas."),
        ("004", "Despite ongoing negotiations, hostilities continue in Ukraine."),
        ("004", "European demands for a peace agreement that respects Ukraine’s sovereignty."),
    ],
)
def test_article_sentences_survive_cleaning(name: str, sentence: str) -> None:
    assert sentence in clean_text(seed(name)).text


def test_no_prose_sentence_of_the_body_is_lost() -> None:
    """Every undamaged sentence-ending line of the Al Jazeera body is still there."""
    raw = seed("001")
    text = clean_text(raw).text
    body = [line.strip() for line in raw.splitlines() if line.strip().endswith((".", "”", '."'))]
    assert len(body) > 20
    missing = [line for line in body if line not in text]
    assert missing == [] or all("Published" in m for m in missing)


def test_offset_map_points_back_to_the_raw_text() -> None:
    raw = seed("000")
    cleaned = clean_text(raw)
    for sentence in split_sentences(cleaned.text):
        first_word = re.match(r"\W*(\w+)", sentence.text)
        assert first_word
        raw_pos = cleaned.to_raw(sentence.start + first_word.start(1))
        assert raw[raw_pos : raw_pos + 2] == first_word.group(1)[:2]
    repaired = cleaned.text.index("negatively")
    assert raw[cleaned.to_raw(repaired) :].startswith("neg---at---ively")


def test_quoted_sentences_are_not_split_inside_the_quote() -> None:
    text = 'Peskov said: "The channels are in place. But for now, there is a pause." Then he left.'
    parts = [s.text for s in split_sentences(text)]
    assert parts == [
        'Peskov said: "The channels are in place. But for now, there is a pause."',
        "Then he left.",
    ]
