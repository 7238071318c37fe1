"""Summaries of softmax class scores: the numbers the review queue and active learning rank by.

One definition for the whole project: the database stores what
:func:`score_summaries` returns, inference reports it, and active learning's
uncertainty measures are read off it, so the queue orders candidates by the
same numbers the active-learning benchmark measured. Scores are the ``(N, K)``
softmax outputs, columns classes 1..K; a zero score contributes nothing to the
entropy (the limit of ``p log p``). :func:`scored_with` and
:func:`scored_with_counts` name what computed a set of scores (a precision on
an engine) wherever scores are shown or counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["score_summaries", "mutual_information", "scored_with", "scored_with_counts"]


def score_summaries(scores: np.ndarray) -> dict[str, np.ndarray]:
    """Predicted class, confidence, margin and entropy of each row of ``scores``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` class scores (rows sum to 1), columns classes 1..K, K >= 2.

    Returns
    -------
    dict of numpy.ndarray
        ``predicted_class`` (1..K, the first of tied top scores), ``confidence``
        (the top score), ``margin`` (top minus second score) and ``entropy``
        (Shannon entropy in nats, ``0 log 0 = 0``); each ``(N,)``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (N, K) with K >= 2 classes, got shape {scores.shape}")
    ordered = np.sort(scores, axis=1)
    terms = scores * np.log(np.where(scores > 0, scores, 1.0))
    return {
        "predicted_class": scores.argmax(axis=1) + 1,
        "confidence": ordered[:, -1],
        "margin": ordered[:, -1] - ordered[:, -2],
        "entropy": -terms.sum(axis=1),
    }


def mutual_information(passes: np.ndarray) -> np.ndarray:
    """BALD: the mutual information between class and network of ``(S, N, K)`` scores of S stochastic passes (nats).

    The entropy of the mean scores minus the mean entropy of the passes
    (Houlsby et al. 2011), each entropy as :func:`score_summaries` defines it:
    high where the passes disagree (the model does not know), not where they
    agree on an ambiguous answer (the image does not tell).

    Raises
    ------
    ValueError
        Fewer than two passes, or not an ``(S, N, K)`` array.
    """
    passes = np.asarray(passes, dtype=np.float64)
    if passes.ndim != 3 or len(passes) < 2:
        raise ValueError("bald needs (S, N, K) scores of at least two stochastic passes")
    return _entropy(passes.mean(axis=0)) - _entropy(passes).mean(axis=0)


def scored_with(precision: str | None, engine: str | None) -> str:
    """``int8 on openvino``: the precision and engine that computed scores; ``not recorded`` without a precision."""
    if not precision:
        return "not recorded"
    return " on ".join(part for part in (precision, engine) if part)


def scored_with_counts(counts: Iterable[tuple[str | None, str | None, int]], separator: str = ", ") -> str:
    """``int8 on openvino 2,950, fp32 on torch 50``: how many scores each ``(precision, engine, n)`` computed."""
    return separator.join(f"{scored_with(precision, engine)} {n:,}" for precision, engine, n in counts)


def _entropy(scores: np.ndarray) -> np.ndarray:
    """Entropy of each score vector of an ``(..., K)`` array, as :func:`score_summaries` defines it."""
    return score_summaries(scores.reshape(-1, scores.shape[-1]))["entropy"].reshape(scores.shape[:-1])
