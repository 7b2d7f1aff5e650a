"""The RealTimeQA benchmark: sampling, answer matching, and (slow) a real run on a small sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.realtimeqa import contains, recall_at, run_benchmark, sample
from tests.conftest import ROOT

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
    assert recall_at(
        ["nothing", "x", "the answer is Paris", "", "", "", "", "", "", ""], "Paris"
    ) == {
        1: False,
        5: True,
        10: True,
    }


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.exists(), reason="shared RealTimeQA data not present")
def test_benchmark_runs_side_by_side_on_a_small_sample(tmp_path: Path) -> None:
    from newsdesk.evaluation import realtimeqa_indexing
    from newsdesk.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    indexing = realtimeqa_indexing(settings)
    out = tmp_path / "result.json"
    result = run_benchmark(
        indexing, BENCH / "articles.jsonl", BENCH / "questions.jsonl", 6, 30, 0, True, out, print
    )
    saved = json.loads(out.read_text())
    assert saved == result and set(result) >= {"newsdesk", "plain_llama_index", "cores"}
    assert 0.0 <= result["newsdesk"]["answer_recall@5"] <= 1.0
