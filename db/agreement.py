"""The votes that agreement is computed from: expert classes per candidate, and model-consensus pairs.

The paper's Fig. 3 compares experts with each other, with the consensus and
with the model. The comparisons themselves are
``starcnet_core.evaluation.agreement`` (one implementation for the database
and for stamp sets; this layer does not import the science core); the
functions here read what they need from the stored labels and predictions.
"Unsure" answers count as no class answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.consensus import candidate_rows, consensus, effective_labels, mode_of
from db.ids import in_ids, int_columns
from db.models import Candidate, Expert, Prediction
from db.predictions import active_model_version

__all__ = ["ExpertVotes", "expert_votes", "model_consensus_pairs"]


@dataclass(frozen=True)
class ExpertVotes:
    """Candidates x experts class votes, with the consensus of each candidate.

    Attributes
    ----------
    candidate_ids : numpy.ndarray
        ``(N,)`` sorted, every candidate with a label of one of the experts.
    expert_ids : numpy.ndarray
        ``(K,)`` sorted.
    expert_names : list of str
        Names in the order of ``expert_ids``.
    votes : numpy.ndarray
        ``(N, K)`` class 1-4 of each expert (0: no class answer).
    consensus : numpy.ndarray
        ``(N,)`` consensus mode 1-4 of these experts (0: undecided).
    """

    candidate_ids: np.ndarray
    expert_ids: np.ndarray
    expert_names: list[str]
    votes: np.ndarray
    consensus: np.ndarray


def expert_votes(
    session: Session, *, galaxy_id: int | None = None, roles: Sequence[str] | None = None
) -> ExpertVotes:
    """The class votes of the experts, and their consensus, on the candidates they labelled.

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only this galaxy's candidates.
    roles : sequence of str, optional
        Only experts with these roles (e.g. ``["expert"]`` without catalog pseudo-experts).
    """
    labels = effective_labels(session, galaxy_id=galaxy_id, roles=roles)
    # rows and columns by lookup tables over the dense ids, not by a sort or a search per label
    candidate_ids, row = candidate_rows(labels.candidate_id)
    present = np.bincount(labels.expert_id)
    expert_ids = np.flatnonzero(present)
    names = dict(session.execute(select(Expert.id, Expert.name).where(in_ids(Expert.id, expert_ids))).all())
    expert_index = np.cumsum(present > 0) - 1
    grid = np.zeros((len(candidate_ids), len(expert_ids)), dtype=np.int64)
    grid[row, expert_index[labels.expert_id]] = labels.label_class
    per_class = np.bincount(5 * row + labels.label_class, minlength=5 * len(candidate_ids)).reshape(-1, 5)
    return ExpertVotes(
        candidate_ids=candidate_ids,
        expert_ids=expert_ids,
        expert_names=[names[int(i)] for i in expert_ids],
        votes=grid,
        consensus=mode_of(per_class[:, 1:]),
    )


def model_consensus_pairs(
    session: Session,
    *,
    model_version_id: int | None = None,
    galaxy_id: int | None = None,
    roles: Sequence[str] | None = None,
    expert_ids: Sequence[int] | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """(model version id, consensus classes, model classes) on candidates with a decided consensus.

    Parameters
    ----------
    model_version_id : int, optional
        Default: the active model version.
    galaxy_id, roles, expert_ids : optional
        Restrict the candidates and the experts forming the consensus. Without
        ``roles`` and ``expert_ids`` the consensus of all experts is read from
        the per-candidate cache and counted in SQL (fast on large tables).
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
    return model_version_id, reference, model_classes


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
