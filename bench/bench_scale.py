"""Benchmark how Newsdesk's costs grow with the archive: 1k, 5k, 24k articles of real news.

For each size (the first N articles of ../shared/bench/news-archive), in one run:
  - ingest with an instant embedder (hashed vectors from an OpenAI-compatible server on loopback,
    the tests' scripted server), so the non-model cost is measured: articles/s, chunks/s, peak RSS;
  - Chroma's own write rate for the same chunks and vectors into a fresh collection;
  - index size on disk; a no-change re-ingest;
  - `newsdesk serve --no-ingest` with the default query embedder: ready time, first ask, warm
    ask p50/p95 over 200 questions, total PSS of its processes at ready and after the questions;
  - freshness: another process ingests one new article; seconds until /api/ask cites it.
It ends with where each ingest's time went (the main thread's steps; Chroma's writes overlap them
on a background thread) and how each cost grows per 10x articles.

    python bench/bench_scale.py                       # 1000 and 5000 articles
    python bench/bench_scale.py --sizes 1000 5000 23966
    python bench/bench_scale.py --workers 1000   # only: ingest time with 0, 1 and 2 workers
    python bench/bench_scale.py --sizes 5000 --against ../old   # only: this ingest against
        # another checkout's (`git worktree add ../old COMMIT`), in turn, paired ratios
    python bench/bench_scale.py --sizes 23966 --serve-only DATA_DIR   # only: serving an index
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_serve import newsdesk_command, running_server  # noqa: E402
from bench.processes import free_port  # noqa: E402
from index.writer import MERGED  # noqa: E402
from tests.fixtures.openai_server import ScriptedOpenAI  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "bench" / "news-archive" / "articles-2022-2025.jsonl.gz"
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NEWSDESK_API_TOKEN": "",
    "NEWSDESK_RATE_LIMIT_PER_MINUTE": "1000000",
}


def take(n: int, target: Path, archive: Path = ARCHIVE) -> list[dict[str, Any]]:
    """Write the archive's first n articles to `target` (.jsonl.gz); returns them."""
    records = []
    with gzip.open(archive, "rt", encoding="utf-8") as lines, gzip.open(target, "wt") as out:
        for line in lines:
            if len(records) == n:
                break
            out.write(line)
            records.append(json.loads(line))
    return records


def ingest(data: Path, path: Path, env: dict[str, str]) -> float:
    """Seconds `newsdesk ingest` takes for `path`."""
    return ingest_profiled(data, path, env)[0]


def ingest_profiled(
    data: Path, path: Path, env: dict[str, str], cwd: Path = ROOT
) -> tuple[float, str]:
    """Seconds `newsdesk ingest` takes for `path`, and its line on where the time went."""
    started = time.perf_counter()
    command = [*newsdesk_command(), "ingest", "--quiet", "--data-dir", str(data), str(path)]
    done = subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    return seconds, next((x for x in done.stdout.splitlines() if x.startswith("time:")), "")


def chroma_rate(data: Path, scratch: Path) -> tuple[int, float, float]:
    """(chunks, chunks/s, cores busy) of Chroma's own add() of this index's chunks into a new
    collection; cores busy is CPU time over wall time (Chroma's writer uses several threads)."""
    import chromadb

    source = chromadb.PersistentClient(str(data / "chroma")).get_collection("newsdesk_chunks")
    got: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
    for offset in range(0, source.count(), 5000):  # one get() of 134k rows is too many for SQLite
        page = source.get(
            include=["documents", "metadatas", "embeddings"], limit=5000, offset=offset
        )
        for key, values in got.items():
            values.extend(page[key])  # type: ignore[literal-required]
    target = chromadb.PersistentClient(str(scratch)).create_collection(
        "copy", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    batch = MERGED  # the most the ingest's writer adds at once
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(got["ids"]), batch):
        target.add(
            ids=got["ids"][i : i + batch],
            documents=got["documents"][i : i + batch],
            metadatas=got["metadatas"][i : i + batch],
            embeddings=got["embeddings"][i : i + batch],
        )
    wall = time.perf_counter() - started
    return len(got["ids"]), len(got["ids"]) / wall, (time.process_time() - cpu) / wall


