"""The reader: a cross-encoder that scores how well one sentence states the answer to a question.

It reads the question against the sentence, its article's title and the sentence before it, so a
sentence that answers in other words than the question's can lead over one that only repeats
them. It runs on ONNX Runtime from files shipped in the package (`rag/models/reader/`: the int8
model, its tokenizer and a card with what was chosen for it on training data), scoring
all of a question's candidates in one batch. Trained by `python -m bench.train_reader`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.body import body_sentences
from rag.coverage import quotable, shares_and_headlines
from rag.types import Passage

Tokenize = Callable[[list[str]], list[list[str]]]
SEPARATOR = " || "


class ReaderFileError(RuntimeError):
    """A reader file is missing or cannot be read."""


def candidate_text(sentence: str, title: str, previous: str) -> str:
    """What the reader reads beside the question: the sentence first, so a long context is
    what truncation cuts."""
    return SEPARATOR.join(part for part in (sentence, title, previous) if part)


@dataclass(frozen=True)
class Card:
    """What the shipped reader was trained on and the threshold chosen for it."""

    threshold: float
    about: dict[str, Any]
    weight: float = 1.0  # the reader's order beside the sentence model's, chosen with the model


def shipped_reader_dir() -> Path:
    """The reader shipped with Newsdesk."""
    return Path(__file__).resolve().parent / "models" / "reader"


class Reader:
    """Scores (question, candidate) pairs with the ONNX cross-encoder in `folder`."""

    def __init__(self, folder: Path, max_tokens: int = 64, threads: int = 0) -> None:
        self.folder = folder
        self.card = _card(folder / "card.json")
        # Truncation cuts the context after the sentence first (`candidate_text`); the cost of a
        # batch grows with its longest pair, so this bounds the reader's latency.
        self._tokenizer = _tokenizer(folder / "tokenizer.json", max_tokens)
        self._session = _session(folder / "model.onnx", threads)
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    @property
    def threshold(self) -> float:
        """The score below which no sentence is taken to state the answer."""
        return self.card.threshold

    @property
    def weight(self) -> float:
        """How much the reader's order counts beside the sentence model's (1: alike)."""
        return self.card.weight

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One score per candidate text, higher for a sentence that states the answer."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encoded = self._tokenizer.encode_batch([(question, t) for t in texts])
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        (scores,) = self._session.run(None, feed)
        return np.asarray(scores, dtype=np.float32).reshape(-1)


def _fix(path: Path) -> str:
    return f"reinstall Newsdesk, or set NEWSDESK_READER=off ({path})"


def _card(path: Path) -> Card:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # A card without a threshold (null): the reader orders sentences but never abstains on
        # its own; the sentence model and word coverage decide whether the corpus answers.
        threshold = float("-inf") if data["threshold"] is None else float(data["threshold"])
        return Card(threshold, data, float(data.get("weight", 1.0)))
    except FileNotFoundError:
        raise ReaderFileError(f"reader card {path} is missing; {_fix(path)}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderFileError(f"reader card {path} is corrupt ({exc}); {_fix(path)}") from None


def _tokenizer(path: Path, max_tokens: int) -> Any:
    from tokenizers import Tokenizer

    if not path.exists():
        raise ReaderFileError(f"reader tokenizer {path} is missing; {_fix(path)}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise ReaderFileError(f"reader tokenizer {path} is corrupt ({exc}); {_fix(path)}") from None
    # A question longer than the budget is cut too, rather than failing the whole batch.
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
    tokenizer.enable_padding()
    return tokenizer


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    if not path.exists():
        raise ReaderFileError(f"reader model {path} is missing; {_fix(path)}")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        reason = str(exc).splitlines()[0][:160]
        raise ReaderFileError(f"reader model {path} is corrupt ({reason}); {_fix(path)}") from None


@dataclass(frozen=True)
class Sentence:
    """A candidate answer sentence of a retrieved passage, with what the reader reads beside it."""

    text: str
    passage: Passage
    previous: str
    coverage: float  # the share of the question's weighted words it holds (`rag.coverage`)
    lexical: float  # the word-coverage order's score: coverage, and its passage's rank
    support: float = 0.0  # the share its article's headline holds (`rag.coverage.Pick.support`)

    @property
    def vouched(self) -> float:
        """What decides whether the corpus answers (`rag.coverage.Pick.vouched`)."""
        return max(self.coverage, self.support)


def sentence_pool(
    passages: Sequence[Passage], weights: Mapping[str, float], tokenize: Tokenize, cap: int
) -> list[Sentence]:
    """The `cap` candidate sentences of the passages that share most of the question's words.

    Only whole body sentences: a line without closing punctuation (a headline, a caption), one
    that repeats its article's title, and a second copy of a sentence are left out.
    """
    found: dict[str, tuple[str, Passage, str, float]] = {}
    for rank, passage in enumerate(passages):
        sentences = [s.text for s in body_sentences(passage)]
        for i, text in enumerate(sentences):
            key = " ".join(text.lower().split())
            if key in found or not _body_sentence(text, passage.title):
                continue
            found[key] = (text, passage, sentences[i - 1] if i else "", 1.0 / (rank + 2))
    if not found:
        return []
    rows = list(found.values())
    shares, headline = shares_and_headlines([r[0] for r in rows], passages, tokenize, weights)
    pool = []
    for (text, passage, previous, prior), coverage in zip(rows, shares, strict=True):
        lexical = 0.8 * coverage + 0.2 * prior
        pool.append(Sentence(text, passage, previous, coverage, lexical, headline[id(passage)]))
    pool.sort(key=lambda s: -s.lexical)
    return pool[:cap]


def _body_sentence(text: str, title: str) -> bool:
    if not quotable(text):
        return False
    core = " ".join(text.lower().split()).rstrip(".")
    return not title or core != " ".join(title.lower().split()).rstrip(".")
