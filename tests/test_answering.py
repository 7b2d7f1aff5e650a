"""Extractive answers over the seed index with the real model: citations, filters, abstention."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rag.citations import Numbering
from rag.drafts import llm_draft
from rag.support import SupportChecker
from rag.types import Filters
from tests.conftest import make_passage

MARKER = re.compile(r"\[\d+: [^\]]+\]")


@pytest.fixture(params=["embedded", "chroma-server"])
def engine(request, engine):  # type: ignore[no-untyped-def]
    """Every behaviour here is checked on the embedded store and on a `chroma run` server."""
    return engine if request.param == "embedded" else request.getfixturevalue("server_engine")


def test_answer_cites_outlet_and_date_for_every_sentence(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Where was equipment at a key substation hit?")
    assert not answer.abstained
    assert "Sumy" in answer.answer
    cited = answer.citations[0]
    assert (cited.outlet, cited.date, cited.doc_id) == (
        "Al Jazeera",
        date(2025, 8, 27),
        "001_c81ca98ac9a2360a",
    )
    assert cited.marker == "[1: Al Jazeera, 27 Aug 2025]" and cited.marker in answer.answer
    assert cited.quote in cited.passage and cited.quote_span is not None
    for sentence in answer.sentences:
        assert sentence.citations and sentence.text in answer.answer
    assert answer.citation_check.passed == answer.citation_check.total > 0


def test_every_answer_sentence_is_verbatim_from_its_passage(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("How many drones did the Ukrainian air force say it downed?")
    by_number = {c.number: c for c in answer.citations}
    for sentence in answer.sentences:
        assert all(sentence.text in by_number[n].passage for n in sentence.citations)
    assert "74 drones" in answer.answer


def test_unknown_outlet_and_date_show_as_unknown(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did Kaja Kallas say about a ceasefire?")
    assert answer.citations[0].label == "unknown outlet, unknown date"
    assert answer.citations[0].outlet is None and answer.citations[0].date is None


def test_outlet_filter_from_flag_restricts_every_passage(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "What did Peskov say about security guarantees?", filters=Filters(outlet="dawn")
    )
    assert answer.filters.effective.outlet == "Dawn"
    assert answer.retrieved and {p.outlet for p in answer.retrieved} == {"Dawn"}


def test_date_filter_from_flags(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "What did the Kremlin say about talks?", filters=Filters(since=date(2025, 9, 1))
    )
    assert {p.date for p in answer.retrieved} == {date(2025, 9, 12)}


@pytest.mark.parametrize(
    ("question", "outlet", "since", "until"),
    [
        ("According to Dawn, how many households lost power?", "Dawn", None, None),
        ("What did the Telegraph report about the talks?", "The Telegraph India", None, None),
        ("What did the Kremlin say in September 2025?", None, date(2025, 9, 1), date(2025, 9, 30)),
        ("What happened on 27 August?", None, date(2025, 8, 27), date(2025, 8, 27)),
        ("What did the Kremlin say last week?", None, date(2025, 9, 5), date(2025, 9, 12)),
    ],
)
def test_filters_are_understood_from_the_question(engine, question, outlet, since, until) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(question)
    effective = answer.filters.effective
    assert (effective.outlet, effective.since, effective.until) == (outlet, since, until)
    assert answer.filters.understood
    for p in answer.retrieved:
        assert outlet is None or p.outlet == outlet
        assert since is None or (p.date is not None and since <= p.date <= until)


def test_filter_matching_nothing_says_so(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did Business Standard report in September 2025?")
    assert answer.abstained and answer.retrieved == []
    assert answer.filters.note and "No articles" in answer.answer
    unknown = engine.ask("Peace talks", filters=Filters(outlet="The Onion"))
    assert unknown.abstained and "The Onion" in unknown.answer


def test_syndicated_reuters_copies_keep_every_outlet(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "What did Peskov say about NATO military infrastructure being among the root causes?"
    )
    quote = next(
        c for c in answer.citations if "advancement of NATO military infrastructure" in c.quote
    )
    outlets = {quote.outlet, *(s.outlet for s in quote.also_in)}
    assert {"Al Jazeera", "Business Standard"} <= outlets


def test_near_duplicate_passages_are_collapsed() -> None:
    from rag.syndication import collapse_syndicated

    text = "Peskov said a European troop deployment in Ukraine would mean a NATO presence there, he said on Wednesday."

    a = make_passage(text, "a", "Reuters", None, score=1.0)
    b = make_passage(text, "b", "Other", None, score=0.5)
    kept = collapse_syndicated([a, b])
    assert [p.chunk_id for p in kept] == ["a::0"] and kept[0].also_in[0].outlet == "Other"


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2025 Nobel Peace Prize?",
        "What is the capital of France?",
        "Who won the 2022 World Cup final?",
    ],
)
def test_off_corpus_questions_abstain_and_list_closest_articles(engine, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(question)
    assert answer.abstained and answer.citations == []
    assert answer.answer.startswith("The corpus does not cover this question.")
    assert answer.closest and "Closest articles" in answer.answer


def test_follow_up_retrieves_with_the_earlier_turn(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("When were the Istanbul talks held?")
    follow = engine.ask("And how long did that session last?", history=[first.as_turn()])
    assert "40 minutes" in follow.answer
    assert "Istanbul" in follow.retrieval_query


def test_citation_numbers_stay_stable_across_turns(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.ask("Where was equipment at a key substation hit?")
    second = engine.ask(
        "How many drones did the Ukrainian air force say it downed?", history=[first.as_turn()]
    )
    third = engine.ask(
        "Where was equipment at a key substation hit?", history=[first.as_turn(), second.as_turn()]
    )
    numbers = {c.chunk_id: c.number for c in first.citations}
    repeated = [c for c in third.citations if c.chunk_id in numbers]
    assert repeated and all(c.number == numbers[c.chunk_id] for c in repeated)
    fresh = [c.number for c in second.citations if c.chunk_id not in numbers]
    assert all(n > max(numbers.values()) for n in fresh)


def test_support_check_rejects_a_planted_bad_citation(engine, real_embedder) -> None:  # type: ignore[no-untyped-def]
    passages = engine.ask("Where was equipment at a key substation hit?").retrieved
    substation = next(p for p in passages if "substation" in p.text)
    unrelated = next(p for p in passages if "substation" not in p.text and "Sumy" not in p.text)
    reply = "Equipment at a key substation in Sumy was hit [2]. Peskov spoke about the moon landing [7]."
    draft = llm_draft(
        reply,
        {1: substation, 2: unrelated},
        passages,
        SupportChecker(real_embedder.embed_query),
        Numbering(),
    )
    first, second = draft.sentences
    assert (
        first.supported and draft.citations[first.citations[0]].chunk_id == substation.chunk_id
    )  # repaired
    assert (
        not second.supported and second.citations == []
    )  # [7] points at nothing; nothing supports it
    assert (
        draft.check.repaired == 1
        and draft.check.dropped == 2
        and draft.check.unsupported_sentences == 1
    )
    assert "[unsupported]" in draft.text()


def test_streaming_yields_status_deltas_then_final(engine) -> None:  # type: ignore[no-untyped-def]
    events = list(engine.stream("Where was equipment at a key substation hit?"))
    assert events[0].type == "status" and events[-1].type == "final"
    deltas = "".join(e.text for e in events if e.type == "delta")
    assert MARKER.search(deltas) and events[-1].answer.answer.strip() == deltas.strip()


def test_until_filter_excludes_undated_articles(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask(
        "What did Kaja Kallas say about a ceasefire?", filters=Filters(until=date(2025, 12, 31))
    )
    assert answer.retrieved and all(p.date is not None for p in answer.retrieved)


def test_question_without_content_abstains_but_scoped_overview_answers(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.ask("What is it?").abstained
    overview = engine.ask("What did the Telegraph report?")
    assert not overview.abstained and {c.outlet for c in overview.citations} == {
        "The Telegraph India"
    }
    with pytest.raises(ValueError, match="empty"):
        engine.ask("   ")


def test_unconfigured_llm_mode_says_so(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Where was equipment at a key substation hit?", mode="openai")
    assert answer.mode == "extractive" and answer.notice and "not configured" in answer.notice


def test_empty_index_tells_how_to_ingest(settings_factory, real_embedder) -> None:  # type: ignore[no-untyped-def]
    from newsdesk.factory import build_newsdesk

    answer = build_newsdesk(settings_factory(), embedder=real_embedder).ask(
        "Anything about Ukraine?"
    )
    assert answer.abstained and "newsdesk ingest" in answer.answer
