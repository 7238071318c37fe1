"""Agreement between experts, with the consensus, and between the model and the consensus.

As the paper's Fig. 3: each pair of experts compared on the candidates both
classified (left panels), each expert compared with the consensus mode (right
panels), over the four classes and the binary split cluster (classes 1, 2)
vs non-cluster (3, 4). Agreement is the fraction of common candidates given
the same class; ``balanced`` weights each class equally (mean per-class
recall), as the paper's "weighted by the number of sources in each class".
Confusion matrices have the reference (first named / consensus) in rows and
the compared classifier in columns, classes 1-4 in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.consensus import candidate_rows, consensus, effective_labels, tally
from db.ids import in_ids, int_columns
from db.models import Candidate, Expert, Prediction
from db.predictions import active_model_version

__all__ = ["compare", "expert_agreement", "model_agreement"]


def _confusion(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """4x4 counts, reference class in rows, other in columns (classes 1-4)."""
    return np.bincount(4 * (reference - 1) + (other - 1), minlength=16).reshape(4, 4)


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

    Returns
    -------
    dict
        ``n``, ``agreement`` and ``balanced`` (4-class), ``binary_agreement``
        and ``binary_balanced`` (classes 1+2 vs 3+4), ``confusion`` (4x4
        counts, reference in rows).
    """
    return _from_confusion(
        _confusion(np.asarray(reference, dtype=np.int64), np.asarray(other, dtype=np.int64))
    )


def _from_confusion(confusion: np.ndarray) -> dict:
    """The fields of :func:`compare` from the 4x4 confusion matrix (reference in rows) of the pairs."""
    confusion = np.asarray(confusion, dtype=np.int64)
    n = int(confusion.sum())
    if n == 0:
        return {
            "n": 0,
            "agreement": None,
            "balanced": None,
            "binary_agreement": None,
            "binary_balanced": None,
            "confusion": confusion.tolist(),
        }
    # The paper's binary split: clusters (classes 1, 2) against non-clusters (3, 4).
    binary = confusion.reshape(2, 2, 2, 2).sum(axis=(1, 3))
    agreement, balanced = _accuracies(confusion)
    binary_agreement, binary_balanced = _accuracies(binary)
    return {
        "n": n,
        "agreement": agreement,
        "balanced": balanced,
        "binary_agreement": binary_agreement,
        "binary_balanced": binary_balanced,
        "confusion": confusion.tolist(),
    }


def _mean(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if r["n"] > 0]
    return float(np.mean(values)) if values else None


def _summary(results: list[dict]) -> dict:
    """Means over comparisons with data, and the row-normalised mean confusion matrix (Fig. 3)."""
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


def _pair_counts(row: np.ndarray, column: np.ndarray, width: int) -> np.ndarray:
    """``(width, width)`` counts of the (column, column) pairs that share a row: a Gram matrix of one-hot rows.

    Sorted by row, the entries of one row sit next to each other: entry ``t``
    pairs with ``t + d`` for every distance ``d`` that stays inside its row,
    so a few vectorised passes (as many as a row has entries) count every pair.
    """
    order = np.argsort(row, kind="stable")
    row, column = row[order], column[order]
    counts = np.zeros(width * width, dtype=np.int64)
    for distance in range(1, len(row)):
        same = row[distance:] == row[:-distance]
        if not same.any():
            break  # sorted rows: no pair this far apart, none farther
        counts += np.bincount(
            column[:-distance][same] * width + column[distance:][same], minlength=width * width
        )
    counts = counts.reshape(width, width)
    return counts + counts.T


