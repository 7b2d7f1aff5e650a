"""The benchmark scripts still run against the current code (they are not run in CI otherwise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent


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
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_ingest.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["chunks"] > 0 and figures["reingest_embedded_chunks"] == 0
    assert all(rate > 0 for rate in figures["pipeline_chunks_per_s"])  # both repeats ingested
    assert figures["pipeline_share_of_raw_median"] > 0
