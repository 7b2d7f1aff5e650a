"""Metadata from the seed articles' own text, from structured fields, and from manifests."""

from __future__ import annotations

from datetime import date

import pytest

from index.cleaning import clean_text
from index.loading import html_to_text, read_file
from index.manifest import apply_manifest, load_manifest
from index.metadata import ArticleMeta, from_fields, from_text, outlet_from_url, parse_date
from index.prepare import article_meta
from tests.conftest import CORPUS


def extracted(prefix: str) -> ArticleMeta:
    path = next(CORPUS.glob(f"{prefix}_*.txt"))
    source = next(iter(read_file(path, CORPUS, 10**8)))
    assert not hasattr(source, "reason")
    return article_meta(source, clean_text(source.raw).text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prefix", "outlet", "day", "agency"),
    [
        ("000", "Dawn", date(2025, 8, 28), None),
        ("001", "Al Jazeera", date(2025, 8, 27), None),
        ("002", "Business Standard", date(2025, 8, 27), "Reuters"),
        ("003", "The Telegraph India", date(2025, 9, 12), "Reuters"),
        ("004", None, None, None),
    ],
)
def test_seed_metadata_is_extracted_from_the_text_alone(
    prefix: str, outlet: str | None, day: date | None, agency: str | None
) -> None:
    meta = extracted(prefix)
    assert (meta.outlet, meta.date, meta.agency) == (outlet, day, agency)
    assert meta.title


def test_titles_come_from_the_headline_line() -> None:
    assert (
        extracted("001").title
        == "Russia opposed to European security guarantees for Ukraine, says Kremlin"
    )
    assert extracted("003").title and extracted("003").title.startswith(
        "Kremlin says Russia-Ukraine peace talks on pause"
    )
    assert (
        extracted("004").title
        == "Russia Calls Ukraine Peace Talks ‘Serious’ but Rules Out Major Concessions"
    )


def test_article_without_outlet_or_date_stays_unknown() -> None:
    meta = extracted("004")
    assert meta.outlet is None and meta.date is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reuters Published 12.09.25, 06:21 PM", date(2025, 9, 12)),
        ("Published On 27 Aug 202527 Aug 2025", date(2025, 8, 27)),
        ("Published in Dawn, August 28th, 2025", date(2025, 8, 28)),
        ("First Published: Aug 27 2025 | 10:57 PM IST", date(2025, 8, 27)),
        ("regular-article-logo Friday, 12 September 2025", date(2025, 9, 12)),
        ("Nothing here but Wednesday.", None),
    ],
)
def test_publication_lines_are_parsed(text: str, expected: date | None) -> None:
    assert from_text(text).date == expected


def test_structured_fields_map_common_names() -> None:
    meta = from_fields(
        {
            "headline": "H",
            "published_at": "2025-08-27T10:00:00Z",
            "link": "https://www.cnn.com/x",
            "authors": ["A", "B"],
        }
    )
    assert meta == ArticleMeta(
        outlet="CNN", date=date(2025, 8, 27), title="H", url="https://www.cnn.com/x", byline="A, B"
    )
    assert parse_date("2025/03/07") == date(2025, 3, 7)
    assert outlet_from_url("https://theweek.co.uk/news/1") == "The Week"
    assert outlet_from_url("https://www.example-news.org/a") == "example-news.org"


def test_html_meta_tags_give_metadata() -> None:
    html = """<html><head><meta property="og:site_name" content="Example Times">
    <meta property="article:published_time" content="2025-09-01T08:00:00Z">
    <title>Page title</title></head><body><nav>Home | World</nav>
    <article><h1>Big headline</h1><p>First paragraph of the story is here.</p></article></body></html>"""
    text, fields = html_to_text(html)
    assert "Home | World" not in text and "First paragraph" in text
    meta = from_fields(fields)
    assert (meta.outlet, meta.date, meta.title) == (
        "Example Times",
        date(2025, 9, 1),
        "Big headline",
    )


def test_manifest_overrides_and_records_unknowns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "manifest.csv").write_text(
        "file,outlet,date,title\na.txt,Dawn,2025-01-02,\nb.txt,unknown,,\n"
    )
    entries = load_manifest(tmp_path / "manifest.csv")
    base = ArticleMeta(outlet="X", date=date(2020, 1, 1), title="T")
    assert apply_manifest(base, entries["a.txt"]) == ArticleMeta(
        outlet="Dawn", date=date(2025, 1, 2), title="T"
    )
    assert apply_manifest(base, entries["b.txt"]).outlet is None


def test_shipped_manifest_matches_what_the_articles_say() -> None:
    entries = load_manifest(CORPUS / "manifest.yaml")
    assert set(entries) == {p.name for p in CORPUS.glob("*.txt")}
    for name, entry in entries.items():
        meta = extracted(name[:3])
        final = apply_manifest(meta, entry)
        assert (final.outlet, final.date) == (meta.outlet, meta.date), name