def expert_agreement(
    session: Session, *, galaxy_id: int | None = None, roles: Sequence[str] | None = None
) -> dict:
    """Pairwise expert-expert and expert-consensus agreement (the paper's Fig. 3).

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only this galaxy's candidates.
    roles : sequence of str, optional
        Only experts with these roles (e.g. ``["expert"]`` without catalog pseudo-experts).

    Returns
    -------
    dict
        ``experts`` (id -> name), ``pairwise`` (list of {expert_a, expert_b, ...
        :func:`compare` fields}), ``pairwise_summary``, ``vs_consensus`` (one
        per expert, on candidates with a decided consensus), ``vs_consensus_summary``.
        "Unsure" answers and undecided consensus are left out of comparisons.
    """
    labels = effective_labels(session, galaxy_id=galaxy_id, roles=roles)
    result = tally(labels)
    row_of = candidate_rows(labels.candidate_id)[1]  # each label's row in result
    expert_ids = np.unique(labels.expert_id)
    names = dict(session.execute(select(Expert.id, Expert.name).where(in_ids(Expert.id, expert_ids))).all())
    # One column per (expert, class): every expert pair's confusion matrix is a
    # 4x4 block of the counts of column pairs answered on the same candidate.
    voted = labels.label_class > 0
    row = row_of[voted]
    expert_index = np.zeros(int(expert_ids.max(initial=0)) + 1, dtype=np.int64)
    expert_index[expert_ids] = np.arange(len(expert_ids))
    column = 4 * expert_index[labels.expert_id[voted]] + labels.label_class[voted] - 1
    width = 4 * len(expert_ids)
    gram = _pair_counts(row, column, width)
    mode = result.mode[row]
    decided = mode > 0
    with_consensus = np.bincount((mode[decided] - 1) * width + column[decided], minlength=4 * width).reshape(
        4, width
    )

    pairwise = []
    for a, b in combinations(range(len(expert_ids)), 2):
        confusion = gram[4 * a : 4 * a + 4, 4 * b : 4 * b + 4]
        if confusion.sum():
            pairwise.append(
                {
                    "expert_a": names[int(expert_ids[a])],
                    "expert_b": names[int(expert_ids[b])],
                    **_from_confusion(confusion),
                }
            )
    vs_consensus = [
        {"expert": names[int(expert_ids[a])], **_from_confusion(with_consensus[:, 4 * a : 4 * a + 4])}
        for a in range(len(expert_ids))
    ]
    return {
        "experts": {int(i): names[int(i)] for i in expert_ids},
        "n_candidates": int(len(result.candidate_id)),
        "pairwise": pairwise,
        "pairwise_summary": _summary(pairwise),
        "vs_consensus": vs_consensus,
        "vs_consensus_summary": _summary(vs_consensus),
    }


def model_agreement(
    session: Session,
    *,
    model_version_id: int | None = None,
    galaxy_id: int | None = None,
    roles: Sequence[str] | None = None,
    expert_ids: Sequence[int] | None = None,
) -> dict:
    """The model's classes against the consensus (rows) on candidates with a decided consensus.

    Parameters
    ----------
    model_version_id : int, optional
        Default: the active model version.
    galaxy_id, roles, expert_ids : optional
        Restrict the candidates and the experts forming the consensus. Without
        ``roles`` and ``expert_ids`` the consensus of all experts is read from
        the per-candidate cache and counted in SQL (fast on large tables).

    Returns
    -------
    dict
        ``model_version_id`` and the fields of :func:`compare`.
    """
    if model_version_id is None:
        active = active_model_version(session)
        if active is None:
            raise ValueError("no active model version; name one")
        model_version_id = active.id
    if roles is None and expert_ids is None:
        reference, model_classes = _pairs_from_cache(session, model_version_id, galaxy_id)
    else:
        result = consensus(session, galaxy_id=galaxy_id, roles=roles, expert_ids=expert_ids)
        predicted = int_columns(
            session,
            select(Prediction.candidate_id, Prediction.predicted_class).where(
                Prediction.model_version_id == model_version_id
            ),
            2,
            order_by=(0,),
        )
        where = np.searchsorted(predicted[:, 0], result.candidate_id).clip(max=max(len(predicted) - 1, 0))
        keep = (result.mode > 0) & (len(predicted) > 0)
        if len(predicted):
            keep &= predicted[where, 0] == result.candidate_id
        reference, model_classes = result.mode[keep], predicted[where[keep], 1]
    return {"model_version_id": model_version_id, **compare(reference, model_classes)}


def _pairs_from_cache(
    session: Session, model_version_id: int, galaxy_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(consensus, predicted) class pairs from the cached consensus of all experts, counted in SQL."""
    query = (
        select(Candidate.consensus_class, Prediction.predicted_class, func.count())
        .join(Prediction, Prediction.candidate_id == Candidate.id)
        .where(Prediction.model_version_id == model_version_id, Candidate.consensus_class.is_not(None))
        .group_by(Candidate.consensus_class, Prediction.predicted_class)
    )
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    counts = int_columns(session, query, 3)
    return np.repeat(counts[:, 0], counts[:, 2]), np.repeat(counts[:, 1], counts[:, 2])
