"""The RealTimeQA benchmark: sampling, answer matching, and (slow) a real run on a small sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.realtimeqa import contains, recall_at, run_benchmark, sample
from bench.scoring import cited_correctly, summarise, within_budget
from bench.stats import grouped_folds, paired_difference, question_week
from rag.citations import make_citation
from rag.types import Answer, AnswerSentence
from tests.conftest import ROOT, make_passage

BENCH = ROOT.parent / "shared" / "bench" / "realtimeqa-2025"


def test_sample_keeps_candidate_articles_and_fills_with_others() -> None:
    questions = [{"id": str(i), "candidate_urls": [f"u{i}", f"u{i + 1}"]} for i in range(10)]
    articles = [{"url": f"u{i}", "text": "t"} for i in range(40)]
    chosen, picked = sample(questions, articles, 3, 12, seed=1)
    urls = {a["url"] for a in picked}
    assert len(chosen) == 3 and len(picked) == 12
    assert all(u in urls for q in chosen for u in q["candidate_urls"])
    assert sample(questions, articles, 3, 12, seed=1) == (chosen, picked)  # the seed decides


def test_answer_matching_is_whole_word_and_ignores_quotes_and_dashes() -> None:
    assert contains("It was “open adoption” — they said", '"Open adoption"')
    assert not contains("In 1974 it rained", "74")
    texts = ["nothing", "x", "the answer is Paris", "", "", "", "", "", "", ""]
    assert recall_at(texts, "Paris") == {
        "recall@1": False,
        "recall@5": True,
        "recall@10": True,
        "recall@budget": True,
    }


def test_recall_at_budget_stops_at_five_times_1024_tokens() -> None:
    long = "word " * 3000  # about 3,000 tokens: two of them use up the budget
    texts = [long, long, "the answer is Paris"]
    assert within_budget(texts) == [long]
    assert recall_at(texts, "Paris")["recall@budget"] is False
    assert recall_at(texts, "Paris")["recall@5"] is True


def test_cited_answer_counts_sentences_not_citation_labels() -> None:
    passage = "The prize went to Dawn Smith on Monday."
    citation = make_citation(1, make_passage(passage))
    said = AnswerSentence(text="The prize went to Dawn Smith.", citations=[1])
    answer = Answer(question="q", answer="x", sentences=[said], citations=[citation])
    assert cited_correctly(answer, "Dawn Smith")
    # "Dawn" only in the label "[1: Dawn, 1 Jan 2025]", not in what the answer says: no credit.
    labelled = make_citation(1, make_passage("Dawn reported it.", outlet="Dawn"))
    vague = AnswerSentence(text="Someone reported it.", citations=[1])
    assert not cited_correctly(
        Answer(
            question="q",
            answer=f"Someone reported it. {labelled.marker}",
            sentences=[vague],
            citations=[labelled],
        ),
        "Dawn",
    )


def test_abstention_on_absent_short_answers_is_reported_apart_from_long_ones() -> None:
    def row(answer: str, abstained: bool) -> dict:
        return {"answer": answer, "in_corpus": False, "findable": False, "abstained": abstained}

    rows = [row("Zynyz", True), row("Padua and Tatnall", False)]
    rows += [row("To renovate and modernize the existing community center", False)]
    for r in rows:
        r.update({"ms": 1.0, "cited": None, "lead": False} | {k: False for k in RECALL_KEYS})
    figures = summarise(rows)
    assert figures["answer_nowhere"] == 3 and figures["answer_nowhere_short"] == 2
    assert figures["abstention_nowhere_short"].value == 0.5  # type: ignore[union-attr]


RECALL_KEYS = ("recall@1", "recall@5", "recall@10", "recall@budget")


def test_weeks_normalise_both_date_styles_and_folds_keep_weeks_whole() -> None:
    assert question_week("2025/01/10") == question_week("2025-01-08") == "2025-W02"
    weeks = [question_week(f"2025-0{m}-1{d}") for m in range(1, 7) for d in range(5)]
    folds = grouped_folds(weeks, 3)
    assert sorted(i for fold in folds for i in fold) == list(range(len(weeks)))
    for fold in folds:
        others = {weeks[i] for f in folds if f is not fold for i in f}
        assert not {weeks[i] for i in fold} & others


def test_paired_interval_covers_the_difference() -> None:
    diff = paired_difference([1.0] * 60 + [0.0] * 40, [1.0] * 50 + [0.0] * 50)
    assert diff.low < diff.value == 0.1 < diff.high


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.exists(), reason="shared RealTimeQA data not present")
def test_benchmark_runs_side_by_side_on_a_small_sample(tmp_path: Path) -> None:
    from bench.wiring import realtimeqa_indexing
    from newsdesk.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    indexing = realtimeqa_indexing(settings)
    out = tmp_path / "result.json"
    result = run_benchmark(
        indexing, BENCH / "articles.jsonl", BENCH / "questions.jsonl", 6, 30, 0, True, out, print
    )
    saved = json.loads(out.read_text())
    assert saved == result and set(result) >= {"newsdesk", "plain_llama_index", "cores"}
    recall = result["newsdesk"]["recall@5"]
    assert 0.0 <= recall["low"] <= recall["value"] <= recall["high"] <= 1.0
    assert set(result["difference"]) >= {"recall@1", "recall@5", "recall@budget"}
    reader = result["reader"]["newsdesk + reader"]
    assert set(reader["paired"]["newsdesk"]) == {"cited", "lead"}
    assert "lead_holds_answer" in reader["figures"]


def test_the_ablation_with_every_part_on_is_the_product_retriever(engine) -> None:  # type: ignore[no-untyped-def]
    from bench.ablation import Parts, Recombined
    from rag.types import Filters

    inner = engine.retriever
    for question, filters in [
        ("How long did the last Istanbul session last?", Filters()),
        ("What did Peskov say about NATO?", Filters(as_of="2025-08-28")),
        ("What did Dawn report?", Filters(outlet="Dawn")),
    ]:
        product = inner.search(question, filters, 6, focus=question)
        ablated = Recombined(inner, Parts()).search(question, filters, 6, focus=question)
        assert [p.chunk_id for p in ablated.passages] == [p.chunk_id for p in product.passages]
        assert [p.score for p in ablated.passages] == [p.score for p in product.passages]
        assert ablated.terms == product.terms
        assert set(ablated.timings) == set(product.timings)
    dense_only = Recombined(inner, Parts(keyword=False)).search("Istanbul session", Filters(), 6)
    assert all(p.bm25 is None for p in dense_only.passages)
