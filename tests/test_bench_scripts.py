"""The benchmark scripts still run against the current code (they are not run in CI otherwise)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent


def _run_script(name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_the_ingest_bench_ingests_each_repeat_into_a_fresh_index_and_reports_its_share(
    tmp_path: Path,
) -> None:
    source = tmp_path / "articles.jsonl"
    records = [
        {"url": f"https://example.com/{p.stem}", "title": p.stem, "text": p.read_text()}
        for p in sorted(CORPUS.glob("*.txt"))[:3]
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    args = ["--articles", "3", "--repeat", "2", "--source", str(source)]
    done = _run_script("bench_ingest.py", args)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["chunks"] > 0 and figures["reingest_embedded_chunks"] == 0
    assert all(rate > 0 for rate in figures["pipeline_chunks_per_s"])  # both repeats ingested
    assert figures["pipeline_share_of_raw_median"] > 0


def _tiny_realtimeqa(folder: Path) -> tuple[Path, Path]:
    """The seed corpus as RealTimeQA articles, and questions over it in two weeks."""
    articles = folder / "articles.jsonl"
    rows = [
        {"url": f"https://example.com/{p.stem}", "title": p.stem, "text": p.read_text()}
        for p in sorted(CORPUS.glob("*.txt"))
    ]
    articles.write_text("".join(json.dumps(r) + "\n" for r in rows))
    asked = [
        ("Who is the Kremlin spokesman?", "Dmitry Peskov", True, "2025/09/12"),
        ("In which city did negotiators hold direct talks?", "Istanbul", True, "2025/09/12"),
        ("Which country rejects European peacekeeping troops?", "Russia", True, "2025-08-27"),
        ("Who won the Tour de France this year?", "Tadej Pogacar", False, "2025-08-27"),
    ]
    questions = folder / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps(
                {"id": str(i), "question": q, "answer": a, "answer_in_corpus": found}
                | {"question_date": day, "candidate_urls": [r["url"] for r in rows]}
            )
            + "\n"
            for i, (q, a, found, day) in enumerate(asked)
        )
    )
    return articles, questions


def test_the_answer_probes_score_every_probe_out_of_fold_on_the_bench_index(
    tmp_path: Path,
) -> None:
    articles, questions = _tiny_realtimeqa(tmp_path)
    args = ["--articles", str(articles), "--questions", str(questions), "--cv", "2"]
    done = _run_script("answer_probes.py", [*args, "--data-dir", str(tmp_path / "d")])
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert "3 answerable" in done.stdout
    assert next(iter(figures["probes"])) == "shipped" and "listwise fit" in figures["probes"]
    for probe in ("+ head_noun_near_name", "boosted trees", "per-question weights"):
        assert 0.0 <= figures["probes"][probe]["cited"]["value"] <= 1.0
    shipped = figures["probes"]["shipped"]
    assert 0.0 <= shipped["cited"]["low"] <= shipped["cited"]["value"] <= 1.0
    assert shipped["vs_shipped"]["value"] == 0.0
    # The Kremlin spokesman is named in the corpus: some candidate sentence states him.
    assert figures["ceiling"] > 0.0


def test_the_fusion_probe_scores_a_learned_order_with_tail_vectors_against_rrf_out_of_fold(
    tmp_path: Path,
) -> None:
    articles, questions = _tiny_realtimeqa(tmp_path)
    args = ["--articles", str(articles), "--questions", str(questions), "--cv", "2"]
    more = ["--data-dir", str(tmp_path / "d"), "--as-of", "--tail-vectors"]
    done = _run_script("fusion_probes.py", [*args, *more])
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert "3 answerable questions" in done.stdout
    assert re.search(r"folds with a learned order: [12] of 2", done.stdout)
    assert re.search(r"tail vectors: [1-9]\d* of \d+ pooled chunks", done.stdout)
    assert list(figures) == ["recall@1", "recall@5", "recall@10"]
    for row in figures.values():
        assert 0.0 <= row["rrf"]["value"] <= 1.0 and 0.0 <= row["learned"]["value"] <= 1.0
    # The seed corpus holds every answerable answer within the first ten passages.
    assert figures["recall@10"]["rrf"]["value"] == 1.0


def _tiny_archive(folder: Path) -> Path:
    archive = folder / "archive.jsonl.gz"
    with gzip.open(archive, "wt") as out:
        for p in sorted(CORPUS.glob("*.txt"))[:2]:
            out.write(json.dumps({"url": f"https://example.com/{p.stem}", "text": p.read_text()}))
            out.write("\n")
    return archive


def test_the_scale_bench_pairs_this_checkouts_ingest_with_another_checkouts(
    tmp_path: Path,
) -> None:
    archive = _tiny_archive(tmp_path)
    other = tmp_path / "other"
    for package in ("index", "rag", "evals", "ui", "prompts", "newsdesk"):
        shutil.copytree(ROOT / package, other / package, ignore=shutil.ignore_patterns("*.pyc"))
    args = ["--sizes", "2", "--pairs", "2", "--archive", str(archive), "--against", str(other)]
    done = _run_script("bench_scale.py", args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"this: {ROOT}\nother: {other}\n" in done.stdout  # each side ran its own code
    assert len(re.findall(r"= \d\.\d{3}; Chroma writes (\d\.\d{3}|nan)", done.stdout)) == 2
    assert "median ratio" in done.stdout

    (other / "newsdesk" / "cli.py").unlink()  # the editable install would stand in for it
    elsewhere = _run_script("bench_scale.py", args)
    assert elsewhere.returncode != 0 and "is not a Newsdesk source tree" in elsewhere.stderr


def test_the_engine_examples_label_the_candidates_the_reader_receives_and_the_blend_reads_them(
    tmp_path: Path,
) -> None:
    articles, questions = _tiny_realtimeqa(tmp_path)
    examples = tmp_path / "engine.jsonl"
    args = ["--articles", str(articles), "--questions", str(questions), "--out", str(examples)]
    done = _run_module("bench.engine_examples", [*args, "--data-dir", str(tmp_path / "d")])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in examples.read_text().splitlines()]
    assert [r["question"] for r in rows][:1] == ["Who is the Kremlin spokesman?"]
    kremlin = rows[0]["candidates"]
    # Ordered by the sentence model, and the sentence naming Peskov is labelled as the answer.
    assert [c["overlap"] for c in kremlin] == sorted((c["overlap"] for c in kremlin), reverse=True)
    assert any(c["label"] and "Peskov" in c["text"] for c in kremlin)
    assert not any(c["label"] for c in rows[3]["candidates"])  # the Tour de France is not there
    out = tmp_path / "blend.json"
    blend = ["--examples", str(examples), "--from", "2025", "--questions", str(questions)]
    done = _run_module("bench.reader_blend", [*blend, "--json", str(out)])
    assert done.returncode == 0, done.stderr[-2000:]
    figures = next(iter(json.loads(out.read_text())["readers"].values()))
    assert set(figures["abstention"]) == {"reader", "model", "both"}
    table = figures["table"]
    # Weight 0 is the model's own order: no difference from it, whatever the cap.
    assert table["cap 12, weight 0.0"]["value"] == 0.0
    assert all(0.0 <= row["lead"] <= 1.0 for row in table.values())


def test_the_abstention_probe_scores_todays_rule_and_each_gate_out_of_fold(
    tmp_path: Path,
) -> None:
    articles, questions = _tiny_realtimeqa(tmp_path)
    out = tmp_path / "abstain.json"
    args = ["--articles", str(articles), "--questions", str(questions), "--cv", "2"]
    done = _run_module(
        "bench.abstain_probe", [*args, "--data-dir", str(tmp_path / "d"), "--json", str(out)]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["questions"]["answerable"] == 3 and figures["questions"]["not_in_articles"] == 1
    assert set(figures["signals"]) == {
        "coverage margin",
        "model's best",
        "rule and model",
        "all signals",
    }
    for table in figures["signals"].values():
        assert set(table) == {"5%", "8%", "10%"}
        assert all(0.0 <= v <= 1.0 for row in table.values() for v in row.values())
    assert all(0.0 <= v <= 1.0 for v in figures["today"].values())


def test_an_abstention_gate_scores_each_fold_without_its_labels() -> None:
    import numpy as np

    from bench.abstain_probe import gate_scores

    rng = np.random.default_rng(0)
    rows = [{"x": float(v)} for v in rng.normal(size=40)]
    labels = np.array([r["x"] > 0 for r in rows])
    folds = [list(range(0, 20)), list(range(20, 40))]
    flipped = labels.copy()
    flipped[20:] = ~flipped[20:]
    before, after = (
        gate_scores(rows, labels, ["x"], folds),
        gate_scores(rows, flipped, ["x"], folds),
    )
    assert np.allclose(before[20:], after[20:])  # the fold's own labels never reach its scores
    assert not np.allclose(before[:20], after[:20])  # the other fold's labels do
    one_kind = gate_scores(rows, np.ones(40, dtype=bool), ["x"], folds)
    assert np.allclose(one_kind, 1.0)  # nothing to tell apart: every question scores its rate


def _run_module(name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", name, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
