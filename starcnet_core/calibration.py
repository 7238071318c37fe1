"""Calibrated class scores: temperature, vector and matrix scaling, and how well scores match frequencies.

A network's softmax scores are not probabilities: a StarcNet score of 0.9 is
right less than 90% of the time when the network is over-confident.
Temperature scaling (Guo et al. 2017) divides the logits by one number T,
fitted on the validation set by minimising the negative log-likelihood; it
never changes the predicted class, only how sure the scores are.
:func:`expected_calibration_error` and :func:`reliability_curve` measure the
result on held-out labels.

Temperature scaling cannot correct a network whose implied class frequencies
are not the survey's (the paper's class balancing trains towards equal
classes): vector scaling (a scale and a bias per class) and matrix scaling (a
full affine map of the logits) can. :func:`fit_calibration` fits all three on
the validation set and picks the one with the lowest cross-validated NLL *on
that same validation set* (so the more flexible maps win only where they
generalise), then refits it on the whole validation set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax

__all__ = [
    "CALIBRATION_BINS",
    "CALIBRATION_KINDS",
    "Calibration",
    "fit_calibration",
    "apply_affine",
    "apply_temperature",
    "expected_calibration_error",
    "fit_affine",
    "fit_temperature",
    "negative_log_likelihood",
    "reliability_curve",
]

#: Equal-width confidence bins of the reliability diagram and the ECE.
CALIBRATION_BINS = 10

#: The post-hoc calibrations :func:`fit_calibration` chooses from.
CALIBRATION_KINDS: tuple[str, ...] = ("temperature", "vector", "matrix")

# Vector and matrix scaling are only tried on a validation set this large, with
# every class at least this often: below it their 2K or K^2 + K numbers over-fit.
_AFFINE_MIN_ROWS, _AFFINE_MIN_PER_CLASS = 200, 10
_CV_FOLDS = 5

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


def negative_log_likelihood(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean ``-log`` score of the true class (nats); the criterion every scaling here is fitted by."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    return float(-np.log(np.clip(scores[np.arange(len(targets)), targets], 1e-300, None)).mean())


def fit_affine(
    logits: np.ndarray, targets: np.ndarray, kind: str = "vector"
) -> tuple[np.ndarray, np.ndarray]:
    """Vector or matrix scaling (Guo et al. 2017): ``softmax(logits @ W.T + b)`` fitted by NLL.

    ``kind="vector"`` fits a diagonal ``W`` and ``b`` (2K numbers), ``"matrix"``
    a full ``W`` and ``b`` (K^2 + K). Unlike temperature scaling both can change
    the predicted class. Fitted by L-BFGS from the identity (no change).

    Returns
    -------
    W : numpy.ndarray
        ``(K, K)``.
    b : numpy.ndarray
        ``(K,)``.
    """
    if kind not in ("vector", "matrix"):
        raise ValueError(f"kind must be 'vector' or 'matrix', not {kind!r}")
    z = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    n, k = z.shape
    if n == 0:
        return np.eye(k), np.zeros(k)
    onehot = np.eye(k)[targets]

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if kind == "vector":
            return np.diag(theta[:k]), theta[k:]
        return theta[: k * k].reshape(k, k), theta[k * k :]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = unpack(theta)
        shifted = z @ w.T + b
        log_p = log_softmax(shifted, axis=1)
        residual = (np.exp(log_p) - onehot) / n
        grad_w = residual.T @ z
        grad = np.diag(grad_w) if kind == "vector" else grad_w.ravel()
        return float(-(log_p * onehot).sum() / n), np.concatenate([grad, residual.sum(axis=0)])

    start = np.concatenate([np.ones(k) if kind == "vector" else np.eye(k).ravel(), np.zeros(k)])
    best = minimize(loss, start, jac=True, method="L-BFGS-B")
    return unpack(best.x)


def apply_affine(logits: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Scores ``softmax(logits @ weight.T + bias)`` of :func:`fit_affine`, ``(N, K)``."""
    z = np.asarray(logits, dtype=np.float64)
    return softmax(z @ np.asarray(weight, dtype=np.float64).T + np.asarray(bias, dtype=np.float64), axis=1)


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


