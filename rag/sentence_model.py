"""Choosing the answer sentence with a small learned model.

Every candidate sentence of the retrieved passages is described by a few numbers
(`SENTENCE_FEATURES`): how much of the question it covers, how its passage ranked, and whether
it holds the kind of thing the question asks for (a name for "who", a date for "when", a number
for "how many"), and, when the question has an as-of day, whether its article is from that
week. A logistic regression scores each sentence as stating the answer; the best one
leads. Whether to answer at all stays with the word-coverage rule of `rag.coverage`.

Trained by `python -m bench realtimeqa --train FILE` (every question asked both plainly and as of
its day) and shipped as readable JSON coefficients.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.body import body_sentences, distinct
from rag.citations import content_words
from rag.coverage import confident, share
from rag.types import Filters, Passage

Tokenize = Callable[[list[str]], list[list[str]]]
KINDS = ("person", "date", "place", "number", "other")
SENTENCE_FEATURES = (
    "coverage",
    "coverage_vs_best",
    "title_coverage",
    "rank_prior",
    "dense",
    "bm25_vs_best",
    "position_prior",
    "length",
    "novel_names",
    "novel_number",
    "date_words",
    *(f"fit_{kind}" for kind in KINDS),
    "in_week",
)
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
NUMBER = re.compile(r"\b\d[\d,.]*\b")
_DATE_WORD = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(?:19|20)\d\d\b|"
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.I,
)
_KIND_CUES = (
    ("number", re.compile(r"\bhow (?:many|much|long|old|far)\b|\bwhat (?:percent|number)", re.I)),
    ("date", re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month)\b", re.I)),
    ("person", re.compile(r"\bwho(?:m|se)?\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhich (?:country|city|state|nation)\b", re.I)),
)


def question_kind(question: str) -> str:
    """What the question asks for: person, date, place, number or other."""
    return next((kind for kind, cue in _KIND_CUES if cue.search(question)), "other")


@dataclass
class Candidate:
    """A sentence of a retrieved passage, with the numbers the models read."""

    text: str
    passage: Passage
    coverage: float
    features: dict[str, float]
    score: float = 0.0  # the sentence model's probability, once scored
    previous: str = ""  # the sentence before it in its passage (what the reader reads beside it)

    @property
    def vouched(self) -> float:
        """What decides whether the corpus answers: the sentence's coverage or its headline's
        (`rag.coverage.Pick.vouched`)."""
        return max(self.coverage, self.features.get("title_coverage", 0.0))


@dataclass(frozen=True)
class _Sentence:
    text: str
    rank: int  # of its passage
    position: int  # in its passage
    passage: Passage
    previous: str


def candidates(evidence: Evidence, tokenize: Tokenize) -> list[Candidate]:
    """Every answer-like sentence of the evidence's passages, described for the sentence model.

    With an as-of week, whether a sentence's article is from it counts: a quiz's "this week" is
    answered by that week's articles more often than by later ones.
    """
    question, passages, week = evidence.question, evidence.passages, evidence.week
    weights = dict(evidence.focus)
    found = [
        _Sentence(s.text, rank, position, passage, sentences[position - 1].text if position else "")
        for rank, passage in enumerate(passages)
        for sentences in (body_sentences(passage),)
        for position, s in enumerate(sentences)
        if len(s.text.split()) >= 6
    ]
    found = [f for f, kept in zip(found, distinct([f.text for f in found]), strict=True) if kept]
    if not found:
        return []
    tokens = [set(t) for t in tokenize([f.text for f in found] + [p.title for p in passages])]
    covered = [share(t, weights) for t in tokens[: len(found)]]
    asked = set(re.findall(r"[a-z0-9]+", question.lower()))
    kind = question_kind(question)
    best = max(covered) or 1.0
    top_bm25 = max((p.bm25 or 0.0) for p in passages) or 1.0
    out = []
    for i, f in enumerate(found):
        shape = _shape(f.text, asked, kind)
        features = {
            "coverage": covered[i],
            "coverage_vs_best": covered[i] / best,
            "title_coverage": share(tokens[len(found) + f.rank], weights),
            "rank_prior": 1.0 / (f.rank + 1),
            "dense": f.passage.dense or 0.0,
            "bm25_vs_best": (f.passage.bm25 or 0.0) / top_bm25,
            "position_prior": 1.0 / (f.position + 1),
            "length": min(len(f.text.split()), 80) / 80,
            "in_week": float(_within(f.passage, week)),
            **shape,
        }
        out.append(Candidate(f.text, f.passage, covered[i], features, previous=f.previous))
    return out


def _within(passage: Passage, week: Filters | None) -> bool:
    if week is None or passage.date is None or week.since is None or week.until is None:
        return False
    return week.since <= passage.date <= week.until


def _shape(text: str, asked: set[str], kind: str) -> dict[str, float]:
    """Whether the sentence adds names, numbers or dates to the question, and fits the ask."""
    names = [n for n in NAME.findall(text) if not set(n.lower().split()) <= asked]
    numbers = [n for n in NUMBER.findall(text) if n not in asked]
    shape = {
        "novel_names": min(len(names), 4) / 4,
        "novel_number": float(bool(numbers)),
        "date_words": float(bool(_DATE_WORD.search(text))),
    }
    fits = {
        "person": shape["novel_names"],
        "place": shape["novel_names"],
        "date": shape["date_words"],
        "number": shape["novel_number"],
        "other": shape["novel_names"],
    }
    shape.update({f"fit_{k}": (fits[k] if k == kind else 0.0) for k in KINDS})
    return shape


@dataclass
class Evidence:
    """What the sentence model reads for one question: its search terms with their weights, the
    retrieved passages and the as-of week (`rag.filters.as_of_week`), if it has an as-of day."""

    question: str
    focus: dict[str, float]
    passages: list[Passage]
    week: Filters | None = None


def answerable(found: Sequence[Candidate]) -> bool:
    """Whether some sentence covers enough of the question (the rule `rag.coverage` applies)."""
    return any(confident(c.vouched, c.passage) for c in found)


RUNNER_UP = 0.5  # a further sentence joins the lead only if it scores at least half as high


def choose_ranked(
    ranked: Sequence[Candidate], limit: int, runner_up: float = RUNNER_UP
) -> list[Candidate]:
    """The lead sentence and up to limit-1 close runners-up that add something new."""
    if not ranked:
        return []
    chosen = [ranked[0]]
    seen = content_words(ranked[0].text)
    for candidate in ranked[1:]:
        if len(chosen) >= limit or candidate.score < runner_up * ranked[0].score:
            break
        words = content_words(candidate.text)
        if len(words - seen) >= max(3, len(words) // 3):
            chosen.append(candidate)
            seen |= words
    return chosen


class ModelFileError(RuntimeError):
    """The answer model file is missing or cannot be read."""


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over named features, standardised with the training data's moments."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probabilities(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        """P(positive) for each row of named features."""
        if not rows:
            return np.zeros(0)
        x = np.array([[row[n] for n in self.names] for row in rows], dtype=np.float64)
        z = ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef)
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))

    def as_dict(self) -> dict[str, Any]:
        """The model as JSON-ready values."""
        return {
            "features": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        """A model from `as_dict`'s values."""
        names = tuple(str(n) for n in data["features"])
        mean, scale, coef = (tuple(float(v) for v in data[k]) for k in ("mean", "scale", "coef"))
        if not len(names) == len(mean) == len(scale) == len(coef):
            raise ValueError("feature, mean, scale and coef lists differ in length")
        return cls(names, mean, scale, coef, float(data["intercept"]))


