"""Storing model predictions, and finding the active model version.

Each prediction keeps the four softmax scores with the summaries the review
queue orders by: the top score ("confidence"), the gap between the two top
scores ("margin") and the Shannon entropy of the scores (nats).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import ModelVersion, Prediction

__all__ = ["score_summaries", "store_predictions", "active_model_version"]


def score_summaries(scores: np.ndarray) -> dict[str, np.ndarray]:
    """Predicted class (1-4), confidence, margin and entropy (nats) of (N, 4) softmax scores."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 4)
    ordered = np.sort(scores, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(scores > 0, scores * np.log(scores), 0.0), axis=1)
    return {
        "predicted_class": scores.argmax(axis=1) + 1,
        "confidence": ordered[:, -1],
        "margin": ordered[:, -1] - ordered[:, -2],
        "entropy": entropy,
    }


def store_predictions(
    session: Session,
    model_version_id: int,
    candidate_ids: Sequence[int],
    scores: np.ndarray,
    classes: Sequence[int] | None = None,
) -> int:
    """Insert the predictions of one model version; return how many rows were written.

    Parameters
    ----------
    session : Session
        The caller's transaction; a candidate that already has a prediction of
        this model version violates a unique constraint (nothing is written).
    model_version_id : int
    candidate_ids : sequence of int
        Database ids of the candidates, in the order of ``scores``.
    scores : (N, 4) array
        Softmax scores of classes 1-4.
    classes : sequence of int, optional
        Predicted classes 1-4 when given by the source (a published file whose
        two-decimal scores can tie); default the argmax of ``scores``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 4)
    if len(candidate_ids) != len(scores):
        raise ValueError(f"{len(candidate_ids)} candidates but {len(scores)} score rows")
    summary = score_summaries(scores)
    if classes is not None:
        summary["predicted_class"] = np.asarray(classes, dtype=np.int64).reshape(-1)
    rows = [
        {
            "candidate_id": int(cid),
            "model_version_id": model_version_id,
            "p1": float(p[0]),
            "p2": float(p[1]),
            "p3": float(p[2]),
            "p4": float(p[3]),
            "predicted_class": int(summary["predicted_class"][i]),
            "confidence": float(summary["confidence"][i]),
            "margin": float(summary["margin"][i]),
            "entropy": float(summary["entropy"][i]),
        }
        for i, (cid, p) in enumerate(zip(candidate_ids, scores, strict=True))
    ]
    if rows:
        session.execute(insert(Prediction), rows)
    return len(rows)


def active_model_version(session: Session) -> ModelVersion | None:
    """The model version with status ``active``, or None."""
    return session.scalars(select(ModelVersion).where(ModelVersion.status == "active")).one_or_none()
