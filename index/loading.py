"""Find article files and read them into raw text plus structured fields.

Every problem with one file or record becomes a `Skipped` with the reason, never an exception,
so one bad file cannot stop a corpus from ingesting.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.html import html_to_text
from index.manifest import MANIFEST_NAMES
from index.metadata import without_surrogates

SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".json.gz", ".jsonl.gz")
SUPPORTED = "Newsdesk reads " + ", ".join(SUFFIXES)
_TEXT_KEYS = ("text", "body", "content", "article", "maintext")
NO_TEXT = f"no article text (fields tried: {', '.join(_TEXT_KEYS)})"
# Byte-order marks and their codecs; UTF-32's come first because UTF-16's are their prefixes.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BOMLESS_UTF16 = ("utf-16-le", "utf-16-be")


@dataclass
class SourceDoc:
    """One article as read from disk, before cleaning."""

    doc_id: str
    path: Path
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    manifest_key: str = ""
    where: str = ""  # "line 3: " for a record of a JSON file: prefixes reasons it is skipped


@dataclass
class Skipped:
    """A file or record that could not be ingested, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        # A file name that is not valid UTF-8 must still print, so it is shown escaped.
        line = f"skipped {self.path}: {self.reason}"
        return line.encode("utf-8", "backslashreplace").decode("utf-8")


class _Refused(Exception):
    """Why a file or record cannot be read; it becomes a `Skipped`."""


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, root) pairs for every file under `paths`; root anchors the doc id.

    Named paths come back as they are, missing or unsupported ones too, for `read_file` to
    report; so do folders that cannot be listed. Inside folders, hidden files and manifests
    are left out without a word.
    """
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if _is_dir(path) and _listable(path):
            found.extend((file, path) for file in sorted(path.rglob("*")) if _listed(file, path))
        else:
            found.append((path, path.parent))
    return found


def _listed(file: Path, root: Path) -> bool:
    """Whether `read_file` gets a folder's entry: files, links, and folders rglob cannot list;
    never hidden entries, manifests or READMEs."""
    if file.name in MANIFEST_NAMES or file.name.lower() == "readme.md":
        return False
    if any(part.startswith(".") for part in file.relative_to(root).parts):
        return False
    return not _is_dir(file) or file.is_symlink() or not _listable(file)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. inside a folder we may not enter: read_file will say so
        return False


def _listable(folder: Path) -> bool:
    # rglob passes over folders it cannot list without a word; they should be reported.
    return os.access(folder, os.R_OK | os.X_OK)


MAX_BLANK_LINES = 100_000  # a run this long in an archive is damage, not spacing


def read_file(file: Path, root: Path, max_bytes: int) -> Iterator[SourceDoc | Skipped]:
    """Yield the articles in one file, or why they (or the whole file) were skipped.

    A `.jsonl.gz` archive is streamed record by record, and the size limit applies to each
    record rather than to the file, so an archive of any size reads in bounded memory.
    """
    if not file.is_dir() and _escapes(file, root):
        target = file.resolve()
        yield Skipped(file, f"links outside {root} (to {target}); ingest the target itself")
        return
    rel = file.relative_to(root) if file.is_relative_to(root) else Path(file.name)
    suffix = _suffix(file)
    doc_id = rel.with_name(rel.name[: len(rel.name) - len(suffix)] or rel.name).as_posix()
    if suffix == ".jsonl.gz":
        yield from _read_jsonl_gz(file, doc_id, max_bytes)
        return
    try:
        data, text = _read_text(file, max_bytes)
    except _Refused as refused:
        yield Skipped(file, str(refused))
        return
    if suffix == ".jsonl":
        yield from _read_jsonl(file, text, doc_id)
    elif suffix in (".json", ".json.gz"):
        yield from _read_json(file, text, doc_id)
    elif suffix in (".html", ".htm"):
        yield _read_html(file, text, doc_id)
    else:
        yield SourceDoc(doc_id, file, text, digest=_digest(data), manifest_key=rel.as_posix())


def _escapes(file: Path, root: Path) -> bool:
    """Whether a link takes `file` out of the folder being ingested (a system file, say)."""
    try:
        return not file.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return True


def _suffix(file: Path) -> str:
    """The file's type as SUFFIXES names it: `.jsonl.gz` counts as one."""
    name = file.name.lower()
    compound = next((c for c in (".json.gz", ".jsonl.gz") if name.endswith(c)), None)
    return compound if compound and len(name) > len(compound) else file.suffix.lower()


