"""Fitting the answer model's logistic regression (`rag.sentence_model.Logistic`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.sentence_model import Logistic


def fit_logistic(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    names: Sequence[str],
    l2: float = 1.0,
    weights: Sequence[float] | None = None,
) -> Logistic:
    """A logistic regression fitted by Newton's method with an L2 penalty (rows weighted 1 each
    unless `weights` says otherwise)."""
    x = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    weight = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (weight * (p - y)) + penalty * w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Logistic(tuple(names), tuple(mean), tuple(scale), tuple(w[:-1]), float(w[-1]))
