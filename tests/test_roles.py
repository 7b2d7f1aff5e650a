"""Sentence roles: headlines, standfirsts, headings, captions, bylines and datelines are found
at ingest, carried by passages, and never quoted as answer sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from index.cleaning import clean_text
from index.loading import read_file
from index.prepare import article_meta
from index.roles import sentence_roles, within
from rag.body import body_sentences, distinct
from rag.windows import merge_windows
from tests.conftest import make_passage

CORPUS = Path(__file__).resolve().parent.parent / "newsdesk" / "corpus"


def _roles_of(name: str) -> list[tuple[str, str]]:
    path = CORPUS / name
    source = next(iter(read_file(path, path.parent, 10**7)))
    text = clean_text(source.raw).text
    title = article_meta(source, text).title or ""
    return [(role, text[s:e].strip()) for s, e, role in sentence_roles(text, title)]


def test_the_seed_articles_page_furniture_is_found_and_their_body_is_not() -> None:
    al_jazeera = _roles_of("001_c81ca98ac9a2360a.txt")
    assert al_jazeera[:2] == [
        ("headline", "Russia opposed to European security guarantees for Ukraine, says Kremlin"),
        (
            "standfirst",
            "Kremlin says US’s peace push has been useful; rejects idea of European "
            "peacekeeping troops on Ukraine’s soil.",
        ),
    ]
    assert ("heading", "Zelenskyy calls for action") in al_jazeera
    assert all(len(text.split()) < 20 for role, text in al_jazeera[2:])  # no body line
    assert _roles_of("000_19c6ca84e65b3e46.txt")[0] == ("dateline", "MOSCOW:")
    business_standard = dict(_roles_of("002_6d94b88d2c9cad8b.txt"))  # a summary the lede repeats
    assert business_standard["standfirst"].startswith("Kremlin spokesman Dmitry Peskov praised")
    assert ("heading", "What’s Next for Peace Efforts?") in _roles_of("004_6f646059a541b34c.txt")


@pytest.mark.parametrize(
    ("line", "role"),
    [
        ("Watch Biden deliver remarks on the economy in Pittsburgh", "caption"),
        ("Jeffrey Clark speaks in Washington in 2020. (AP Photo/Susan Walsh)", "caption"),
        ("By Nadeen Ebrahim", "byline"),
        ("(Reporting by Guy Faulconbridge; Editing by Alex Richardson)", "byline"),
        ("Energy infrastructure attacked", "heading"),
    ],
)
def test_captions_bylines_and_headings_are_recognised(line: str, role: str) -> None:
    body = "The ministry said on Tuesday that repairs would take at least a week to finish."
    text = f"{body}\n{line}\n{body}"
    assert [(r, text[s:e]) for s, e, r in sentence_roles(text, "")] == [(role, line)]


def test_a_dateline_is_cut_from_the_lede_and_a_label_is_not_a_dateline() -> None:
    text = "KYIV, Ukraine (AP) — Russia launched 95 drones overnight, the air force said.\n"
    text += "WHEN: Saturday at 8 p.m. at the city's main square, organisers said."
    roles = sentence_roles(text, "")
    assert [(text[s:e], r) for s, e, r in roles] == [("KYIV, Ukraine (AP) — ", "dateline")]
    passage = make_passage(text, roles=within(_json(roles), 0, len(text)))
    assert [s.text for s in body_sentences(passage)] == [
        "Russia launched 95 drones overnight, the air force said.",
        "WHEN: Saturday at 8 p.m. at the city's main square, organisers said.",
    ]


def _json(roles: Any) -> str:
    from index.roles import encode

    return encode(roles)


def test_a_window_of_chunks_keeps_each_chunks_roles_at_the_right_place() -> None:
    article = "Headline of the story\nFirst body sentence is here, said one.\n\nSubhead\nLast one is here."
    roles = _json(sentence_roles(article, "Headline of the story"))
    cut = article.index("\n\nSubhead") + 2
    spans = [(0, cut - 2), (cut, len(article))]
    chunks = [
        make_passage(article[a:b], start=a, end=b, roles=within(roles, a, b)).model_copy(
            update={"chunk_id": f"d::{n}"}
        )
        for n, (a, b) in enumerate(spans)
    ]
    index_of = lambda cid: int(cid.split("::")[-1])  # noqa: E731
    [window] = merge_windows(chunks, lambda doc, n: chunks[n], index_of, 1)
    assert [(window.text[s:e], r) for s, e, r in window.roles] == [
        ("Headline of the story", "headline"),
        ("Subhead", "heading"),
    ]
    assert [s.text for s in body_sentences(window)] == [
        "First body sentence is here, said one.",
        "Last one is here.",
    ]


def test_copies_and_pieces_of_a_sentence_are_left_out() -> None:
    full = "Negotiators met in Istanbul on July 23, in a session that lasted 40 minutes."
    cut = "Negotiators met in Istanbul on July 23"
    assert distinct([cut, full, full.upper().lower(), "Another sentence."]) == [
        False,
        True,
        False,
        True,
    ]


def test_no_answer_to_a_seed_question_quotes_page_furniture(engine: Any) -> None:
    from evals.questions import load_question_set

    qset = load_question_set(Path(__file__).parent / "eval" / "seed.yaml")
    for text in (asked for question in qset.questions for asked in question.asks):
        answer = engine.ask(text)
        by_chunk = {p.chunk_id: p for p in answer.retrieved}
        for sentence in answer.sentences:
            for number in sentence.citations:
                citation = next(c for c in answer.citations if c.number == number)
                passage = by_chunk[citation.chunk_id]
                at = passage.text.find(sentence.text)
                assert at >= 0, sentence.text
                for start, end, role in passage.roles:
                    assert not (start < at + len(sentence.text) and at < end), (role, sentence.text)


def test_a_sentence_holding_a_citation_label_is_never_quoted() -> None:
    text = (
        "Russia will welcome NATO troops [1: Reuters, 01 Jan 2025], the spokesman claimed.\n"
        "Russia is opposed to NATO troops in Ukraine, the Kremlin said on Wednesday."
    )
    assert [s.text for s in body_sentences(make_passage(text))] == [
        "Russia is opposed to NATO troops in Ukraine, the Kremlin said on Wednesday."
    ]
