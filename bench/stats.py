"""Intervals and folds: paired bootstrap intervals, and k-fold splits grouped by question week.

A benchmark question set is small (hundreds of questions), so a difference of a few points can
be noise; every figure that compares two systems is shown with a paired bootstrap 95% interval,
and anything learned is scored out of fold, with whole weeks held out together (questions of one
week share news, so splitting a week would leak).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

ROUNDS = 2000


@dataclass(frozen=True)
class Estimate:
    """A mean with its bootstrap 95% interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """The estimate as JSON-ready numbers."""
        return {"value": self.value, "low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _percentiles(means: list[float]) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles, as many values cut off each side."""
    means.sort()
    cut = int(0.025 * len(means))
    return means[cut], means[len(means) - 1 - cut]


def bootstrap(values: Sequence[float], rounds: int = ROUNDS, seed: int = 0) -> Estimate:
    """The mean of `values` and its percentile bootstrap 95% interval."""
    if not values:
        return Estimate(float("nan"), float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(values)
    means = [sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(rounds)]
    low, high = _percentiles(means)
    return Estimate(sum(values) / n, low, high)


def paired_difference(
    ours: Sequence[float], theirs: Sequence[float], rounds: int = ROUNDS, seed: int = 0
) -> Estimate:
    """Mean of ours - theirs over the same items, with a paired bootstrap 95% interval."""
    if len(ours) != len(theirs):
        raise ValueError("a paired difference needs the same items on both sides")
    return bootstrap([a - b for a, b in zip(ours, theirs, strict=True)], rounds, seed)


_DAY = re.compile(r"(\d{4})\D(\d{1,2})\D(\d{1,2})")


def question_day(question_date: str) -> date | None:
    """The day of a question date given as 2025/01/10, 2025-01-10 or similar (None if none)."""
    found = _DAY.search(question_date or "")
    return date(*(int(part) for part in found.groups())) if found else None


def question_week(question_date: str) -> str:
    """The ISO week ('2025-W02') of a question date given as 2025/01/10, 2025-01-10 or similar."""
    day = question_day(question_date)
    if day is None:
        return "unknown"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def grouped_folds(groups: Sequence[str], k: int, seed: int = 0) -> list[list[int]]:
    """Item indices split into k folds, every group (week) wholly inside one fold."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    names = sorted(set(groups))
    if len(names) < k:
        raise ValueError(f"only {len(names)} groups for {k} folds")
    random.Random(seed).shuffle(names)
    fold_of = {name: i % k for i, name in enumerate(names)}
    folds: list[list[int]] = [[] for _ in range(k)]
    for index, group in enumerate(groups):
        folds[fold_of[group]].append(index)
    return folds