def tree_pss_mib(pid: int) -> float:
    """Total PSS of a process and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += next(int(x.split()[1]) for x in rollup.splitlines() if x.startswith("Pss:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration):
            continue
    return total / 1024


def ask(client: httpx.Client, base: str, question: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post(f"{base}/api/ask", json={"question": question})
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


def questions(records: list[dict[str, Any]], n: int) -> list[str]:
    """Questions about articles of the archive, asked the way a reader would."""
    titles = [r.get("title") or "" for r in records if (r.get("title") or "").strip()]
    step = max(1, len(titles) // n)
    return [f"What happened: {t}?" for t in titles[::step][:n]]


def serve_costs(
    data: Path, records: list[dict[str, Any]], env: dict[str, str], embed_env: dict[str, str]
) -> dict[str, Any]:
    """Ready time, first and warm asks, PSS, and freshness of a running `newsdesk serve`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    with (
        open(data.parent / "serve.log", "w") as log,
        running_server(data, port, env, log) as (proc, ready),
        httpx.Client(timeout=120) as client,
    ):
        out["ready_s"] = ready
        out["pss_ready_mib"] = tree_pss_mib(proc.pid)
        asked = questions(records, 201)
        out["first_ask_ms"] = ask(client, base, asked[0])[0] * 1e3
        answered = [ask(client, base, q) for q in asked[1:]]
        warm = sorted(seconds * 1e3 for seconds, _ in answered)
        out["warm_p50_ms"] = statistics.median(warm)
        out["warm_p95_ms"] = warm[max(0, round(0.95 * len(warm)) - 1)]
        out["steps_p50_ms"] = steps([body.get("timings", {}) for _, body in answered])
        out["pss_after_mib"] = tree_pss_mib(proc.pid)
        out["fresh_s"] = freshness(data, client, base, embed_env)
    return out


def steps(timings: list[dict[str, float]]) -> dict[str, float]:
    """Median milliseconds of each step the engine reports (what HTTP does not explain)."""
    names = sorted({name for t in timings for name in t})
    return {n: round(statistics.median(t.get(n, 0.0) for t in timings), 1) for n in names}


FRESH = (
    "Quokka Festival Draws Record Crowds\n\nThe annual quokka festival on Rottnest Island drew a "
    "record 48,213 visitors this weekend, organisers of the zorblatt parade said on Sunday."
)


