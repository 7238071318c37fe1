"""Calibrated class scores: temperature scaling and how well scores match frequencies.

A network's softmax scores are not probabilities: a StarcNet score of 0.9 is
right less than 90% of the time when the network is over-confident.
Temperature scaling (Guo et al. 2017) divides the logits by one number T,
fitted on the validation set by minimising the negative log-likelihood; it
never changes the predicted class, only how sure the scores are.
:func:`expected_calibration_error` and :func:`reliability_curve` measure the
result on held-out labels.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

__all__ = [
    "CALIBRATION_BINS",
    "apply_temperature",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_curve",
]

#: Equal-width confidence bins of the reliability diagram and the ECE.
CALIBRATION_BINS = 10

# T outside this range means the validation set is too small or degenerate to say.
_T_RANGE = (0.05, 20.0)


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature T minimising the NLL of ``softmax(logits / T)`` for ``targets``.

    Parameters
    ----------
    logits : numpy.ndarray
        ``(N, K)`` validation logits.
    targets : numpy.ndarray
        ``(N,)`` 0-based classes.

    Returns
    -------
    float
        T in [0.05, 20]; 1.0 (no change) without validation rows.
    """
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 1.0
    rows = np.arange(len(targets))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, targets].mean())

    best = minimize_scalar(nll, bounds=np.log(_T_RANGE), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated scores ``softmax(logits / temperature)``, ``(N, K)``."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def reliability_curve(scores: np.ndarray, targets: np.ndarray, n_bins: int = CALIBRATION_BINS) -> dict:
    """Per confidence bin: mean confidence, accuracy and count of the top-class scores.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` class scores.
    targets : numpy.ndarray
        ``(N,)`` 0-based true classes.
    n_bins : int
        Equal-width bins over [0, 1].

    Returns
    -------
    dict
        ``edges`` (n_bins + 1), ``confidence``, ``accuracy`` (None for empty bins)
        and ``count`` per bin, JSON-ready lists.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    confidence = scores.max(axis=1) if len(scores) else np.zeros(0)
    correct = scores.argmax(axis=1) == targets if len(scores) else np.zeros(0, bool)
    # the top bin is closed so that a score of exactly 1 counts
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct.astype(float), minlength=n_bins) / count

    def listed(values: np.ndarray) -> list[float | None]:
        return [float(v) if n else None for v, n in zip(values, count, strict=True)]

    return {
        "edges": edges.tolist(),
        "confidence": listed(mean_conf),
        "accuracy": listed(accuracy),
        "count": count.astype(int).tolist(),
    }


def expected_calibration_error(
    scores: np.ndarray, targets: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over the reliability bins (0-1)."""
    curve = reliability_curve(scores, targets, n_bins)
    count = np.asarray(curve["count"], dtype=np.float64)
    if count.sum() == 0:
        return float("nan")
    filled = count > 0
    accuracy = np.asarray([a for a, n in zip(curve["accuracy"], count, strict=True) if n], dtype=float)
    confidence = np.asarray([c for c, n in zip(curve["confidence"], count, strict=True) if n], dtype=float)
    return float((np.abs(accuracy - confidence) * count[filled]).sum() / count.sum())
