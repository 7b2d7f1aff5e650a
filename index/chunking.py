"""Token-based, sentence-aware chunking with tiktoken; every chunk keeps its character span."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.sentences import Sentence, split_sentences


@dataclass(frozen=True)
class Chunk:
    """A passage of a cleaned article and its [start, end) span in that text."""

    text: str
    start: int
    end: int
    tokens: int


@lru_cache(maxsize=1)
def encoding() -> Any:
    """The cl100k tokenizer, read from llama-index's bundled cache so no download happens."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        # Find llama-index's bundled cache without importing llama-index (seconds of start-up).
        spec = importlib.util.find_spec("llama_index.core")
        folder = next(iter(spec.submodule_search_locations or [])) if spec else ""
        os.environ["TIKTOKEN_CACHE_DIR"] = os.path.join(folder, "_static", "tiktoken_cache")
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in `text`."""
    return len(encoding().encode(text, disallowed_special=()))


def chunk_text(text: str, size: int, overlap: int) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` tokens, overlapping by `overlap`."""
    units = _units(text, size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][1] <= size):
            total += units[j][1]
            j += 1
        start, end = units[i][0].start, units[j - 1][0].end
        chunks.append(Chunk(text[start:end], start, end, total))
        if j >= len(units):
            break
        i = _overlap_start(units, i, j, overlap)
    return chunks


def _overlap_start(units: list[tuple[Sentence, int]], i: int, j: int, overlap: int) -> int:
    """First sentence of the next chunk: back up from j while within the overlap budget."""
    k, carried = j, 0
    while k - 1 > i and carried + units[k - 1][1] <= overlap:
        k -= 1
        carried += units[k][1]
    return k


def _units(text: str, size: int) -> list[tuple[Sentence, int]]:
    """Sentences with token counts; a sentence longer than `size` is cut at word boundaries."""
    units: list[tuple[Sentence, int]] = []
    for sentence in split_sentences(text):
        tokens = count_tokens(sentence.text)
        if tokens <= size:
            units.append((sentence, tokens))
        else:
            units.extend(_split_long(text, sentence, size))
    return units


def _split_long(text: str, sentence: Sentence, size: int) -> list[tuple[Sentence, int]]:
    pieces: list[tuple[Sentence, int]] = []
    start = sentence.start
    enc = encoding()
    while start < sentence.end:
        tokens = enc.encode(text[start : sentence.end], disallowed_special=())
        if len(tokens) <= size:
            end = sentence.end
        else:
            end = start + len(enc.decode(tokens[:size]))
            space = text.rfind(" ", start + 1, end)
            end = space if space > start else end
        piece = Sentence(text[start:end], start, end)
        pieces.append((piece, count_tokens(piece.text)))
        start = end
        while start < sentence.end and text[start].isspace():
            start += 1
    return pieces
