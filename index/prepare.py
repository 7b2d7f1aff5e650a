"""One article made ready to embed: cleaned, described, cut into chunks and given a digest.

The digest covers everything that decides an article's chunks and vectors, so an ingest can
skip an unchanged article before doing any of this work.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from index import roles
from index.chunking import chunk_text
from index.cleaning import clean_text
from index.loading import SourceDoc
from index.manifest import apply_manifest
from index.metadata import ArticleMeta, from_fields, from_text, lead_title, outlet_from_url
from index.records import ArticleInfo, ChunkInfo, ChunkRecord, DocRecord
from index.settings import IngestSettings

# Bump when cleaning, metadata or chunk layout changes so existing indexes re-ingest.
PIPELINE_VERSION = "3"


def embedding_text(text: str, info: ChunkInfo) -> str:
    """What the model sees for a chunk: the article's title, then the chunk.

    A chunk from deep inside an article rarely names its subject; the headline does, so the
    vector of every chunk carries what the article is about.
    """
    return f"{info.title}\n{text}" if info.title else text


@dataclass
class PreparedDoc:
    """An article cleaned, described and cut into chunk records awaiting embeddings."""

    record: DocRecord
    chunks: list[ChunkRecord]
    is_new: bool


def prepare(
    source: SourceDoc, manifest_entry: dict[str, Any] | None, digest: str, settings: IngestSettings
) -> PreparedDoc:
    """Clean, describe and chunk one article."""
    cleaned = clean_text(source.raw)
    meta = apply_manifest(article_meta(source, cleaned.text), manifest_entry)
    ref = _article_ref(source.doc_id, meta, digest)
    pieces = chunk_text(cleaned.text, settings.chunk_size, settings.chunk_overlap)
    chunks = [
        ChunkRecord(
            id=f"{source.doc_id}::{digest[:12]}::{i}",
            text=c.text,
            embedding=[],
            info=ChunkInfo(**ref, start=c.start, end=c.end, chunk=i),
        )
        for i, c in enumerate(pieces)
    ]
    info = ArticleInfo(
        **ref,
        source=str(source.path.resolve()),
        chunks=len(chunks),
        ingested_at=time.time(),
        byline=meta.byline,
        agency=meta.agency,
        dateline=meta.dateline,
        offsets=json.dumps(cleaned.segments, separators=(",", ":")),
        roles=roles.encode(roles.sentence_roles(cleaned.text, meta.title or "")),
    )
    return PreparedDoc(DocRecord(source.doc_id, cleaned.text, info), chunks, is_new=True)


def article_meta(source: SourceDoc, clean: str) -> ArticleMeta:
    """Metadata from text, strengthened by structured fields."""
    meta = from_text(source.raw).merged(from_fields(source.fields))
    if meta.outlet is None and meta.url:
        meta = meta.merged(ArticleMeta(outlet=outlet_from_url(meta.url)))
    return meta if meta.title else meta.merged(ArticleMeta(title=lead_title(clean)))


def _article_ref(doc_id: str, meta: ArticleMeta, digest: str) -> dict[str, Any]:
    """The fields every chunk and the article record share."""
    return {
        "doc_id": doc_id,
        "digest": digest,
        "outlet": meta.outlet,
        "date": meta.date,
        "title": meta.title or "",
        "url": meta.url,
    }


def doc_digest(
    source: SourceDoc, entry: dict[str, Any] | None, settings: IngestSettings, embedder: str
) -> str:
    """Digest of everything that decides an article's chunks and vectors."""
    key = json.dumps(
        [
            source.digest,
            entry,
            PIPELINE_VERSION,
            settings.chunk_size,
            settings.chunk_overlap,
            embedder,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(key.encode()).hexdigest()
