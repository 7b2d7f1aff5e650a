"""Typed records of what the index holds, converted to and from Chroma's flat metadata here only.

Chroma stores flat str/int/float metadata; everything past the store's edge reads these records,
so a field is named and typed once (`date_int` exists only in Chroma, for range filters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from index.dates import day_int, read_day


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """What every chunk and article says about its article."""

    doc_id: str
    digest: str
    outlet: str | None
    date: date | None
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class ChunkInfo(ArticleRef):
    """A chunk's place in its article: [start, end) in the cleaned text, and its number."""

    start: int
    end: int
    chunk: int


@dataclass(frozen=True, slots=True)
class ArticleInfo(ArticleRef):
    """An article's record: where it came from and what the ingest made of it."""

    source: str = ""
    chunks: int = 0
    ingested_at: float = 0.0
    byline: str | None = None
    agency: str | None = None
    dateline: str | None = None
    offsets: str = "[]"
    roles: str = "[]"  # `index.roles`: spans of the cleaned text that are not body sentences


def to_metadata(record: ArticleRef) -> dict[str, Any]:
    """Chroma's flat metadata for a record (None becomes "", dates ISO plus `date_int`)."""
    flat = {k: "" if v is None else v for k, v in asdict(record).items()}
    flat["date"] = record.date.isoformat() if record.date else ""
    flat["date_int"] = day_int(record.date)
    return flat


def chunk_info(meta: dict[str, Any]) -> ChunkInfo:
    """A stored chunk's metadata as a record."""
    return ChunkInfo(
        **_ref_fields(meta),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        chunk=int(meta.get("chunk", 0)),
    )


def article_info(meta: dict[str, Any]) -> ArticleInfo:
    """A stored article's metadata as a record."""
    return ArticleInfo(
        **_ref_fields(meta),
        source=str(meta.get("source") or ""),
        chunks=int(meta.get("chunks") or 0),
        ingested_at=float(meta.get("ingested_at") or 0.0),
        byline=meta.get("byline") or None,
        agency=meta.get("agency") or None,
        dateline=meta.get("dateline") or None,
        offsets=str(meta.get("offsets") or "[]"),
        roles=str(meta.get("roles") or "[]"),
    )


def _ref_fields(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "doc_id": str(meta.get("doc_id", "")),
        "digest": str(meta.get("digest", "")),
        "outlet": meta.get("outlet") or None,
        "date": read_day(meta.get("date")),
        "title": str(meta.get("title") or ""),
        "url": meta.get("url") or None,
    }


@dataclass
class ChunkRecord:
    """A chunk as stored: id, text, embedding and its typed metadata."""

    id: str
    text: str
    embedding: list[float]
    info: ChunkInfo


@dataclass
class Changes:
    """What changed after a commit sequence: articles committed, articles removed (by seq)."""

    seq: float  # everything up to here is included
    docs: dict[str, ArticleInfo] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)


@dataclass
class DocRecord:
    """An article as stored: cleaned text plus its typed record."""

    id: str
    text: str
    info: ArticleInfo