@dataclass(frozen=True)
class Calibration:
    """A fitted post-hoc calibration of logits.

    Attributes
    ----------
    kind : {"temperature", "vector", "matrix"}
    temperature : float
        T of temperature scaling (1.0 for the affine kinds).
    weight, bias : numpy.ndarray
        ``(K, K)`` and ``(K,)`` of the affine map ``logits @ weight.T + bias``
        (``eye / T`` and zeros for temperature scaling).
    cv_nll : dict
        Cross-validated validation NLL of each kind tried (nats).
    """

    kind: str
    temperature: float
    weight: np.ndarray
    bias: np.ndarray
    cv_nll: dict[str, float] = field(default_factory=dict)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated scores ``(N, K)``."""
        if self.kind == "temperature":
            return apply_temperature(logits, self.temperature)
        return apply_affine(logits, self.weight, self.bias)

    def to_dict(self) -> dict:
        """JSON-ready description (what a checkpoint's provenance keeps)."""
        return {
            "kind": self.kind,
            "temperature": float(self.temperature),
            "weight": np.asarray(self.weight, dtype=float).tolist(),
            "bias": np.asarray(self.bias, dtype=float).tolist(),
            "cv_nll": {name: float(value) for name, value in self.cv_nll.items()},
        }


def _fit_kind(kind: str, logits: np.ndarray, targets: np.ndarray) -> Calibration:
    k = logits.shape[1]
    if kind == "temperature":
        temperature = fit_temperature(logits, targets)
        return Calibration(kind, temperature, np.eye(k) / temperature, np.zeros(k))
    weight, bias = fit_affine(logits, targets, kind)
    return Calibration(kind, 1.0, weight, bias)


def fit_calibration(
    logits: np.ndarray,
    targets: np.ndarray,
    kinds: tuple[str, ...] = CALIBRATION_KINDS,
    *,
    folds: int = _CV_FOLDS,
    seed: int = 0,
) -> Calibration:
    """The calibration of ``kinds`` with the lowest cross-validated NLL on the validation rows, refitted on all.

    Each kind is fitted on ``folds - 1`` folds of the validation rows
    (stratified by class) and scored by the NLL of the remaining fold; the
    winner is refitted on every row. Vector and matrix scaling are tried only
    on at least 200 validation rows with every class at least 10 times;
    otherwise (and without validation rows) it is temperature scaling.

    Parameters
    ----------
    logits : numpy.ndarray
        ``(N, K)`` validation logits.
    targets : numpy.ndarray
        ``(N,)`` 0-based classes.
    """
    from sklearn.model_selection import StratifiedKFold

    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    unknown = set(kinds) - set(CALIBRATION_KINDS)
    if unknown or not kinds:
        raise ValueError(f"calibration kinds must be among {CALIBRATION_KINDS}, not {sorted(unknown)}")
    counts = np.bincount(targets, minlength=logits.shape[1]) if len(targets) else np.zeros(1)
    if len(targets) < _AFFINE_MIN_ROWS or counts.min() < _AFFINE_MIN_PER_CLASS:
        kinds = ("temperature",)
    if len(kinds) == 1:
        return _fit_kind(kinds[0], logits, targets)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    cv_nll = {}
    for kind in kinds:
        total = 0.0
        for train, test in split.split(logits, targets):
            fitted = _fit_kind(kind, logits[train], targets[train])
            total += negative_log_likelihood(fitted.apply(logits[test]), targets[test]) * len(test)
        cv_nll[kind] = total / len(targets)
    best = min(kinds, key=lambda kind: cv_nll[kind])
    fitted = _fit_kind(best, logits, targets)
    return Calibration(fitted.kind, fitted.temperature, fitted.weight, fitted.bias, cv_nll)
