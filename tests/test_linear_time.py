"""Ingest's text work grows linearly with the input, whatever its shape, and its results hold.

Each case times one article through HTML extraction (HTML inputs), cleaning and chunking at
0.25 MB and at 1 MB: four times the input may take at most six times as long (quadratic work
takes sixteen). CPU-time medians of three interleaved runs, measured again once when the
first ratio is over the bound, keep a shared 2-core machine's noise out.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import chunk_text, count_tokens
from index.cleaning import clean_text
from index.html import html_to_text
from index.html_meta import _ld_fields
from tests.conftest import CORPUS

SMALL, LARGE = 250_000, 1_000_000
BOUND = 6.0  # for 4x the input
SENTENCE = (
    "The council met again on Tuesday to discuss the budget for the coming year "
    "and the mayor said the plan was sound. "
)


def repeated(unit: str, size: int, head: str = "") -> str:
    """`unit` repeated after `head` to `size` characters."""
    body = size - len(head)
    return head + (unit * (body // max(len(unit), 1) + 1))[:body]


def numbered(template: str, size: int) -> str:
    """Numbered copies of `template`: cleaning keeps one of a run of identical lines."""
    parts, total, n = [], 0, 0
    while total < size:
        parts.append(template.format(n=n))
        total += len(parts[-1])
        n += 1
    return "".join(parts)[:size]


def nested_divs(size: int) -> str:
    depth = (size - 200) // len("<div></div>")
    return "<html><body>" + "<div>" * depth + SENTENCE + "</div>" * depth + "</body></html>"


def ingest_work(page: str, html: bool) -> None:
    """What ingest does with one article's text."""
    text = html_to_text(page)[0] if html else page
    chunk_text(clean_text(text).text, 400, 80, limit=None)


def cpu_seconds(page: str, html: bool) -> float:
    start = time.process_time()
    ingest_work(page, html)
    return time.process_time() - start


def growth(make: Callable[[int], str], html: bool = False) -> float:
    """Time for LARGE characters over time for SMALL (measured twice when over the bound)."""
    small, large = make(SMALL), make(LARGE)
    count_tokens("warm up")
    ingest_work(small, html)  # the tokenizer, word lists and caches load outside the timings
    ratio = float("inf")
    for _ in range(2):
        runs = [(cpu_seconds(small, html), cpu_seconds(large, html)) for _ in range(3)]
        low = max(statistics.median(r[0] for r in runs), 1e-3)
        ratio = min(ratio, statistics.median(r[1] for r in runs) / low)
        if ratio <= BOUND:
            break
    return ratio


SHAPES: dict[str, tuple[Callable[[int], str], bool]] = {
    "prose with no line breaks": (lambda n: repeated(SENTENCE, n), False),
    "one word without spaces": (lambda n: repeated("council", n), False),
    "paragraphs": (lambda n: numbered("Item {n}: " + SENTENCE * 4 + "\n\n", n), False),
    "an unclosed quotation": (lambda n: repeated(SENTENCE, n, head='He said: "'), False),
    "a run of !": (lambda n: repeated("!", n, head="Stop"), False),
    "a run of -": (lambda n: repeated("-", n), False),
    "a run of - -": (lambda n: repeated("- ", n), False),
    "hyphen-broken words": (lambda n: repeated("Wed-nesday ", n), False),
    "deeply nested divs": (nested_divs, True),
    "unclosed tags": (lambda n: repeated("<a", n, head="<html><body><p>x</p>"), True),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_takes_linear_time(shape: str) -> None:
    make, html = SHAPES[shape]
    ratio = growth(make, html)
    assert ratio <= BOUND, f"4x the input took {ratio:.1f}x the time"


_WORD = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzAEIKMQRUZ0129-'’.é"), min_size=1, max_size=12
)
_END = st.sampled_from(["", ".", "!", "?", "…", '."', "”.", "!!!", "---", " -"])


@settings(
    max_examples=3, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    words=st.lists(_WORD, min_size=1, max_size=10), end=_END, gap=st.sampled_from(["", " ", "\n"])
)
def test_any_repeated_sentence_takes_linear_time(words: list[str], end: str, gap: str) -> None:
    unit = " ".join(words) + end + gap
    assert growth(lambda n: repeated(unit, n)) <= BOUND, repr(unit)


_TAGS = """<div> </div> <p> </p> <b> <br> <nav> </nav> <article> <!--c--> <!-- <a </ &amp;
    &#8217; text Wed-nesday <script> </script>""".split()
_TAG = st.sampled_from([*_TAGS, "\n", " "])


