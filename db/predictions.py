"""Storing model predictions, and finding the active model version.

Each prediction keeps the four softmax scores with the summaries the review
queue orders by: the predicted class, the top score ("confidence"), the gap
between the two top scores ("margin") and the Shannon entropy of the scores
(nats), when the caller computed it, the BALD score (the mutual
information between class and weights of MC-dropout passes, nats), and the
precision and engine that computed the scores, where known. The
summaries are computed by the caller with
``starcnet_core.scores.score_summaries`` and
``starcnet_core.training.active_learning.uncertainty`` (the one definitions;
this layer does not import the science core) and stored as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import ModelVersion, Prediction

__all__ = ["store_predictions", "active_model_version"]

_SUMMARIES = ("predicted_class", "confidence", "margin", "entropy")


def store_predictions(
    session: Session,
    model_version_id: int,
    candidate_ids: Sequence[int],
    scores: np.ndarray,
    summaries: Mapping[str, np.ndarray],
    *,
    precision: str | Sequence[str] | None = None,
    engine: str | Sequence[str] | None = None,
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
    summaries : mapping of str to array
        ``predicted_class``, ``confidence``, ``margin`` and ``entropy`` per
        row, as ``starcnet_core.scores.score_summaries(scores)`` returns them
        (a published file whose two-decimal scores can tie may give its own
        ``predicted_class``), and optionally ``bald`` (stored as NULL without it).
    precision, engine : str or sequence of str, optional
        What computed the scores (e.g. ``int8``, ``openvino``): one for every
        row, or one per row; NULL when not known (an imported file).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 4)
    if len(candidate_ids) != len(scores):
        raise ValueError(f"{len(candidate_ids)} candidates but {len(scores)} score rows")
    summary = {name: np.asarray(summaries[name]).reshape(-1) for name in _SUMMARIES}
    if summaries.get("bald") is not None:
        summary["bald"] = np.asarray(summaries["bald"], dtype=np.float64).reshape(-1)
    made_by = {"precision": _per_row(precision, len(scores)), "engine": _per_row(engine, len(scores))}
    if any(len(values) != len(scores) for values in [*summary.values(), *made_by.values()]):
        raise ValueError(f"summaries must have one value per score row ({len(scores)})")
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
            "bald": float(summary["bald"][i]) if "bald" in summary else None,
            "precision": made_by["precision"][i],
            "engine": made_by["engine"][i],
        }
        for i, (cid, p) in enumerate(zip(candidate_ids, scores, strict=True))
    ]
    if rows:
        session.execute(insert(Prediction), rows)
    return len(rows)


def _per_row(value: str | Sequence[str] | None, n: int) -> list[str | None]:
    if value is None or isinstance(value, str):
        return [value] * n
    return [str(v) for v in value]


def active_model_version(session: Session) -> ModelVersion | None:
    """The model version with status ``active``, or None."""
    return session.scalars(select(ModelVersion).where(ModelVersion.status == "active")).one_or_none()
