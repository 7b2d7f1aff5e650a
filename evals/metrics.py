"""Scoring evaluated answers: source hits, facts, citation support, abstention and latency.

Every metric is a share in [0, 1] except the latencies (milliseconds). A metric that no
question applies to is None (shown as "n/a"), never a made-up 0 or 1.

Citation precision and recall follow ALCE (Gao et al. 2023, "Enabling Large Language Models
to Generate Text with Citations"), with the answering layer's support check
(`SupportChecker.score >= threshold`) standing in for ALCE's NLI model:
    recall    = sentences with at least one supporting citation / sentences
    precision = (sentence, citation) pairs where the cited passage supports the sentence / pairs
Both are computed per answer and averaged over the answers that did not abstain, as ALCE does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from index.dates import parse_day
from rag.support import SupportChecker, told
from rag.types import Answer, Passage, Source

METRICS = tuple(
    """
    source_hit_rate mrr fact_recall answer_accuracy citation_precision citation_recall
    abstention_accuracy false_abstention_rate latency_ms_p50 latency_ms_p95
    """.split()
)
# A floor only makes sense where higher is better.
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "latency_ms_p50", "latency_ms_p95"})

Metrics = dict[str, float | None]

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
    }
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


Day = Annotated[date, BeforeValidator(parse_day)]


class SourceSpec(BaseModel):
    """An expected source: every key given must match the passage (or one of its copies)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    doc: str | None = None
    outlet: str | None = None
    date: Day | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> SourceSpec:
        if self.doc is None and self.outlet is None and self.date is None:
            raise ValueError("give at least one of doc, outlet, date")
        return self

    def matches(self, source: Source) -> bool:
        """True when every key this spec gives matches `source`."""
        return (
            (self.doc is None or self.doc == source.doc_id)
            and (self.outlet is None or _same_outlet(self.outlet, source.outlet))
            and (self.date is None or self.date == source.date)
        )


@dataclass
class Record:
    """One evaluated question: what was expected and the answer that came back."""

    id: str
    answer: Answer
    answerable: bool = True
    facts: list[list[str]] = field(default_factory=list)  # each fact: its alternatives
    sources: list[SourceSpec] = field(default_factory=list)
    latency_ms: float = 0.0


@dataclass
class Outcome:
    """How one record fared."""

    passed: bool
    source_rank: int | None  # 1-based rank of the first matching passage within top-k
    missing_facts: list[list[str]]


@dataclass
class Scored:
    """The metrics and each record's outcome, in record order."""

    metrics: Metrics
    outcomes: list[Outcome]
    counts: dict[str, int] = field(default_factory=dict)  # how many values each metric is over


