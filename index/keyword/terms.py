"""Search terms: how texts and questions become BM25 tokens, shared by the index and retrieval."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from typing import Any

RULES = 1  # bump whenever `tokenize` changes what a text becomes (stored tokens depend on it)

# Words that shape a question but say nothing about its subject (after stemming).
QUESTION_WORDS = frozenset(
    """
    how what who whom whose when where which why mani much about did doe do tell told say said
    happen report accord news latest anyth someth also els
    """.split()
)


def tokens_version() -> str:
    """What decides a text's tokens: these rules and the libraries that apply them.

    A keyword index records it; one made under another is refilled rather than searched with
    tokens that no longer match the question's (an upgrade of bm25s or PyStemmer counts).
    """
    return f"rules {RULES}; bm25s {version('bm25s')}; PyStemmer {version('PyStemmer')}"


def make_stemmer() -> Any:
    """The English Snowball stemmer BM25 tokens are stemmed with."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str], stemmer: Any) -> list[list[str]]:
    """BM25 tokens: lower-case words without English stopwords, stemmed."""
    import bm25s

    out = bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False
    )
    return [list(tokens) for tokens in out]


def tokenizer() -> Callable[[list[str]], list[list[str]]]:
    """`tokenize` with a stemmer of its own: how the index, retrieval and the answerers read
    texts."""
    return partial(tokenize, stemmer=make_stemmer())


def query_tokens(query: str, stemmer: Any) -> list[str]:
    """Tokens of a question without the words that only make it a question."""
    return [t for t in tokenize([query], stemmer)[0] if t not in QUESTION_WORDS]