def freshness(data: Path, client: httpx.Client, base: str, env: dict[str, str]) -> float:
    """Seconds from another process committing one new article to /api/ask citing it."""
    folder = data.parent / "fresh"
    folder.mkdir(exist_ok=True)
    (folder / "quokka.txt").write_text(FRESH)
    ingest(data, folder, env)
    committed = time.perf_counter()
    while time.perf_counter() - committed < 60:
        _, body = ask(client, base, "How many visitors did the zorblatt quokka festival draw?")
        if "48,213" in body.get("answer", ""):
            return time.perf_counter() - committed
        time.sleep(0.1)
    return math.inf


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def measure(
    n: int, work: Path, embed_env: dict[str, str], serve_env: dict[str, str], archive: Path
) -> dict:
    """Every figure for one archive size."""
    data, source = work / "data", work / "archive.jsonl.gz"
    records = take(n, source, archive)
    row: dict[str, Any] = {"articles": len(records)}
    before = _children_cpu()
    row["ingest_s"], row["ingest_profile"] = ingest_profiled(data, source, embed_env)
    row["ingest_cores"] = (_children_cpu() - before) / row["ingest_s"]  # with its workers
    row["ingest_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"ingest only": row}), flush=True)  # kept even if a later step fails
    row["chunks"], row["chroma_chunks_per_s"], row["chroma_cores"] = chroma_rate(
        data, work / "chroma-copy"
    )
    row["chunks_per_s"] = row["chunks"] / row["ingest_s"]
    row["articles_per_s"] = row["articles"] / row["ingest_s"]
    row["vs_chroma"] = row["chunks_per_s"] / row["chroma_chunks_per_s"]
    row["disk_mib"] = disk_mib(data)
    row["keyword_disk_mib"] = disk_mib(data / "keyword")
    row["reingest_s"] = ingest(data, source, embed_env)
    row.update(serve_costs(data, records, serve_env, embed_env))
    return row


COLUMNS = [
    ("articles", "{:.0f}"),
    ("chunks", "{:.0f}"),
    ("articles_per_s", "{:.1f}"),
    ("chunks_per_s", "{:.0f}"),
    ("chroma_chunks_per_s", "{:.0f}"),
    ("vs_chroma", "{:.2f}"),
    ("chroma_cores", "{:.2f}"),
    ("ingest_cores", "{:.2f}"),
    ("ingest_peak_rss_mib", "{:.0f}"),
    ("disk_mib", "{:.0f}"),
    ("keyword_disk_mib", "{:.0f}"),
    ("reingest_s", "{:.1f}"),
    ("ready_s", "{:.1f}"),
    ("pss_ready_mib", "{:.0f}"),
    ("pss_after_mib", "{:.0f}"),
    ("first_ask_ms", "{:.0f}"),
    ("warm_p50_ms", "{:.1f}"),
    ("warm_p95_ms", "{:.1f}"),
    ("fresh_s", "{:.2f}"),
]


def alternate(
    n: int, variants: dict[str, dict[str, str]], rounds: int, archive: Path = ARCHIVE
) -> dict[str, list[tuple[float, str]]]:
    """Ingest seconds (and where the time went) of n articles with each variant's environment,
    in turn, reversing the order every round so drift cancels. Every run starts in a scratch
    folder, so no checkout's `.env` applies to one side only."""
    runs: dict[str, list[tuple[float, str]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="alternate-") as work:
        source = Path(work) / "archive.jsonl.gz"
        take(n, source, archive)
        for i in range(rounds):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for name in order:
                data = Path(work) / f"data-{name}-{i}"
                runs[name].append(ingest_profiled(data, source, variants[name], Path(work)))
                shutil.rmtree(data)
    return runs


def compare_workers(n: int, embed_env: dict[str, str], archive: Path, rounds: int = 2) -> None:
    """Ingest seconds of n articles prepared in-process and on 1 and 2 worker processes."""
    variants = {w: {**embed_env, "NEWSDESK_INGEST_WORKERS": w} for w in ("0", "1", "2")}
    runs = alternate(n, variants, rounds, archive)
    print(f"\ningest of {n} articles, {os.cpu_count()} cores, instant embedder, {rounds} rounds")
    for workers, done in runs.items():
        print(f"  workers={workers}: " + ", ".join(f"{s:.1f} s" for s, _ in done))
        print(f"    last run's {done[-1][1]}")


def compare_checkouts(
    n: int, other: Path, embed_env: dict[str, str], pairs: int, archive: Path
) -> None:
    """Ingest of n articles by this checkout and by another Newsdesk source tree, in turn, with
    the ratio of each pair (this / other): wall seconds and the writer's Chroma seconds."""
    trees = {"this": ROOT, "other": other.resolve()}
    variants = {name: {**embed_env, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
    for name, tree in trees.items():
        print(f"{name}: {_code_of(tree, variants[name])}")
    runs = alternate(n, variants, pairs, archive)
    print(f"\ningest of {n} articles, {os.cpu_count()} cores, instant embedder: this checkout")
    print(f"against {trees['other']}, {pairs} pairs in alternating order")
    for (mine, my_steps), (theirs, their_steps) in zip(runs["this"], runs["other"], strict=True):
        theirs_writes = _chroma_seconds(their_steps)
        writes = _chroma_seconds(my_steps) / theirs_writes if theirs_writes else math.nan
        print(f"  {mine:.1f} s / {theirs:.1f} s = {mine / theirs:.3f}; Chroma writes {writes:.3f}")
    ratios = [a / b for (a, _), (b, _) in zip(runs["this"], runs["other"], strict=True)]
    print(f"median ratio {statistics.median(ratios):.3f} (below 1: this checkout is faster)")


def _code_of(tree: Path, env: dict[str, str]) -> str:
    """The folder whose code an ingest with `env` runs; exits unless it is `tree` itself (an
    editable install would otherwise quietly stand in for anything the tree lacks)."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import index.store as s, newsdesk.cli as c; print(s.__file__); print(c.__file__)",
        ],
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    found = [Path(f) for f in probe.stdout.splitlines()]
    if probe.returncode or found != [tree / "index" / "store.py", tree / "newsdesk" / "cli.py"]:
        sys.exit(f"{tree} is not a Newsdesk source tree (`git worktree add DIR COMMIT` makes one)")
    return str(tree)


def _chroma_seconds(steps: str) -> float:
    found = re.search(r"Chroma writes \(background\) ([\d.]+)s", steps)
    return float(found.group(1)) if found else math.nan


def report(rows: list[dict[str, Any]]) -> None:
    print(f"\nscale benchmark, {os.cpu_count()} cores; index by an instant embedder")
    print("| " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(fmt.format(row[name]) for name, fmt in COLUMNS) + " |")
    for row in rows:
        print(f"engine steps, p50 ms, {row['articles']} articles: {row['steps_p50_ms']}")
        print(
            f"ingest of {row['articles']} articles, {row['ingest_s']:.0f}s: {row['ingest_profile']}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        decades = math.log10(last["articles"] / first["articles"])
        growth = {
            name: (last[name] / first[name]) ** (1 / decades)
            for name, _ in COLUMNS[3:]
            if first[name] and math.isfinite(last[name])
        }
        print("\ngrowth per 10x articles: " + ", ".join(f"{k} x{v:.2f}" for k, v in growth.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--workers", type=int, default=0, help="only compare ingest workers")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="only: ingest of the first --sizes articles by this checkout and by CHECKOUT",
    )
    parser.add_argument("--pairs", type=int, default=3, help="runs of each, with --against")
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="articles, .jsonl.gz")
    parser.add_argument(
        "--serve-only",
        type=Path,
        metavar="DATA_DIR",
        help="only the serving figures, on an index of the first --sizes articles built before",
    )
    args = parser.parse_args()
    rows = []
    with ScriptedOpenAI() as instant:
        embed_env = {
            **os.environ,
            **OFFLINE,
            "NEWSDESK_EMBED_BACKEND": "openai",
            "NEWSDESK_EMBED_BASE_URL": instant.base_url,
            "NEWSDESK_EMBED_MODEL": "instant",
            "NEWSDESK_EMBED_BATCH_SIZE": "256",
        }
        if args.workers:
            compare_workers(args.workers, embed_env, args.archive)
            return
        if args.against:
            compare_checkouts(args.sizes[0], args.against, embed_env, args.pairs, args.archive)
            return
        serve_env = {**os.environ, **OFFLINE}
        if args.serve_only:
            with tempfile.TemporaryDirectory(prefix="serve-") as work:
                records = take(args.sizes[0], Path(work) / "archive.jsonl.gz", args.archive)
                row = {
                    "articles": len(records),
                    **serve_costs(args.serve_only, records, serve_env, embed_env),
                }
            print(json.dumps(row))
            return
        for n in args.sizes:
            with tempfile.TemporaryDirectory(prefix=f"scale-{n}-") as work:
                rows.append(measure(n, Path(work), embed_env, serve_env, args.archive))
                print(json.dumps(rows[-1]), flush=True)
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
