"""Token-based, sentence-aware chunking with tiktoken; every chunk keeps its character span."""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.sentences import Sentence, split_sentences

# The hard cap on one article's work: only its first 2,000,000 characters of cleaned text (some
# 500,000 tokens, 1,500 chunks) are chunked and embedded. The longest real articles are a few
# per cent of that; past it, a huge file (up to the 100 MB file limit) would keep the embedder
# busy for many minutes.
MAX_CHUNKED_CHARS = 2_000_000
# Characters per token: a first guess at how much text holds a chunk's tokens, and the most any
# cl100k token spans (128 bytes), so a window of (size + 1) * 128 characters always holds more
# than `size` tokens.
_CHARS_PER_TOKEN = 8
_MAX_CHARS_PER_TOKEN = 128
# Everything up to the last non-space that a space follows.
_LAST_WORD_END = re.compile(r".*\S(?= )", re.DOTALL)


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
    return len(_encode(text))


def chunk_text(
    text: str, size: int, overlap: int, limit: int | None = MAX_CHUNKED_CHARS
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` tokens, overlapping by `overlap`.

    Only the first `limit` characters are chunked (None: all of them), cut at a space.
    """
    units = _units(text[: _cap(text, limit)], size)
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


def _cap(text: str, limit: int | None) -> int:
    """Length of the part of `text` that is chunked: all of it, or up to a space near `limit`."""
    if limit is None or len(text) <= limit:
        return len(text)
    space = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return space if space > limit // 2 else limit


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
        tokens, whole = _head_tokens(text, sentence.start, sentence.end, size)
        if whole and len(tokens) <= size:
            units.append((sentence, len(tokens)))
        else:
            units.extend(_split_long(text, sentence, size))
    return units


def _split_long(text: str, sentence: Sentence, size: int) -> list[tuple[Sentence, int]]:
    pieces: list[tuple[Sentence, int]] = []
    start = sentence.start
    while start < sentence.end:
        end = _piece_end(text, start, sentence.end, size)
        piece = Sentence(text[start:end], start, end)
        pieces.append((piece, count_tokens(piece.text)))
        start = end
        while start < sentence.end and text[start].isspace():
            start += 1
    return pieces


def _piece_end(text: str, start: int, stop: int, size: int) -> int:
    """End of the piece of text[start:stop] that starts at `start`: `size` tokens, to a space."""
    tokens, whole = _head_tokens(text, start, stop, size)
    if whole and len(tokens) <= size:
        return stop
    end = start + len(encoding().decode(tokens[:size]))
    space = text.rfind(" ", start + 1, end)
    return space if space > start else end


def _head_tokens(text: str, start: int, stop: int, size: int) -> tuple[list[int], bool]:
    """The tokens of text[start:stop] (and True), or of a prefix holding over `size` of them.

    The prefix ends before a space that follows a non-space, where no cl100k pre-token
    crosses, so its tokens are exactly the first tokens of the whole. Encoding the whole rest
    of a long sentence for every piece cut from it took quadratic time, and BPE slows down on
    long runs without spaces. Where there is no such space within `_MAX_WINDOW` tokens' worth
    of characters the prefix is cut there anyway (no ordinary sentence gets that far).
    """
    width = (size + 1) * _CHARS_PER_TOKEN
    while start + width < stop:
        window_end = min(start + width, start + (size + 1) * _MAX_CHARS_PER_TOKEN)
        boundary = _LAST_WORD_END.match(text, start, window_end + 1)
        cut = boundary.end() if boundary else window_end
        tokens = _encode(text[start:cut])
        if len(tokens) > size or not boundary or window_end < start + width:
            return tokens, False
        width *= 2
    return _encode(text[start:stop]), True


def _encode(text: str) -> list[int]:
    tokens: list[int] = encoding().encode(text, disallowed_special=())
    return tokens