def _read_text(file: Path, max_bytes: int) -> tuple[bytes, str]:
    """A file's bytes and text; `_Refused` when it is not a readable article file."""
    try:
        _check_path(file, max_bytes)
        data = _read_bytes(file, max_bytes)
    except OSError as exc:
        raise _Refused(f"cannot read file ({exc.strerror or exc})") from exc
    text = _decode(data)
    if not text.strip():
        raise _Refused("empty file")
    return data, text


def _check_path(file: Path, max_bytes: int) -> None:
    """Refuse what its name and directory entry show is no article file Newsdesk can read."""
    if not file.exists():
        broken = file.is_symlink()
        raise _Refused("cannot read file (broken link)" if broken else "no such file or folder")
    if file.is_dir():
        link = file.is_symlink()  # met inside a folder
        raise _Refused("links to folders are not followed" if link else "cannot list folder")
    if not file.is_file():
        raise _Refused("not a regular file")
    if _suffix(file) not in SUFFIXES:
        raise _Refused(f"unsupported file type {file.suffix or '(no extension)'}; {SUPPORTED}")
    if not all(_is_utf8(str(p)) for p in (file, file.resolve())):
        raise _Refused("file name is not valid UTF-8; rename it")
    size = file.stat().st_size
    if size > max_bytes:
        raise _Refused(f"file is {size / 1e6:.1f} MB, over {_limit(max_bytes)}")


