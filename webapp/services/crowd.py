"""Expert-weighted consensus of the stored labels (Dawid-Skene), beside the mode.

Reads the experts' class votes once (:func:`db.agreement.expert_votes`; "unsure"
answers carry no class and are left out), fits
:func:`starcnet_core.evaluation.dawid_skene.dawid_skene` with one confusion
matrix per expert, and reports each expert's estimated accuracy per class with
the number of labels behind it. The stored votes and the mode are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from db.agreement import ExpertVotes, expert_votes
from db.engine import use_case
from starcnet_core.evaluation.dawid_skene import DawidSkene, dawid_skene

__all__ = ["weighted_consensus", "weighted_consensus_report"]


def _fit(votes: ExpertVotes, exclude: np.ndarray | None = None) -> DawidSkene | None:
    """Dawid-Skene on the class votes of ``votes`` (a candidates x experts grid); None without any."""
    rows, cols = np.nonzero(votes.votes)
    if exclude is not None:
        keep = ~np.isin(votes.candidate_ids[rows], exclude)
        rows, cols = rows[keep], cols[keep]
    if len(rows) == 0:
        return None
    return dawid_skene(votes.candidate_ids[rows], votes.expert_ids[cols], votes.votes[rows, cols])


def weighted_consensus(
    session: Session,
    *,
    galaxy_id: int | None = None,
    roles: Sequence[str] | None = None,
    exclude: np.ndarray | None = None,
) -> DawidSkene | None:
    """The Dawid-Skene fit of the class votes; None without votes.

    Optionally of one galaxy or some roles only, and without the votes on the
    candidates ``exclude`` (e.g. the held-out set, whose labels must not shape
    what a retrain trains on).
    """
    with use_case(session):
        votes = expert_votes(session, galaxy_id=galaxy_id, roles=roles)
    return _fit(votes, exclude)


def weighted_consensus_report(
    session: Session, *, galaxy_id: int | None = None, roles: Sequence[str] | None = None
) -> dict[str, Any]:
    """JSON-ready comparison of the Dawid-Skene consensus with the mode.

    Returns
    -------
    dict
        ``n_candidates`` (with a class vote), ``n_decided`` (a decided mode),
        ``agreement_with_mode`` (fraction of decided candidates where both agree),
        ``changed_from_mode`` (count), ``resolved_ties`` (undecided mode, now a
        class), and ``experts``: per expert ``expert``, ``n_labels``,
        ``accuracy`` (4 values, classes 1-4) and ``labels_per_class`` (the
        expected number of their labels on candidates of each class).
    """
    with use_case(session):
        votes = expert_votes(session, galaxy_id=galaxy_id, roles=roles)
    fit = _fit(votes)
    if fit is None:
        return {"n_candidates": 0, "experts": []}
    # both are sorted by candidate id; the votes also hold candidates with only "unsure" answers
    mode_class = votes.consensus[np.searchsorted(votes.candidate_ids, fit.items)]
    decided = mode_class > 0
    names = dict(zip(votes.expert_ids.tolist(), votes.expert_names, strict=True))
    return {
        "n_candidates": int(len(fit.items)),
        "n_decided": int(decided.sum()),
        "agreement_with_mode": (
            float((fit.consensus[decided] == mode_class[decided]).mean()) if decided.any() else None
        ),
        "changed_from_mode": int((fit.consensus[decided] != mode_class[decided]).sum()),
        "resolved_ties": int((~decided).sum()),
        "experts": [
            {
                "expert": names[int(worker)],
                "n_labels": int(round(fit.labels_per_class[w].sum())),
                "accuracy": [float(a) for a in fit.accuracy_per_class[w]],
                "labels_per_class": [float(n) for n in fit.labels_per_class[w]],
            }
            for w, worker in enumerate(fit.workers)
        ],
    }
