"""Hostile input: every bad file or record is named with its reason; the good ones still ingest."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import index.ingest
import index.loading
import index.plan
import index.prepare
from index.ingest import Ingestor, IngestReport
from index.loading import SUPPORTED, Skipped, SourceDoc, read_file
from tests.conftest import FakeEmbedder
from tests.test_ingest import make_ingestor

GOOD = {
    "000_19c6ca84e65b3e46",
    "001_c81ca98ac9a2360a",
    "002_6d94b88d2c9cad8b",
    "003_024f1914c924e616",
    "004_6f646059a541b34c",
}
LIBRARY = "The new library in Graz opened on Monday."
ARTICLE = {
    "title": "Graz opens a new library",
    "url": "https://example.org/graz-library",
    "date": "2025-09-01",
    "text": f"{LIBRARY} Readers queued before dawn to see it. " * 6,
}
DEEP = "[" * 200_000 + "]" * 200_000  # past any recursion limit Python's JSON parser has
UNSUPPORTED = f"unsupported file type .xyz; {SUPPORTED}"


def ld_page(json_ld: str) -> str:
    return (
        f'<html><head><script type="application/ld+json">{json_ld}</script></head>'
        f"<body><p>{LIBRARY}</p></body></html>"
    )


def run(ingestor: Ingestor, *paths: Path) -> IngestReport:
    return ingestor.run(list(paths), log=lambda m: None)


def reasons(report: IngestReport) -> dict[str, str]:
    return {s.path.name: s.reason for s in report.skipped}


def only_item(path: Path) -> SourceDoc | Skipped:
    items = list(read_file(path, path.parent, 10**6))
    assert len(items) == 1, items
    return items[0]


# --- JSON-LD that is not an object ---------------------------------------------------------


@pytest.mark.parametrize(
    "json_ld",
    ["123", "null", '"text"', '{"@graph": 5}', '["a", 1, null]', "[[1, 2]]", '{"@graph": "x"}'],
)
def test_json_ld_that_is_not_an_object_is_ignored_and_the_page_ingests(
    tmp_path: Path, json_ld: str
) -> None:
    path = tmp_path / "page.html"
    path.write_text(ld_page(json_ld))
    item = only_item(path)
    assert isinstance(item, SourceDoc) and item.raw == LIBRARY
    assert not {"title", "published", "site_name"} & set(item.fields)


def test_json_ld_graph_objects_are_read_among_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    graph = [
        7,
        "x",
        {"@type": "WebSite"},
        {"headline": "Graz library", "datePublished": "2025-09-01"},
    ]
    path.write_text(ld_page(json.dumps({"@graph": graph})))
    item = only_item(path)
    assert isinstance(item, SourceDoc)
    assert (item.fields["title"], item.fields["published"]) == ("Graz library", "2025-09-01")


# --- JSON too deep for Python's parser ------------------------------------------------------


def test_json_nested_too_deeply_is_skipped_by_name_and_the_rest_ingests(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    (corpus_copy / "deep.json").write_text(DEEP)
    (corpus_copy / "deep.jsonl").write_text(json.dumps(ARTICLE) + "\n" + DEEP + "\n")
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert reasons(report) == {
        "deep.json": "JSON nested too deeply",
        "deep.jsonl": "line 2: JSON nested too deeply",
    }
    assert set(report.added) == GOOD | {ARTICLE["url"]}


def test_json_record_nested_deep_but_parseable_ingests(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**ARTICLE, "authors": json.loads("[" * 600 + "]" * 600)}))
    assert run(make_ingestor(tmp_path / "data", fake_embedder), path).added == [ARTICLE["url"]]


# --- paths that are missing, unsupported or hidden -----------------------------------------


def test_missing_path_is_reported_and_the_rest_ingests(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    missing = tmp_path / "no-such-folder"
    report = run(make_ingestor(tmp_path / "data", fake_embedder), missing, corpus_copy)
    assert [(s.path, s.reason) for s in report.skipped] == [(missing, "no such file or folder")]
    assert set(report.added) == GOOD


def test_unsupported_files_in_folders_are_named_and_hidden_ones_pass_unmentioned(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    (corpus_copy / "notes.xyz").write_text(LIBRARY)
    (corpus_copy / "LICENSE").write_text(LIBRARY)
    (corpus_copy / ".DS_Store").write_bytes(b"\x00\x01")
    (corpus_copy / ".git" / "objects").mkdir(parents=True)
    (corpus_copy / ".git" / "objects" / "ab12").write_bytes(b"\x78\x9c")
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert reasons(report) == {
        "notes.xyz": UNSUPPORTED,
        "LICENSE": f"unsupported file type (no extension); {SUPPORTED}",
    }
    assert set(report.added) == GOOD  # manifest.yaml is read, not reported


def test_folders_that_cannot_be_listed_or_are_linked_are_named(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    (corpus_copy / "locked").mkdir()
    (corpus_copy / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    # Tests may run as root, who can list anything: play a folder we may not enter.
    monkeypatch.setattr(index.loading, "_listable", lambda folder: folder.name != "locked")
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert reasons(report) == {
        "locked": "cannot list folder",
        "elsewhere": "links to folders are not followed",
    }
    assert set(report.added) == GOOD


def test_a_named_file_of_unsupported_type_is_skipped_not_read_as_text(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    path = tmp_path / "notes.xyz"
    path.write_text(LIBRARY)
    report = run(make_ingestor(tmp_path / "data", fake_embedder), path)
    assert (report.added, reasons(report)) == ([], {"notes.xyz": UNSUPPORTED})


# --- encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_utf16_and_utf32_text_is_decoded_with_or_without_byte_order_mark(
    tmp_path: Path, codec: str
) -> None:
    text = f"Café in Zürich\n{LIBRARY}\n"
    path = tmp_path / "story.txt"
    path.write_bytes(text.encode(codec))  # "utf-16" and "utf-32" write a BOM; -le/-be do not
    item = only_item(path)
    assert isinstance(item, SourceDoc) and item.raw == text


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        b"".join(n.to_bytes(2, "little") for n in range(1, 32)) * 40,  # NULs like UTF-16's
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00",
    ],
    ids=["all-bytes", "int16-samples", "gif"],
)
def test_binary_files_stay_binary(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(data)
    assert only_item(path) == Skipped(path, "binary file, not text")


def test_json_escapes_spelling_lone_surrogates_do_not_stop_the_ingest(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    path = tmp_path / "a.json"
    path.write_text(
        '{"id": "x\\ud800", "title": "Graz \\udfff library", "text": "Odd \\ud800 text. '
        + LIBRARY * 3
        + '"}'
    )
    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    assert run(ingestor, path).added == ["x\ufffd"]
    assert ingestor.store.articles()["x\ufffd"].title == "Graz \ufffd library"


def test_jsonl_records_holding_line_separators_stay_whole(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    path = tmp_path / "a.jsonl"
    record = {**ARTICLE, "text": "First paragraph.\u2028Second paragraph. " * 5}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    report = run(make_ingestor(tmp_path / "data", fake_embedder), path)
    assert (report.added, report.skipped) == ([ARTICLE["url"]], [])


# --- defence in depth -----------------------------------------------------------------------


def test_an_unexpected_error_in_one_article_skips_that_article_only(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = index.prepare.clean_text

    def fragile(raw: str) -> object:
        if "Rules Out Major Concessions" in raw:  # 004's headline
            raise RuntimeError("cleaner bug\nsecond line of the message")
        return original(raw)

    monkeypatch.setattr(index.prepare, "clean_text", fragile)
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert reasons(report) == {"004_6f646059a541b34c.txt": "failed: RuntimeError: cleaner bug"}
    assert set(report.added) == GOOD - {"004_6f646059a541b34c"}


def test_an_unexpected_error_while_reading_a_file_skips_that_file_only(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = index.plan.read_file

    def fragile(file: Path, root: Path, max_bytes: int):  # type: ignore[no-untyped-def]
        if file.name.startswith("002_"):
            raise RecursionError("maximum recursion depth exceeded")
        return original(file, root, max_bytes)

    monkeypatch.setattr(index.plan, "read_file", fragile)
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert reasons(report) == {
        "002_6d94b88d2c9cad8b.txt": "failed: RecursionError: maximum recursion depth exceeded"
    }
    assert set(report.added) == GOOD - {"002_6d94b88d2c9cad8b"}


def test_a_manifest_that_is_not_a_mapping_of_mappings_is_ignored(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    (corpus_copy / "manifest.yaml").write_text("a.txt: 5\nb.txt: [1, 2]\n")
    report = run(make_ingestor(tmp_path / "data", fake_embedder), corpus_copy)
    assert "bad entry 'a.txt'" in reasons(report)["manifest.yaml"]
    assert set(report.added) == GOOD


# --- a folder of hostile files next to the good ones -----------------------------------------


def hostile_files(folder: Path) -> dict[str, str | None]:
    """Write the known-bad cases; file name to the skip reason expected, None if it ingests."""
    cases: dict[str, tuple[str | bytes, str | None]] = {
        "ld_number.html": (ld_page("123"), None),
        "ld_null.html": (ld_page("null"), None),
        "ld_graph_number.html": (ld_page('{"@graph": 5}'), None),
        "ld_list_of_strings.html": (ld_page('["a", "b"]'), None),
        "deep.json": (DEEP, "JSON nested too deeply"),
        "deep.jsonl": (json.dumps(ARTICLE) + "\n" + DEEP, "line 2: JSON nested too deeply"),
        "notes.xyz": (LIBRARY, UNSUPPORTED),
        "utf16_no_bom.txt": (LIBRARY.encode("utf-16-le"), None),
        "utf16.txt": (LIBRARY.encode("utf-16"), None),
        "utf32.md": (LIBRARY.encode("utf-32"), None),
        "binary.txt": (bytes(range(256)), "binary file, not text"),
        "latin1.txt": ("Café".encode("latin-1"), "not UTF-8 (invalid byte at offset 3)"),
        "huge_int.json": ('{"text": "x", "n": ' + "9" * 5000 + "}", "malformed JSON (Exceeds"),
        "bad_url.json": (json.dumps({"url": "http://[::1", "text": LIBRARY}), None),
        "surrogates.json": ('{"title": "\\ud800", "text": "' + LIBRARY + '\\udc00"}', None),
        "invisible.md": ("\u200b" * 50, "no article text left after cleaning"),
        "empty_list.json": ("[]", "empty JSON list: no articles"),
    }
    for name, (content, _) in cases.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return {name: reason for name, (_, reason) in cases.items()}


def fuzzed_files(folder: Path, count: int = 30, seed: int = 20250917) -> list[str]:
    """Write `count` seeded random hostile files; their names."""
    rng = random.Random(seed)
    names = []
    for i in range(count):
        maker = _FUZZERS[i % len(_FUZZERS)]  # every kind three times; the seed varies the rest
        suffix, data = maker(rng)
        names.append(f"fuzz_{i:02d}_{maker.__name__.strip('_')}{suffix}")
        (folder / names[-1]).write_bytes(data)
    return names


def _random_bytes(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([".txt", ".json", ".html", ".jsonl"]), rng.randbytes(rng.randint(1, 3000))


def _truncated_json(rng: random.Random) -> tuple[str, bytes]:
    text = json.dumps([ARTICLE, {**ARTICLE, "url": "https://example.org/2"}])
    return ".json", text[: rng.randint(1, len(text) - 1)].encode()


def _mangled_jsonl(rng: random.Random) -> tuple[str, bytes]:
    lines = [json.dumps({**ARTICLE, "id": f"m{rng.random()}"}) for _ in range(4)]
    data = bytearray("\n".join(lines).encode())
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(len(data))] = rng.choice(b'{}[]",:\\\x00\xff')
    return ".jsonl", bytes(data)


def _mangled_html(rng: random.Random) -> tuple[str, bytes]:
    ld = rng.choice(["123", "null", '{"@graph": 5}', '["x", 2]', "[[[[", '{"publisher": 1}'])
    page = ld_page(ld).replace("<p>", "<article><p>" + "<b>" * rng.randint(0, 50))
    cut = page[: rng.randint(len(page) // 2, len(page))]
    return rng.choice([".html", ".htm"]), cut.encode()


def _nested_tags(rng: random.Random) -> tuple[str, bytes]:
    tag = rng.choice(["div", "p", "span", "li", "section", "blockquote"])
    depth = rng.randint(200, 800)
    return ".html", f"<html><body>{f'<{tag}>' * depth}{LIBRARY}".encode()


def _nested_brackets(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.randint(2_000, 50_000)
    opener = rng.choice(["[", '{"a":', '{"text": "x", "b": ['])
    return rng.choice([".json", ".jsonl"]), (opener * depth).encode()


def _long_line(rng: random.Random) -> tuple[str, bytes]:
    unit = rng.choice(["a", ".", "-", "x-", "\u200b", "—", "Graz "])
    return rng.choice([".txt", ".md"]), (unit * (3000 // len(unit))).encode()


def _nuls(rng: random.Random) -> tuple[str, bytes]:
    data = bytearray((LIBRARY * 20).encode())
    for _ in range(rng.randint(1, 10)):
        data.insert(rng.randrange(len(data)), 0)
    return ".txt", bytes(data)


def _lone_surrogates(rng: random.Random) -> tuple[str, bytes]:
    escape = rng.choice(["\\ud800", "\\udfff", "\\udbff\\u0041", "\\ud83d"])
    record = json.dumps({**ARTICLE, "id": f"Graz {rng.random()}"})
    return ".json", record.replace("Graz", f"Gr{escape}az").encode()  # id, title and text


def _odd_encoding(rng: random.Random) -> tuple[str, bytes]:
    codec = rng.choice(["latin-1", "cp1252", "shift_jis", "utf-16-be", "utf-32-le", "cp500"])
    return ".txt", f"Café in Zürich — 東京. {LIBRARY}".encode(codec, errors="replace")


_FUZZERS: list[Callable[[random.Random], tuple[str, bytes]]] = [
    _random_bytes,
    _truncated_json,
    _mangled_jsonl,
    _mangled_html,
    _nested_tags,
    _nested_brackets,
    _long_line,
    _nuls,
    _lone_surrogates,
    _odd_encoding,
]


def test_hostile_folder_next_to_the_good_articles_ingests_the_good_and_names_the_bad(
    corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    expected = hostile_files(corpus_copy)
    fuzzed = fuzzed_files(corpus_copy)
    ingestor = make_ingestor(tmp_path / "data", fake_embedder)
    report = run(ingestor, corpus_copy)
    articles = ingestor.store.articles()
    assert set(articles) >= GOOD
    found = reasons(report)
    for name, reason in expected.items():
        if reason is None:
            assert name not in found, found[name]
        else:
            assert found[name].startswith(reason), (name, found[name])
    ingested = {Path(a.source).name for a in articles.values()}
    for name in [*expected, *fuzzed]:  # each file ingested or named, with a one-line reason
        assert name in ingested or name in found, name
    assert all(r.strip() and "\n" not in r for r in found.values())


def test_cli_names_every_bad_file_and_a_missing_path_and_exits_zero(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsdesk.cli import main

    # The CLI's own wiring, with the fake model in place of the real one: speed, not semantics.
    monkeypatch.setattr("newsdesk.factory.build_embedder", lambda settings: FakeEmbedder())
    expected = hostile_files(corpus_copy)
    missing = tmp_path / "missing.txt"
    args = ["ingest", "-q", str(corpus_copy), str(missing), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name, reason in expected.items():
        if reason is not None:
            assert f"{corpus_copy / name}: {reason}" in result.output
    assert f"skipped {missing}: no such file or folder" in result.output
    ingests = 5 + sum(reason is None for reason in expected.values()) + 1  # deep.jsonl line 1
    assert f"{ingests} added" in result.output


def test_cli_fails_when_nothing_could_be_ingested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsdesk.cli import main

    monkeypatch.setattr("newsdesk.factory.build_embedder", lambda settings: FakeEmbedder())
    (tmp_path / "page.html").write_text("<html><body></body></html>")
    args = ["ingest", "-q", str(tmp_path / "page.html"), str(tmp_path / "gone")]
    result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "page.html: HTML has no body text" in result.output
    assert "gone: no such file or folder" in result.output
    assert "nothing could be ingested" in result.output