def fold_for_matching(text: str) -> str:
    """Case-folded text with one kind of quote, one kind of dash and single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", _DASHES.sub("-", text)).strip().casefold()


def _same_outlet(wanted: str, outlet: str | None) -> bool:
    return outlet is not None and fold_for_matching(wanted) == fold_for_matching(outlet)


def fact_found(alternatives: Sequence[str], text: str) -> bool:
    """True when any alternative occurs in `text` as whole words (so '74' is not found in '1974')."""
    return fact_in_folded(alternatives, fold_for_matching(text))


def fact_in_folded(alternatives: Sequence[str], folded: str) -> bool:
    """`fact_found` on a text already passed through `fold_for_matching` (fold a corpus once)."""
    return any(_whole_words_in(fold_for_matching(a), folded) for a in alternatives)


def _whole_words_in(needle: str, haystack: str) -> bool:
    # str.find, not a regex: a whole corpus's text is searched once per question.
    start = haystack.find(needle) if needle else -1
    while start >= 0:
        end = start + len(needle)
        left_ok = not _word(needle[0]) or start == 0 or not _word(haystack[start - 1])
        right_ok = not _word(needle[-1]) or end == len(haystack) or not _word(haystack[end])
        if left_ok and right_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def answer_text(answer: Answer) -> str:
    """What facts are looked for in: the answer's sentences, without citation markers.

    An abstention has no answer text: the titles of the closest articles it lists are not an answer.
    """
    if answer.abstained:
        return ""
    return " ".join(s.text for s in answer.sentences) if answer.sentences else answer.answer


def passage_matches(spec: SourceSpec, passage: Passage) -> bool:
    """True when the passage, or one of its syndicated copies, matches the spec."""
    return spec.matches(passage) or any(spec.matches(copy) for copy in passage.also_in)


def source_rank(record: Record, k: int) -> int | None:
    """1-based rank of the first top-k passage matching an expected source, or None."""
    for rank, passage in enumerate(record.answer.retrieved[:k], start=1):
        if any(passage_matches(spec, passage) for spec in record.sources):
            return rank
    return None


def judge(record: Record, k: int) -> Outcome:
    """Pass or fail one record, with its source rank and missing facts."""
    text = answer_text(record.answer)
    missing = [alts for alts in record.facts if not fact_found(alts, text)]
    rank = source_rank(record, k) if record.sources else None
    if not record.answerable:
        return Outcome(passed=record.answer.abstained, source_rank=rank, missing_facts=missing)
    passed = (
        not record.answer.abstained and not missing and (not record.sources or rank is not None)
    )
    return Outcome(passed=passed, source_rank=rank, missing_facts=missing)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def citation_scores(answer: Answer, checker: SupportChecker) -> tuple[float, float]:
    """(precision, recall) of one answer's citations, ALCE-style (see the module docstring)."""
    by_number = {c.number: c for c in answer.citations}
    pairs = supported_pairs = covered = 0
    for sentence in answer.sentences:
        support = [
            n in by_number
            and checker.score(sentence.text, by_number[n].passage, told(by_number[n]))
            >= checker.threshold
            for n in sentence.citations
        ]  # a number that points at no citation supports nothing
        pairs += len(support)
        supported_pairs += sum(support)
        covered += any(support)
    precision = supported_pairs / pairs if pairs else 0.0  # no citations: ALCE scores 0
    recall = covered / len(answer.sentences) if answer.sentences else 0.0
    return precision, recall


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def score(records: Sequence[Record], checker: SupportChecker, k: int = 5) -> Scored:
    """All metrics over the records (see `METRICS` and the module docstring)."""
    outcomes = [judge(r, k) for r in records]
    pairs = list(zip(records, outcomes, strict=True))
    with_sources = [o for r, o in pairs if r.answerable and r.sources]
    with_facts = [(r, o) for r, o in pairs if r.answerable and r.facts]
    cited = [citation_scores(r.answer, checker) for r in records if not r.answer.abstained]
    latencies = [r.latency_ms for r in records]
    # each metric: the values it is the mean of (or the latencies it is a percentile of)
    samples: dict[str, list[float]] = {
        "source_hit_rate": [o.source_rank is not None for o in with_sources],
        "mrr": [1.0 / o.source_rank if o.source_rank else 0.0 for o in with_sources],
        "fact_recall": [
            fact_found(alts, answer_text(r.answer)) for r, _ in with_facts for alts in r.facts
        ],
        "answer_accuracy": [not r.answer.abstained and not o.missing_facts for r, o in with_facts],
        "citation_precision": [p for p, _ in cited],
        "citation_recall": [rc for _, rc in cited],
        "abstention_accuracy": [r.answer.abstained for r in records if not r.answerable],
        "false_abstention_rate": [r.answer.abstained for r in records if r.answerable],
        "latency_ms_p50": latencies,
        "latency_ms_p95": latencies,
    }  # bools average as 0 and 1
    metrics: Metrics = {name: _mean(values) for name, values in samples.items()}
    metrics["latency_ms_p50"] = _percentile(latencies, 50)
    metrics["latency_ms_p95"] = _percentile(latencies, 95)
    counts = {name: len(values) for name, values in samples.items()}
    return Scored(metrics=metrics, outcomes=outcomes, counts=counts)


def parse_floors(specs: Sequence[str]) -> dict[str, float]:
    """`["fact_recall=0.8", ...]` as a dict; raises ValueError on bad syntax or metric names."""
    floors: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--fail-under wants METRIC=VALUE, e.g. fact_recall=0.8, not {spec!r}")
        if name not in METRICS:
            raise ValueError(f"--fail-under: unknown metric {name!r}; known: {', '.join(METRICS)}")
        if name in LOWER_IS_BETTER:
            raise ValueError(f"--fail-under: lower is better for {name}, so it cannot have a floor")
        try:
            floor = float(value)
        except ValueError:
            raise ValueError(
                f"--fail-under: {value.strip()!r} is not a number (in {spec!r})"
            ) from None
        if not 0.0 <= floor <= 1.0:  # NaN too: every comparison with it is false
            raise ValueError(f"--fail-under: a floor is a number from 0 to 1, not {spec!r}")
        floors[name] = floor
    return floors


def missed_floors(metrics: Metrics, floors: dict[str, float]) -> list[str]:
    """One message per floor the metrics miss; a metric that is n/a misses its floor."""
    messages = []
    for name, floor in floors.items():
        value = metrics.get(name)
        if value is None:
            messages.append(
                f"{name} is n/a (no question it applies to), so it cannot reach {floor:g}"
            )
        elif value < floor:
            messages.append(f"{name} {value:.3f} is below its floor {floor:g}")
    return messages
