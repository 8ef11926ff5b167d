"""The `constant` baseline: the best fixed answer per category, fitted on the training split.

A model that beats it has learned something from the image. Per category the candidates are the
training answers themselves (so the answer is in the data's own format): for numeric categories,
up to `max_candidates` distinct answers spread over the value range, each scored on every
training item with the metric's rule (delta = max(p/g, g/p) < threshold; lists: mean delta); for
qualitative ones, the most frequent answer.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def _deltas(candidate: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Mean delta of one candidate (K,) against references (N, K), elementwise max(p/g, g/p)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = candidate[None, :] / references
        delta = np.maximum(ratio, 1.0 / ratio)
    delta[~np.isfinite(delta)] = np.inf
    return delta.mean(axis=1)


def fit_constant(answers: list[str], values: list[list[float]], categories: list[str], threshold: float = 1.25,
                 max_candidates: int = 256) -> dict[str, str]:
    """{category: the fixed answer string with the highest training success}."""
    if not (len(answers) == len(values) == len(categories)):
        raise ValueError(f"lengths differ: {len(answers)} answers, {len(values)} values, {len(categories)} categories")
    best = {}
    for category in sorted(set(categories)):
        rows = [i for i, c in enumerate(categories) if c == category]
        numeric = [i for i in rows if values[i]]
        if len(numeric) < len(rows) / 2:  # qualitative: the mode
            best[category] = Counter(answers[i] for i in rows).most_common(1)[0][0]
            continue
        # The most common value length (1 for distances, 3 for L x W x H) decides the answer shape.
        length = Counter(len(values[i]) for i in numeric).most_common(1)[0][0]
        numeric = [i for i in numeric if len(values[i]) == length]
        references = np.array([values[i] for i in numeric], dtype=np.float64)
        order = np.argsort(references.mean(axis=1), kind="stable")
        picks = order[np.unique(np.linspace(0, len(order) - 1, min(max_candidates, len(order))).astype(int))]
        rates = [(_deltas(references[k], references) < threshold).mean() for k in picks]
        best[category] = answers[numeric[int(picks[int(np.argmax(rates))])]]
    return best


def predict_constant(table: dict[str, str], categories: list[str]) -> list[str]:
    """The fitted answer of each item's category; a category unseen in training raises `KeyError`."""
    missing = sorted(set(categories) - set(table))
    if missing:
        raise KeyError(f"no constant answer fitted for categories {missing} (absent from the training split)")
    return [table[c] for c in categories]


__all__ = ["fit_constant", "predict_constant"]
