"""Helpers several test modules share that the product does not need."""

from __future__ import annotations

from pathlib import Path

from index.client import pages
from index.keyword import KeywordIndex, tokenizer, tokens_version
from index.records import ChunkInfo, chunk_info
from index.store import ChromaStore


def keyword_index(folder: Path) -> KeywordIndex:
    """A keyword index in `folder` with the product's tokens, as the factory builds one."""
    return KeywordIndex(folder, tokenizer(), tokens_version())


def all_chunks(store: ChromaStore) -> list[tuple[str, str, ChunkInfo]]:
    """(id, text, record) of every chunk stored, committed or not."""
    out: list[tuple[str, str, ChunkInfo]] = []
    for ids, metas, docs in pages(store.chunks, ["metadatas", "documents"]):
        out.extend(zip(ids, docs, map(chunk_info, metas), strict=True))
    return out
