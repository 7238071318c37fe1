"""Agreement between experts, with the consensus, and between a classifier and the consensus.

As the paper's Fig. 3: each pair of experts compared on the candidates both
classified, each expert compared with the consensus mode, over the four
classes and the binary grouping :data:`starcnet_core.groupings.BINARY`
(clusters 1+2 against 3+4). Agreement is the fraction of common candidates
given the same class; ``balanced`` weights each class equally (mean
per-class recall), as the paper's "weighted by the number of sources in each
class". Confusion matrices have the reference (first named / consensus) in
rows and the compared classifier in columns.

The inputs are arrays of votes, so the same functions serve the database
(``db.agreement`` returns the votes of the stored labels) and stamp sets
with ``vote_K`` columns (:func:`starcnet_core.evaluation.evaluate.evaluate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from starcnet_core.groupings import BINARY, GROUPINGS

__all__ = ["compare", "summarise", "expert_agreement"]


def _confusion(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """4x4 counts, reference class in rows, other in columns (classes 1-4)."""
    return np.bincount(4 * (reference - 1) + (other - 1), minlength=16).reshape(4, 4)


def _grouped(confusion: np.ndarray, grouping: dict[int, int]) -> np.ndarray:
    """A 4x4 class confusion matrix summed into the groups of ``grouping``."""
    groups = np.array([grouping[c] - 1 for c in range(1, 5)])
    member = np.eye(max(groups) + 1, dtype=confusion.dtype)[groups]
    return member.T @ confusion @ member


def _accuracies(confusion: np.ndarray) -> tuple[float, float]:
    """Fraction on the diagonal, and the mean per-class recall over the rows that have sources."""
    rows = confusion.sum(axis=1)
    recall = np.diag(confusion)[rows > 0] / rows[rows > 0]
    return float(np.trace(confusion) / confusion.sum()), float(recall.mean())


def compare(reference: np.ndarray, other: np.ndarray) -> dict:
    """Agreement of two class arrays (1-4) on the same candidates: JSON-ready.

    Everything is derived from one confusion matrix (counted with numpy: this
    runs once per expert pair, where scikit-learn's input validation would
    dominate); ``balanced`` equals ``sklearn.metrics.balanced_accuracy_score``.

    Parameters
    ----------
    reference, other : numpy.ndarray
        Classes 1-4 of the same candidates.

    Returns
    -------
    dict
        ``n``, ``agreement`` and ``balanced`` (4-class), ``binary_agreement``
        and ``binary_balanced`` (classes 1+2 vs 3+4), ``confusion`` (4x4
        counts, reference in rows) and ``binary_confusion`` (2x2); the
        fractions are None when ``n`` is 0.
    """
    reference = np.asarray(reference, dtype=np.int64)
    other = np.asarray(other, dtype=np.int64)
    confusion = _confusion(reference, other)
    binary = _grouped(confusion, GROUPINGS[BINARY])
    result = {
        "n": int(len(reference)),
        "agreement": None,
        "balanced": None,
        "binary_agreement": None,
        "binary_balanced": None,
        "confusion": confusion.tolist(),
        "binary_confusion": binary.tolist(),
    }
    if len(reference):
        result["agreement"], result["balanced"] = _accuracies(confusion)
        result["binary_agreement"], result["binary_balanced"] = _accuracies(binary)
    return result


def _mean(results: Sequence[dict], key: str) -> float | None:
    values = [r[key] for r in results if r["n"] > 0]
    return float(np.mean(values)) if values else None


def summarise(results: Sequence[dict]) -> dict:
    """Means of :func:`compare` results that have data, and their row-normalised mean confusion matrix."""
    matrices = []
    for r in results:
        counts = np.asarray(r["confusion"], dtype=float)
        rows = counts.sum(axis=1, keepdims=True)
        if r["n"] > 0:
            matrices.append(np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0))
    return {
        "mean_agreement": _mean(results, "agreement"),
        "mean_balanced": _mean(results, "balanced"),
        "mean_binary_agreement": _mean(results, "binary_agreement"),
        "mean_binary_balanced": _mean(results, "binary_balanced"),
        "mean_confusion": np.mean(matrices, axis=0).tolist() if matrices else None,
    }


def expert_agreement(votes: np.ndarray, consensus: np.ndarray, names: Sequence[str]) -> dict:
    """Pairwise expert-expert and expert-consensus agreement (the paper's Fig. 3).

    Parameters
    ----------
    votes : numpy.ndarray
        ``(N, K)`` class 1-4 given by each of K experts to N candidates; 0 for
        no class answer ("unsure" or no label).
    consensus : numpy.ndarray
        ``(N,)`` consensus class 1-4; 0 where undecided.
    names : sequence of str
        The K experts' names, in the order of the columns.

    Returns
    -------
    dict
        ``n_candidates``; ``pairwise``: one :func:`compare` result with
        ``expert_a`` and ``expert_b`` per pair of experts with candidates in
        common; ``vs_consensus``: one per expert (``expert``), consensus in
        rows, on candidates with a decided consensus; ``pairwise_summary`` and
        ``vs_consensus_summary`` (:func:`summarise`).
    """
    votes = np.asarray(votes, dtype=np.int64).reshape(len(consensus), len(names))
    consensus = np.asarray(consensus, dtype=np.int64)
    pairwise = []
    for a, b in combinations(range(len(names)), 2):
        both = (votes[:, a] > 0) & (votes[:, b] > 0)
        if both.any():
            pairwise.append(
                {"expert_a": names[a], "expert_b": names[b], **compare(votes[both, a], votes[both, b])}
            )
    vs_consensus = []
    for a, name in enumerate(names):
        both = (votes[:, a] > 0) & (consensus > 0)
        vs_consensus.append({"expert": name, **compare(consensus[both], votes[both, a])})
    return {
        "n_candidates": int(len(consensus)),
        "pairwise": pairwise,
        "pairwise_summary": summarise(pairwise),
        "vs_consensus": vs_consensus,
        "vs_consensus_summary": summarise(vs_consensus),
    }