def _read_bytes(file: Path, max_bytes: int) -> bytes:
    """A file's bytes, decompressed for `.json.gz` (up to the size limit)."""
    if _suffix(file) != ".json.gz":
        return file.read_bytes()
    try:
        with gzip.open(file, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _Refused(f"not a readable gzip file ({exc}); re-compress it or unpack it") from None
    if len(data) > max_bytes:
        raise _Refused(f"decompresses to over {_limit(max_bytes)}; split it into JSONL")
    return data


def _limit(max_bytes: int) -> str:
    return f"the {max_bytes / 1e6:.0f} MB limit (NEWSDESK_MAX_FILE_MB)"


def _is_utf8(name: str) -> bool:
    # Undecodable bytes in a file name arrive as lone surrogates, which no store can write.
    return without_surrogates(name) == name


def _decode(data: bytes) -> str:
    """A file's text: UTF-8, UTF-16 or UTF-32 with a byte-order mark, or UTF-16 without one."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    codec = codec or _bomless_utf16(data[:8192])
    if codec is None and b"\x00" in data:
        raise _Refused("binary file, not text")
    try:
        text = data.decode(codec or "utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(_undecodable(codec, exc.start)) from None
    if "\x00" in text or (codec in _BOMLESS_UTF16 and not _looks_like_text(text)):
        raise _Refused("binary file, not text")
    return text


def _bomless_utf16(sample: bytes) -> str | None:
    """The UTF-16 codec of text whose NULs fill one byte of most pairs and hardly any other.

    That is how UTF-16 in a Latin script looks without a byte-order mark; a binary file that
    happens to look so fails `_looks_like_text` once decoded.
    """
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0 : 2 * pairs : 2].count(0) / pairs
    odd = sample[1 : 2 * pairs : 2].count(0) / pairs
    if odd > 0.3 and even < 0.02:
        return "utf-16-le"
    if even > 0.3 and odd < 0.02:
        return "utf-16-be"
    return None


def _looks_like_text(text: str) -> bool:
    sample = text[:4096]
    printable = sum(c.isprintable() or c in "\n\r\t" for c in sample)
    return printable >= 0.95 * len(sample)


def _undecodable(codec: str | None, offset: int) -> str:
    """Why bytes did not decode, by what they were taken for."""
    fix = "re-save it as UTF-8"
    if codec in _BOMLESS_UTF16:
        return f"UTF-16 text without a byte-order mark, not decodable (offset {offset}); {fix}"
    if codec in ("utf-16", "utf-32"):
        return f"not valid {codec.upper()} despite its byte-order mark (offset {offset}); {fix}"
    return f"not UTF-8 (invalid byte at offset {offset}); {fix}"


def _digest(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _read_jsonl(file: Path, text: str, doc_id: str) -> Iterator[SourceDoc | Skipped]:
    # Records end at "\n" only: str.splitlines would also cut at U+2028 and the like, which
    # JSON allows inside strings.
    for n, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield _jsonl_record(file, line.removesuffix("\r"), doc_id, n)


def _jsonl_record(file: Path, line: str, doc_id: str, n: int) -> SourceDoc | Skipped:
    where = f"line {n}: "
    try:
        record = _loads(line)
    except _Refused as refused:
        return Skipped(file, f"{where}{refused}")
    return _record(file, record, f"{doc_id}#{n}", where, line)


def _read_jsonl_gz(file: Path, doc_id: str, max_bytes: int) -> Iterator[SourceDoc | Skipped]:
    """Records of a gzip-compressed JSONL file, one line in memory at a time."""
    n = blank = 0
    try:
        _check_path(file, sys.maxsize)  # the size limit applies to each record
        with gzip.open(file, "rb") as handle:
            while raw := handle.readline(max_bytes + 1):
                n += 1
                blank = blank + 1 if not raw.strip() else 0
                if blank > MAX_BLANK_LINES:
                    yield Skipped(file, f"line {n}: {blank:,} blank lines in a row; not read on")
                    return
                if len(raw) > max_bytes and not raw.endswith(b"\n"):
                    while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                        pass  # the rest of the oversized record
                    yield Skipped(file, f"line {n}: record over {_limit(max_bytes)}")
                elif raw.strip():
                    yield _gz_line(file, raw, doc_id, n)
    except _Refused as refused:
        yield Skipped(file, str(refused))
    except (OSError, EOFError, zlib.error) as exc:
        yield Skipped(
            file, f"gzip data unreadable after line {n} ({exc}); the lines before it were read"
        )


def _gz_line(file: Path, raw: bytes, doc_id: str, n: int) -> SourceDoc | Skipped:
    try:
        line = raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return Skipped(file, f"line {n}: {_undecodable(None, exc.start)}")
    return _jsonl_record(file, line, doc_id, n)


def _read_json(file: Path, text: str, doc_id: str) -> Iterator[SourceDoc | Skipped]:
    try:
        loaded = _loads(text)
    except _Refused as refused:
        yield Skipped(file, str(refused))
        return
    records = loaded if isinstance(loaded, list) else [loaded]
    if not records:
        yield Skipped(file, "empty JSON list: no articles")
    single = len(records) == 1
    for i, record in enumerate(records):
        fallback = doc_id if single else f"{doc_id}#{i + 1}"
        yield _record(file, record, fallback, "" if single else f"record {i + 1}: ", None)


def _loads(text: str) -> Any:
    """Parsed JSON, or `_Refused` saying why it cannot be parsed."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f" at line {exc.lineno}" if "\n" in text.strip() else ""
        raise _Refused(f"malformed JSON{at} ({exc.msg})") from None
    except RecursionError:
        # Python's parser recurses per bracket; raising the limit would only move the crash.
        raise _Refused("JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit conversion limit
        raise _Refused(f"malformed JSON ({str(exc).splitlines()[0]})") from None


def _record(
    file: Path, record: Any, fallback_id: str, where: str, source: str | None
) -> SourceDoc | Skipped:
    """One JSON record as an article, or why it was skipped; `source` is its text if known."""
    try:
        return _article(file, record, fallback_id, where, source)
    except _Refused as refused:
        return Skipped(file, f"{where}{refused}")


def _article(
    file: Path, record: Any, fallback_id: str, where: str, source: str | None
) -> SourceDoc:
    if not isinstance(record, dict):
        raise _Refused("expected a JSON object with a text field")
    body = record_text(record)
    if not body.strip():
        raise _Refused(NO_TEXT)
    try:
        source = source if source is not None else json.dumps(record, sort_keys=True)
    except RecursionError:
        raise _Refused("JSON nested too deeply") from None
    # JSON escapes can spell lone surrogates ("\ud800"), which no store or model can encode.
    body = without_surrogates(body)
    if re.search(r"<(p|div|br|body)\b", body[:2000], re.I):
        body = html_to_text(body)[0]
    doc_id = without_surrogates(record_id(record) or fallback_id)
    return SourceDoc(doc_id, file, body, fields=record, digest=_digest(source), where=where)


def record_text(record: dict[str, Any]) -> str:
    """A JSON record's article text: its first text field that holds a string ("" if none)."""
    return next((record[k] for k in _TEXT_KEYS if isinstance(record.get(k), str)), "")


def record_id(record: dict[str, Any]) -> str | None:
    """The record's own id or URL, when it is a plain string or number."""
    for key in ("id", "url"):
        value = record.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def _read_html(file: Path, text: str, doc_id: str) -> SourceDoc | Skipped:
    body, fields = html_to_text(text)
    if not body.strip():
        return Skipped(file, "HTML has no body text")
    return SourceDoc(
        doc_id, file, body, fields=fields, digest=_digest(text), manifest_key=file.name
    )
