"""Evaluation of class scores against human labels, as in the paper's sections 4-5.

:func:`evaluate` turns the labels and the (N, 4) scores of a classifier into
one JSON-ready report: 4-class accuracy; the binary accuracies of the three
groupings of section 5.2; row-normalised confusion matrices with counts;
per-class precision, recall and precision-recall curves (one class against
the rest); bootstrap confidence intervals; accuracy per galaxy against
distance with Spearman's rho and the accuracies pooled in the paper's
distance bins (limits 5, 7, 9, 11 Mpc; Fig. 6); the distribution of the winning score
per predicted class (Fig. 5); agreement with the human labels (Cohen's kappa)
and, on simulated data, with the true class; calibration (expected
calibration error and the reliability curve). The figures of
:mod:`starcnet_core.evaluation.figures` draw from this report alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
)

from starcnet_core.calibration import expected_calibration_error, reliability_curve
from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.agreement import compare, expert_agreement, summarise
from starcnet_core.groupings import GROUPINGS, group_labels
from starcnet_core.io.stampset import StampSet

__all__ = [
    "CLASSES",
    "DISTANCE_BIN_LIMITS",
    "evaluate",
    "evaluate_stampset",
    "accuracy_block",
    "bootstrap_accuracy",
    "summary",
]

CLASSES: tuple[int, ...] = (1, 2, 3, 4)

#: Limits (Mpc) of the paper's five distance bins of Fig. 6.
DISTANCE_BIN_LIMITS: tuple[float, ...] = (5.0, 7.0, 9.0, 11.0)

_PR_POINTS = 101
_HIST_BINS = 20


def bootstrap_accuracy(
    correct: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of a boolean ``correct`` array."""
    if len(correct) == 0 or n_boot < 1:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for i in range(n_boot):
        means[i] = correct[rng.integers(0, len(correct), len(correct))].mean()
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def accuracy_block(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int], n_boot: int, seed: int) -> dict:
    """Accuracy, its bootstrap 95% interval and the confusion matrix (counts and row-normalised)."""
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    correct = y_true == y_pred
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "accuracy_ci95": list(bootstrap_accuracy(correct, n_boot, seed)),
        "ci95_method": f"percentile bootstrap of these predictions ({n_boot} resamples; one network)",
        "labels": labels,
        "confusion_counts": counts.tolist(),
        "confusion_normalised": normalised.round(4).tolist(),
    }


