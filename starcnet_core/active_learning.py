"""Active learning: which candidates an expert should label next, and how to measure the gain.

The model's class scores say where it is unsure. :func:`uncertainty` turns
scores into one number per candidate (entropy, 1 - margin between the two
best classes, or 1 - top score); :func:`select_batch` picks the next batch to
label, either the most uncertain or at random. :func:`labelling_curve`
simulates a labelling campaign (label a batch, retrain, re-score, repeat) so
that strategies can be compared by the accuracy each reaches per label, and
:func:`labels_to_reach` reads off how many labels a curve needs for a target
accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "UNCERTAINTY_MEASURES",
    "uncertainty",
    "select_batch",
    "labelling_curve",
    "labels_to_reach",
]

#: Names accepted by :func:`uncertainty`.
UNCERTAINTY_MEASURES: tuple[str, ...] = ("entropy", "margin", "least_confident")


def uncertainty(scores: np.ndarray, measure: str = "margin") -> np.ndarray:
    """How unsure the model is about each candidate; larger is more uncertain.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` softmax class scores.
    measure : {"entropy", "margin", "least_confident"}
        ``entropy``: Shannon entropy of the scores (nats); ``margin``: 1 minus
        the difference between the two highest scores; ``least_confident``: 1
        minus the highest score.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if measure == "entropy":
        return -np.sum(scores * np.log(np.clip(scores, 1e-12, None)), axis=1)
    top_two = np.sort(scores, axis=1)[:, -2:]
    if measure == "margin":
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    if measure == "least_confident":
        return 1.0 - top_two[:, 1]
    raise ValueError(f"unknown uncertainty measure {measure!r}; choose from {UNCERTAINTY_MEASURES}")


def select_batch(
    scores: np.ndarray | None,
    candidates: np.ndarray,
    n: int,
    *,
    strategy: str = "margin",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Choose ``n`` of ``candidates`` to label next.

    Parameters
    ----------
    scores : numpy.ndarray or None
        ``(len(candidates), K)`` class scores of the candidates (ignored, and
        may be None, for ``strategy="random"``).
    candidates : numpy.ndarray
        Indices (or ids) of the unlabelled candidates.
    n : int
        Batch size; fewer are returned when fewer candidates remain.
    strategy : str
        ``"random"`` or one of :data:`UNCERTAINTY_MEASURES` (most uncertain first).
    rng : numpy.random.Generator, optional
        For ``random`` and to break ties.

    Returns
    -------
    numpy.ndarray
        The chosen entries of ``candidates``.
    """
    candidates = np.asarray(candidates)
    rng = rng or np.random.default_rng(0)
    n = min(n, len(candidates))
    if strategy == "random":
        return rng.choice(candidates, size=n, replace=False)
    # a random permutation first so that ties are broken at random, then a stable sort
    order = rng.permutation(len(candidates))
    values = uncertainty(np.asarray(scores)[order], strategy)
    chosen = order[np.argsort(-values, kind="stable")[:n]]
    return candidates[chosen]


def labelling_curve(
    fit_predict: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]],
    oracle: np.ndarray,
    *,
    strategy: str,
    initial: int,
    batch_size: int,
    budget: int,
    seed: int = 0,
) -> list[dict]:
    """Simulate labelling a pool batch by batch, retraining after each batch.

    Parameters
    ----------
    fit_predict : callable
        ``fit_predict(labelled_index, labels) -> (scores, accuracy)``: train on
        pool rows ``labelled_index`` with ``labels``; return ``(pool size, K)``
        class scores for the whole pool and the new model's accuracy on a
        fixed test set.
    oracle : numpy.ndarray
        ``(pool size,)`` the label an expert would give each pool row.
    strategy : str
        ``"random"`` or an uncertainty measure (see :func:`select_batch`).
    initial : int
        Labels drawn at random before the first fit (both strategies share them).
    batch_size : int
        Labels added per round.
    budget : int
        Stop once this many labels are used.
    seed : int
        Seed of the initial draw and of random selection.

    Returns
    -------
    list of dict
        One ``{"n_labels", "accuracy"}`` per round.
    """
    rng = np.random.default_rng(seed)
    pool = np.arange(len(oracle))
    labelled = rng.choice(pool, size=min(initial, len(pool)), replace=False)
    curve = []
    while True:
        scores, accuracy = fit_predict(labelled, oracle[labelled])
        curve.append({"n_labels": int(len(labelled)), "accuracy": float(accuracy)})
        remaining = np.setdiff1d(pool, labelled)
        if len(labelled) >= budget or len(remaining) == 0:
            return curve
        step = min(batch_size, budget - len(labelled))
        chosen = select_batch(scores[remaining], remaining, step, strategy=strategy, rng=rng)
        labelled = np.concatenate([labelled, chosen])


def labels_to_reach(curve: Sequence[dict], target: float) -> int | None:
    """The fewest labels at which ``curve`` reaches accuracy ``target`` (None if never)."""
    for point in curve:
        if point["accuracy"] >= target:
            return int(point["n_labels"])
    return None
