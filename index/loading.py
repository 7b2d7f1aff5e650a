"""Find article files and read them into raw text plus structured fields.

Every problem with one file or record becomes a `Skipped` with the reason, never an exception,
so one bad file cannot stop a corpus from ingesting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.manifest import MANIFEST_NAMES

SUFFIXES = {".txt", ".md", ".html", ".htm", ".json", ".jsonl"}
_TEXT_KEYS = ("text", "body", "content", "article", "maintext")
_DROP_TAGS = tuple(
    """
    script style noscript nav header footer aside form iframe svg button figure
    """.split()
)
_BLOCK_TAGS = tuple(
    """
    p div h1 h2 h3 h4 h5 h6 li br tr section article blockquote pre dd dt
    """.split()
)


@dataclass
class SourceDoc:
    """One article as read from disk, before cleaning."""

    doc_id: str
    path: Path
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    manifest_key: str = ""


@dataclass
class Skipped:
    """A file or record that could not be ingested, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, root) pairs for every article file under `paths`; root anchors the doc id."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if (file.is_file() or file.is_symlink()) and _is_article(file):
                    found.append((file, path))
        else:
            found.append((path, path.parent))
    return found


def _is_article(file: Path) -> bool:
    name = file.name
    return (
        file.suffix.lower() in SUFFIXES
        and name not in MANIFEST_NAMES
        and name.lower() != "readme.md"
        and not any(part.startswith(".") for part in file.parts[-2:])
    )


def read_file(file: Path, root: Path, max_bytes: int) -> Iterator[SourceDoc | Skipped]:
    """Yield the articles in one file, or why they were skipped."""
    try:
        size = file.stat().st_size
        if size > max_bytes:
            yield Skipped(
                file,
                f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit (NEWSDESK_MAX_FILE_MB)",
            )
            return
        data = file.read_bytes()
    except OSError as exc:
        yield Skipped(file, f"cannot read file ({exc.strerror or exc})")
        return
    if b"\x00" in data[:8192]:
        yield Skipped(file, "binary file, not text")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Skipped(file, f"not UTF-8 (invalid byte at offset {exc.start}); re-save it as UTF-8")
        return
    if not text.strip():
        yield Skipped(file, "empty file")
        return
    rel = file.relative_to(root) if file.is_relative_to(root) else Path(file.name)
    doc_id = rel.with_suffix("").as_posix()
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(file, text, doc_id)
    elif suffix == ".json":
        yield from _read_json(file, text, doc_id)
    elif suffix in (".html", ".htm"):
        yield _read_html(file, text, doc_id)
    else:
        yield SourceDoc(doc_id, file, text, digest=_digest(data), manifest_key=rel.as_posix())


def _digest(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _read_jsonl(file: Path, text: str, doc_id: str) -> Iterator[SourceDoc | Skipped]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skipped(file, f"line {n}: malformed JSON ({exc.msg})")
            continue
        yield _record(file, record, f"{doc_id}#{n}", f"line {n}: ", line)


def _read_json(file: Path, text: str, doc_id: str) -> Iterator[SourceDoc | Skipped]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Skipped(file, f"malformed JSON at line {exc.lineno} ({exc.msg})")
        return
    records = loaded if isinstance(loaded, list) else [loaded]
    single = len(records) == 1
    for i, record in enumerate(records):
        fallback = doc_id if single else f"{doc_id}#{i + 1}"
        where = "" if single else f"record {i + 1}: "
        yield _record(file, record, fallback, where, json.dumps(record, sort_keys=True))


def _record(
    file: Path, record: Any, fallback_id: str, where: str, source: str
) -> SourceDoc | Skipped:
    if not isinstance(record, dict):
        return Skipped(file, f"{where}expected a JSON object with a text field")
    body = next((record[k] for k in _TEXT_KEYS if isinstance(record.get(k), str)), "")
    if not body.strip():
        return Skipped(file, f"{where}no article text (fields tried: {', '.join(_TEXT_KEYS)})")
    if re.search(r"<(p|div|br|body)\b", body[:2000], re.I):
        body = html_to_text(body)[0]
    doc_id = str(record.get("id") or record.get("url") or fallback_id)
    return SourceDoc(doc_id, file, body, fields=record, digest=_digest(source))


def _read_html(file: Path, text: str, doc_id: str) -> SourceDoc | Skipped:
    body, fields = html_to_text(text)
    if not body.strip():
        return Skipped(file, "HTML has no body text")
    return SourceDoc(
        doc_id, file, body, fields=fields, digest=_digest(text), manifest_key=file.name
    )


def html_to_text(html: str) -> tuple[str, dict[str, Any]]:
    """Visible article text (one block a line) and metadata from meta tags."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    fields = _html_fields(soup)
    root = soup.find("article") or soup.find("main") or soup.body
    if root is None:
        return "", fields
    for tag in root.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in root.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in root.get_text().splitlines())
    return "\n".join(line for line in lines if line), fields


def _html_fields(soup: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    meta_map = {
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
    for meta in soup.find_all("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in meta_map and meta.get("content") and meta_map[key] not in fields:
            fields[meta_map[key]] = meta["content"].strip()
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


def _ld_fields(text: str, fields: dict[str, Any]) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return
    items = data if isinstance(data, list) else data.get("@graph", [data])
    for item in items:
        if not isinstance(item, dict):
            continue
        fields.setdefault("published", item.get("datePublished"))
        fields.setdefault("title", item.get("headline"))
        publisher = item.get("publisher")
        if isinstance(publisher, dict) and publisher.get("name"):
            fields.setdefault("site_name", publisher["name"])
    for key in [k for k, v in fields.items() if v is None]:
        del fields[key]