@settings(
    max_examples=2, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(parts=st.lists(_TAG, min_size=1, max_size=8))
def test_any_repeated_markup_takes_linear_time(parts: list[str]) -> None:
    unit = "".join(parts)
    assert growth(lambda n: repeated(unit, n, head="<html><body>"), html=True) <= BOUND, repr(unit)


# --- the results are the ones the quadratic code gave ---------------------------------------

_MARKUPS = """<p> </p> <div> </div> <span> <b> </b> <br> <br/> </br> <hr> <img> <h1> </h1> <title>
    </title> <article> </article> <main> <body> </body> <html> <nav> </nav> <header> <footer>
    <aside> <script> </script> <style> <template> </template> <rt> <pre> </pre> <textarea>
    <figure> <li> <ul> <table> <tr> <td> <form> <button> <!--c--> <![CDATA[cd]]> <?pi?> <!-- <a
    </ &amp; &nbsp; &#8217; &#150; &#0; &bogus; & < > hello world -->""".split()
_MARKUP = st.sampled_from(
    [
        *_MARKUPS,
        " ",
        "\n",
        "\r",
        "\t",
        "\xa0",
        "<!DOCTYPE html>",
        "<time datetime>",
        "<time datetime='2024-05-06'>",
        "<link rel='canonical x' href=/u>",
        "<meta property='og:title' content=' T '>",
        "<meta name=date content=2021-01-02>",
        '<script type="application/ld+json">',
        '{"headline": "H", "datePublished": "2020"}',
    ]
)
_DROP = "script style noscript nav header footer aside form iframe svg button figure".split()
_BLOCK = "p div h1 h2 h3 h4 h5 h6 li br tr section article blockquote pre dd dt".split()
_META = {
    "og:site_name": "site_name",
    "og:title": "title",
    "og:url": "url",
    "article:published_time": "published",
    "datepublished": "published",
    "pubdate": "published",
    "date": "published",
    "author": "author",
    "article:author": "author",
}


def soup_to_text(html: str) -> tuple[str, dict[str, Any]]:
    """html_to_text as it was, with BeautifulSoup (quadratic in the nesting depth)."""
    soup = BeautifulSoup(html, "html.parser")
    fields = soup_fields(soup)
    root = soup.find("article") or soup.find("main") or soup.body
    if root is None:
        return "", fields
    for tag in root.find_all(_DROP):
        tag.decompose()
    for tag in root.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in root.get_text().splitlines())
    return "\n".join(line for line in lines if line), fields


def soup_fields(soup: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for meta in soup.find_all("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _META and meta.get("content") and _META[key] not in fields:
            fields[_META[key]] = meta["content"].strip()
    for script in soup.find_all("script", type="application/ld+json"):
        _ld_fields(script.string or "", fields)
    if "title" not in fields and (h1 := soup.find("h1")):
        fields["title"] = h1.get_text(" ", strip=True)
    if "title" not in fields and soup.title and soup.title.string:
        fields["title"] = soup.title.string.strip()
    if "published" not in fields and (tag := soup.find("time", datetime=True)):
        fields["published"] = tag["datetime"]
    if "url" not in fields and (link := soup.find("link", rel="canonical")):
        fields["url"] = link.get("href")
    return fields


PAGE = """<!DOCTYPE html><html><head><title> A &amp; B </title>
<link rel="canonical" href="https://example.org/a"><style>p { color: red }</style>
<script type="application/ld+json">{"headline": "LD", "publisher": {"name": "Pub"}}</script>
</head><body><header><div>Logo</div><nav><ul><li>Home</li><li>World</li></ul></nav></header>
<main><div class="story"><h2>Sub</h2><p>One&nbsp;with &mdash; and &#8217;quotes&#x2019; &amp</p>
<figure><img src=x><figcaption>Caption</figcaption></figure><p>Two <b>bold</b><br>after<br/>br</p>
<script>var x = "<p>no</p>";</script><aside>Related</aside><ul><li>one<li>two</ul>
<pre>  keep   spaces
  here</pre><table><tr><td>a</td><td>b</td></tr></table><form><button>Go</button></form>
<!-- comment --><template><p>template</p></template></div></main><footer>(c) 2025</footer>
</body></html>"""


def test_a_page_with_furniture_reads_as_beautifulsoup_read_it() -> None:
    assert html_to_text(PAGE) == soup_to_text(PAGE)
    assert html_to_text(PAGE)[0].splitlines()[:3] == [
        "Sub",
        "One\xa0with — and ’quotes’ &",
        "Two bold",
    ]


@settings(max_examples=400, deadline=None, database=None)
@given(parts=st.lists(_MARKUP, max_size=40))
def test_any_markup_reads_as_beautifulsoup_read_it(parts: list[str]) -> None:
    page = "".join(parts)
    assert html_to_text(page) == soup_to_text(page)


def test_chunks_of_the_seed_articles_are_the_ones_they_were() -> None:
    """Spans and token counts as chunked before the linear-time rewrite, for three sizes."""
    spans = []
    for path in sorted(CORPUS.glob("*.txt")):
        text = clean_text(path.read_text(encoding="utf-8")).text
        for size, overlap in ((400, 80), (64, 16), (32, 0)):
            spans.append([(c.start, c.end, c.tokens) for c in chunk_text(text, size, overlap)])
    digest = hashlib.sha256(json.dumps(spans).encode()).hexdigest()
    assert digest == "aae0b9727f995f6741a3877ef65cc332870c3ead360f6fa52d7e157745c2b1e8"


def test_only_the_first_part_of_a_huge_article_is_chunked() -> None:
    text = repeated(SENTENCE, 3_000)
    chunks = chunk_text(text, 64, 0, limit=1_000)
    assert chunks[0].start == 0 and 900 < chunks[-1].end <= 1_000
    assert chunk_text(text, 64, 0, limit=None)[-1].end == len(text.rstrip())
