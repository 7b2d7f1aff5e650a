"""Document vectors computed elsewhere (bench/gpu_vectors.py), used by the RealTimeQA bench."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedding import Embedder, EmbeddingError, Vector


class PrecomputedEmbedder:
    """Document vectors computed elsewhere (a GPU machine, say), looked up by text.

    Texts without a stored vector, and every question, go to `inner`; the name is inner's, so
    an index built this way is the one `inner` would build and later ingests reuse it.
    """

    def __init__(self, inner: Embedder, keys: Sequence[str], matrix: np.ndarray) -> None:
        self.inner = inner
        self.row = {key: i for i, key in enumerate(keys)}  # text_key(text) -> row of matrix
        self.matrix = matrix
        self.name = inner.name

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        """Stored vectors where there are some; the rest embedded by `inner`."""
        rows = [self.row.get(text_key(t)) for t in texts]
        missing = [t for t, r in zip(texts, rows, strict=True) if r is None]
        fresh = iter(self.inner.embed_documents(missing) if missing else [])
        return [
            next(fresh) if r is None else self.matrix[r].astype(np.float32).tolist() for r in rows
        ]

    def embed_query(self, text: str) -> Vector:
        """Questions are always embedded by `inner`."""
        return self.inner.embed_query(text)


def load_vectors(folder: Path) -> tuple[list[str], np.ndarray]:
    """Keys (`keys.txt`, one a line) and their vectors (`vectors-*.npy`, in order) from a folder."""
    keys = (folder / "keys.txt").read_text().split()
    parts = sorted(folder.glob("vectors-*.npy"))
    matrix = np.concatenate([np.load(p) for p in parts]) if parts else np.zeros((0, 0))
    if len(keys) != len(matrix):
        raise EmbeddingError(f"{folder}: {len(keys)} keys but {len(matrix)} vectors")
    return keys, matrix


def text_key(text: str) -> str:
    """The key a precomputed vector is stored under."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