def _per_class(y_true: np.ndarray, scores: np.ndarray) -> dict:
    y_pred = scores.argmax(axis=1) + 1
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(CLASSES), zero_division=0
    )
    out = {}
    for k, cls in enumerate(CLASSES):
        positive = y_true == cls
        entry = {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        if positive.any() and not positive.all():
            p, r, _ = precision_recall_curve(positive, scores[:, k])
            # a fixed recall grid keeps the JSON small whatever the sample size
            grid = np.linspace(0, 1, _PR_POINTS)
            order = np.argsort(r)
            entry["average_precision"] = float(average_precision_score(positive, scores[:, k]))
            entry["pr_curve"] = {
                "recall": grid.round(4).tolist(),
                "precision": np.interp(grid, r[order], np.maximum.accumulate(p[order][::-1])[::-1])
                .round(4)
                .tolist(),
            }
        out[str(cls)] = entry
    return out


def _per_galaxy(y_true, y_pred, galaxy, distance_mpc) -> dict:
    rows = []
    for name in sorted(set(galaxy)):
        here = galaxy == name
        rows.append(
            {
                "galaxy": str(name),
                "n": int(here.sum()),
                "distance_mpc": float(np.nanmean(distance_mpc[here])) if distance_mpc is not None else None,
                "accuracy": float((y_true[here] == y_pred[here]).mean()),
                "binary_accuracy": float((group_labels(y_true[here]) == group_labels(y_pred[here])).mean()),
            }
        )
    result: dict = {"galaxies": rows, "spearman": None, "distance_bins": None}
    if distance_mpc is not None:
        result["distance_bins"] = _distance_bins(y_true, y_pred, distance_mpc)
    if distance_mpc is not None and len(rows) >= 3:
        distances = [r["distance_mpc"] for r in rows]
        spearman = {}
        for key in ("accuracy", "binary_accuracy"):
            values = [r[key] for r in rows]
            # rank correlation is undefined when either side is constant
            if len(set(values)) < 2 or len(set(distances)) < 2:
                spearman[key] = None
                continue
            rho, p_value = spearmanr(distances, values)
            spearman[key] = {"rho": float(rho), "p_value": float(p_value)}
        result["spearman"] = spearman
    return result


def _distance_bins(y_true: np.ndarray, y_pred: np.ndarray, distance_mpc: np.ndarray) -> list[dict]:
    """Accuracy of all candidates pooled per distance bin: each galaxy weighs by its candidates."""
    edges = (-np.inf, *DISTANCE_BIN_LIMITS, np.inf)
    out = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        here = (distance_mpc >= low) & (distance_mpc < high)
        n = int(here.sum())
        out.append(
            {
                "low_mpc": None if np.isinf(low) else float(low),
                "high_mpc": None if np.isinf(high) else float(high),
                "n": n,
                "mean_distance_mpc": float(distance_mpc[here].mean()) if n else None,
                "accuracy": float((y_true[here] == y_pred[here]).mean()) if n else None,
                "binary_accuracy": (
                    float((group_labels(y_true[here]) == group_labels(y_pred[here])).mean()) if n else None
                ),
            }
        )
    return out


def _score_distributions(scores: np.ndarray) -> dict:
    """Winning score per predicted class (Fig. 5): median, quartiles, histogram."""
    winners = scores.max(axis=1)
    predicted = scores.argmax(axis=1) + 1
    edges = np.linspace(0, 1, _HIST_BINS + 1)
    out = {"bin_edges": edges.round(4).tolist()}
    for cls in CLASSES:
        mine = winners[predicted == cls]
        out[str(cls)] = {
            "n": int(len(mine)),
            "median": float(np.median(mine)) if len(mine) else None,
            "quartiles": np.percentile(mine, [25, 75]).tolist() if len(mine) else None,
            "histogram": np.histogram(mine, bins=edges)[0].tolist(),
        }
    return out


def _agreement(reference: np.ndarray, y_pred: np.ndarray) -> dict:
    return {
        "n": int(len(reference)),
        "accuracy": float((reference == y_pred).mean()),
        "cohen_kappa": float(cohen_kappa_score(reference, y_pred, labels=list(CLASSES))),
        "binary_accuracy": float((group_labels(reference) == group_labels(y_pred)).mean()),
    }


def _expert_agreement(votes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Agreement of each expert with the mode, with the model and with each other (the paper's Fig. 3)."""
    among = expert_agreement(votes, y_true, [str(k + 1) for k in range(votes.shape[1])])
    vs_model = [compare(y_pred[votes[:, k] > 0], votes[votes[:, k] > 0, k]) for k in range(votes.shape[1])]
    experts = [
        {"expert": k + 1, "vs_mode": mode["agreement"], "vs_model": model["agreement"]}
        for k, (mode, model) in enumerate(zip(among["vs_consensus"], vs_model, strict=True))
    ]
    return {
        "experts": experts,
        "expert_vs_mode": among["vs_consensus_summary"]["mean_agreement"],
        "expert_vs_expert": among["pairwise_summary"]["mean_agreement"],
        "model_vs_expert": summarise(vs_model)["mean_agreement"],
    }


def evaluate(
    y_true: np.ndarray,
    scores: np.ndarray,
    *,
    galaxy: np.ndarray | None = None,
    distance_mpc: np.ndarray | None = None,
    truth: np.ndarray | None = None,
    votes: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """The paper's evaluation of ``scores`` against human labels ``y_true``.

    Parameters
    ----------
    y_true : numpy.ndarray
        Human class (mode) 1-4 per candidate; rows with 0 (unlabelled) are left out.
    scores : numpy.ndarray
        ``(N, 4)`` class scores (softmax or probabilities), columns classes 1-4.
    galaxy, distance_mpc : numpy.ndarray, optional
        Galaxy name and distance (Mpc) per candidate, for the per-galaxy analysis.
    truth : numpy.ndarray, optional
        True class 1-4 (simulated data; 0 unknown), for agreement with the truth.
    votes : numpy.ndarray, optional
        ``(N, K)`` class given by each of K experts (0 = no vote), for the model's
        agreement with individual experts next to theirs with each other and with the mode.
    n_boot : int
        Bootstrap resamples of the confidence intervals.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        JSON-ready: ``n``, ``four_class``, one entry per
        :data:`starcnet_core.groupings.GROUPINGS`,
        ``per_class``, ``per_galaxy`` (when ``galaxy`` is given; with ``distance_mpc``, its
        ``distance_bins``), ``score_distributions``, ``calibration`` (``ece``, ``reliability``),
        ``agreement`` (``human``; with ``truth``, ``truth`` and ``human_vs_truth``; with
        ``votes``, ``experts``).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != len(CLASSES) or len(scores) != len(y_true):
        raise UserInputError(f"scores must be (N, 4) for N={len(y_true)} labels, got {scores.shape}")
    keep = y_true > 0
    if not keep.any():
        raise UserInputError("no labelled candidates to evaluate")
    y_true, scores = y_true[keep], scores[keep]
    y_pred = scores.argmax(axis=1) + 1
    report: dict = {
        "n": int(len(y_true)),
        "four_class": accuracy_block(y_true, y_pred, list(CLASSES), n_boot, seed),
    }
    for name, grouping in GROUPINGS.items():
        report[name] = accuracy_block(
            group_labels(y_true, grouping),
            group_labels(y_pred, grouping),
            sorted(set(grouping.values())),
            n_boot,
            seed,
        )
    report["per_class"] = _per_class(y_true, scores)
    if galaxy is not None:
        distances = None if distance_mpc is None else np.asarray(distance_mpc, dtype=float)[keep]
        report["per_galaxy"] = _per_galaxy(y_true, y_pred, np.asarray(galaxy).astype(str)[keep], distances)
    report["score_distributions"] = _score_distributions(scores)
    report["calibration"] = {
        "ece": expected_calibration_error(scores, y_true - 1),
        "reliability": reliability_curve(scores, y_true - 1),
    }
    report["agreement"] = {"human": _agreement(y_true, y_pred)}
    if votes is not None:
        report["agreement"]["experts"] = _expert_agreement(
            np.asarray(votes, dtype=np.int64)[keep], y_true, y_pred
        )
    if truth is not None:
        truth = np.asarray(truth, dtype=np.int64)[keep]
        known = truth > 0
        if known.any():
            report["agreement"]["truth"] = _agreement(truth[known], y_pred[known])
            report["agreement"]["human_vs_truth"] = _agreement(truth[known], y_true[known])
    return report


def _whole_sample_voters(votes: np.ndarray) -> np.ndarray:
    """The vote columns of the experts who classified every candidate anyone classified.

    The paper's Fig. 3 compares experts who each classified the whole sample;
    a tie-breaker (the simulator's ``vote_4``, ``vote_5``) is asked only where
    the others tie, so its agreement would measure the hard cases alone.
    Without two such experts (e.g. "unsure" answers in every column) all
    columns are kept.
    """
    votes = np.asarray(votes, dtype=np.int64)
    cast = (votes > 0).any(axis=1)
    whole = (votes[cast] > 0).all(axis=0)
    return votes[:, whole] if whole.sum() >= 2 else votes


def evaluate_stampset(
    stamps: StampSet, scores: np.ndarray, rows: np.ndarray | None = None, **options
) -> dict:
    """:func:`evaluate` on rows ``rows`` (default all) of a stamp set, with its galaxies, distances, truth and votes.

    ``scores`` has one row per entry of ``rows``; ``options`` go to :func:`evaluate`.
    """
    table = stamps.table if rows is None else stamps.table[np.asarray(rows)]
    truth = table["true_class"] if "true_class" in table.colnames else None
    vote_columns = sorted(
        (c for c in table.colnames if c.startswith("vote_") and c[5:].isdigit()), key=lambda c: int(c[5:])
    )
    votes = _whole_sample_voters(np.column_stack([table[c] for c in vote_columns])) if vote_columns else None
    return evaluate(
        np.asarray(table["label"]),
        scores,
        galaxy=np.asarray(table["galaxy"]).astype(str),
        distance_mpc=np.asarray(table["distance_mpc"], dtype=float),
        truth=None if truth is None else np.asarray(truth),
        votes=votes,
        **options,
    )


def summary(report: Mapping) -> dict[str, float]:
    """The headline numbers of a report: accuracies of the four-class and grouped problems."""
    out = {"n": report["n"], "accuracy": report["four_class"]["accuracy"]}
    experts = report.get("agreement", {}).get("experts")
    if experts:
        out["model_vs_expert"] = experts["model_vs_expert"]
        out["expert_vs_expert"] = experts["expert_vs_expert"]
    for name in GROUPINGS:
        out[f"{name}_accuracy"] = report[name]["accuracy"]
    if "calibration" in report:
        out["ece"] = report["calibration"]["ece"]
    if "truth" in report.get("agreement", {}):
        out["truth_accuracy"] = report["agreement"]["truth"]["accuracy"]
    return out