def rank(sentence: Logistic, found: list[Candidate]) -> list[Candidate]:
    """Candidates scored by a sentence model (their `score` set), best first."""
    for candidate, p in zip(
        found, sentence.probabilities([c.features for c in found]), strict=True
    ):
        candidate.score = float(p)
    return sorted(found, key=lambda c: -c.score)


@dataclass(frozen=True)
class AnswerModel:
    """The sentence model, and what it was trained on."""

    sentence: Logistic
    trained_on: str = ""

    def rank(self, found: list[Candidate]) -> list[Candidate]:
        """Candidates scored by the sentence model, best first."""
        return rank(self.sentence, found)

    def save(self, path: Path) -> None:
        """Write the model as readable JSON."""
        data = {
            "about": "Newsdesk answer model: a logistic regression, see rag/sentence_model.py",
            "trained_on": self.trained_on,
            "sentence": self.sentence.as_dict(),
        }
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> AnswerModel:
        """The model in `path`; ModelFileError naming the file and the fix when it cannot be."""
        fix = "reinstall Newsdesk, or retrain it with `python -m bench realtimeqa --train FILE`"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls(Logistic.from_dict(data["sentence"]), str(data.get("trained_on", "")))
        except FileNotFoundError:
            raise ModelFileError(f"answer model {path} is missing; {fix}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"answer model {path} is corrupt ({exc}); {fix}") from None
        if set(model.sentence.names) != set(SENTENCE_FEATURES):
            raise ModelFileError(f"answer model {path} was made for other features; {fix}")
        return model


def shipped_model_path() -> Path:
    """The answer model shipped with Newsdesk."""
    return Path(__file__).resolve().parent / "models" / "answerer.json"
