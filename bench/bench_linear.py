"""Ingest's text work per MB for 1 MB and 4 MB of each awkward input shape.

Times HTML extraction (for the HTML shapes), cleaning and chunking (which splits sentences)
of one article, as `newsdesk ingest` runs them, in CPU seconds (the fastest of --repeat runs,
as other work on the machine only ever slows a run down). Linear work gives the same
seconds per MB at both sizes: a ratio t(4 MB) / t(1 MB) of about 4. Chunking runs with the
per-article cap lifted (`limit=None`) so that the 4 MB figure measures the algorithm.

    python bench/bench_linear.py                 # 1 MB and 4 MB of every shape
    python bench/bench_linear.py --sizes 0.05 0.2 --shape prose-one-line
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from index.chunking import MAX_CHUNKED_CHARS, chunk_text, count_tokens
from index.cleaning import clean_text
from index.html import html_to_text

SENTENCE = (
    "The council met again on Tuesday to discuss the budget for the coming year "
    "and the mayor said the plan was sound. "
)


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """`unit` repeated to `size` characters in all, between `head` and `tail`."""
    body = size - len(head) - len(tail)
    return head + (unit * (body // len(unit) + 1))[:body] + tail


def _numbered(template: str, size: int, head: str = "") -> str:
    """Numbered copies of `template` to `size` characters: cleaning drops repeated lines."""
    parts, total, n = [head], len(head), 0
    while total < size:
        parts.append(template.format(n=n))
        total += len(parts[-1])
        n += 1
    return "".join(parts)[:size]


def _nested(size: int) -> str:
    depth = (size - 200) // len("<div></div>")
    return "<html><body>" + "<div>" * depth + SENTENCE + "</div>" * depth + "</body></html>"


# name -> (is HTML, builder of `size` characters)
SHAPES: dict[str, tuple[bool, Callable[[int], str]]] = {
    "prose-one-line": (False, lambda n: _fill(SENTENCE, n)),
    "one-word-no-spaces": (False, lambda n: _fill("council", n)),
    "paragraphs": (False, lambda n: _numbered("Item {n}: " + SENTENCE * 4 + "\n\n", n)),
    "open-quote-one-line": (False, lambda n: _fill(SENTENCE, n, head='He said: "')),
    "bangs": (False, lambda n: _fill("!", n, head="Stop")),
    "dashes": (False, lambda n: _fill("-", n)),
    "spaced-dashes": (False, lambda n: _fill("- ", n)),
    "hyphen-broken-words": (False, lambda n: _fill("Wed-nesday ", n)),
    "deep-divs": (True, _nested),
    "html-paragraphs": (True, lambda n: _numbered(f"<p>{{n}}: {SENTENCE}</p>\n", n, "<body>")),
    "unclosed-tags": (True, lambda n: _fill("<a", n, "<html><body><p>x</p>")),
}


def stages(html: bool, page: str) -> dict[str, float]:
    """CPU seconds of each stage of one article."""
    times: dict[str, float] = {}
    start = time.process_time()
    text = html_to_text(page)[0] if html else page
    times["html"] = time.process_time() - start
    start = time.process_time()
    cleaned = clean_text(text).text
    times["clean"] = time.process_time() - start
    start = time.process_time()
    chunk_text(cleaned, 400, 80, limit=None)
    times["chunk"] = time.process_time() - start
    return times


def main() -> None:
    """Print seconds per MB at each size, and the ratio of the largest to the smallest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 4.0], help="MB")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="repeatable")
    parser.add_argument("--repeat", type=int, default=2, help="runs a size; the fastest counts")
    parser.add_argument("--give-up", type=float, default=300.0, help="skip bigger sizes after")
    args = parser.parse_args()
    count_tokens("warm up")  # the tokenizer and word lists load outside the timings
    clean_text("Wed-nesday")
    sizes = sorted(args.sizes)
    print(f"cores: {os.cpu_count()}  (CPU seconds; chunking cap of {MAX_CHUNKED_CHARS:,} lifted)")
    heads = "".join(f"{f's/MB @{s:g}MB':>13}" for s in sizes)
    print(f"{'shape':22}{heads}{'ratio':>8}   stages at {sizes[-1]:g} MB (s/MB)")
    for name in args.shape or SHAPES:
        _row(name, sizes, args.repeat, args.give_up)


def _row(name: str, sizes: list[float], repeat: int, give_up: float) -> None:
    html, build = SHAPES[name]
    totals: list[float] = []
    last: dict[str, float] = {}
    for mb in sizes:
        if totals and totals[-1] > give_up:
            break
        page = build(int(mb * 1_000_000))
        runs = [stages(html, page) for _ in range(repeat)]
        last = min(runs, key=lambda run: sum(run.values()))
        totals.append(sum(last.values()))
    cells = "".join(f"{t / mb:13.3f}" for t, mb in zip(totals, sizes, strict=False))
    cells += "".join(f"{'(skipped)':>13}" for _ in sizes[len(totals) :])
    ratio = f"{totals[-1] / totals[0]:8.1f}" if len(totals) == len(sizes) else f"{'-':>8}"
    mb = sizes[len(totals) - 1]
    parts = "  ".join(f"{k} {v / mb:.3f}" for k, v in last.items() if k != "html" or html)
    print(f"{name:22}{cells}{ratio}   {parts}", flush=True)


if __name__ == "__main__":
    main()
