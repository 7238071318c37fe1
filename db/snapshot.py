"""A deterministic snapshot of the training labels: candidate -> consensus class.

Retraining reads the labels through this snapshot and stores their
fingerprint with the model version, so that one can tell later whether two
versions were trained on the same labels. The snapshot carries each
candidate's galaxy name and catalog source id so that the caller can compute
the project's one fingerprint, ``starcnet_core.io.stampset.label_fingerprint``
(this layer does not import the science core): it depends only on which
sources carry which consensus class, not on when or in what order the labels
were given, nor on database ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.consensus import consensus, labelled
from db.ids import int_columns
from db.models import Candidate, Galaxy, HeldOutCandidate

__all__ = ["LabelSnapshot", "label_snapshot"]


@dataclass(frozen=True)
class LabelSnapshot:
    """Labelled candidates sorted by id: class 1-4, vote mean and count, galaxy, name and source id."""

    candidate_ids: np.ndarray
    classes: np.ndarray
    means: np.ndarray
    n_votes: np.ndarray
    galaxy_ids: np.ndarray
    galaxy_names: np.ndarray
    source_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.candidate_ids)


def label_snapshot(
    session: Session,
    *,
    galaxy_id: int | None = None,
    roles: Sequence[str] | None = None,
    min_votes: int = 1,
    held_out: bool | None = False,
    tied: bool = False,
) -> LabelSnapshot:
    """The consensus label of every candidate with a decided consensus (and, on request, the tied ones).

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only this galaxy.
    roles : sequence of str, optional
        Only labels of experts with these roles (``["expert", "admin"]`` leaves
        out catalog pseudo-experts).
    min_votes : int
        Least number of class votes a candidate needs.
    held_out : bool or None
        False (default): leave out the held-out set; True: only the held-out
        set; None: all candidates.
    tied : bool
        Also the candidates whose votes tie (class 0 in the snapshot), for a
        caller that decides them otherwise (the expert-weighted consensus).
    """
    votes = consensus(session, galaxy_id=galaxy_id, roles=roles)
    keep = ((votes.mode > 0) | tied) & (votes.n_votes >= min_votes)
    if held_out is not None:
        reserved = int_columns(session, select(HeldOutCandidate.candidate_id), 1)[:, 0]
        in_set = np.isin(votes.candidate_id, reserved)
        keep &= in_set if held_out else ~in_set
    ids = votes.candidate_id[keep]
    # galaxy and source id of the labelled candidates, read from their covering index; no id list is bound
    where = int_columns(
        session,
        select(Candidate.id, Candidate.galaxy_id, Candidate.source_id).where(labelled()),
        3,
        order_by=(0,),
    )
    rows = where[np.searchsorted(where[:, 0], ids)]
    names = dict(session.execute(select(Galaxy.id, Galaxy.name)).all())
    galaxies, of = np.unique(rows[:, 1], return_inverse=True)
    return LabelSnapshot(
        candidate_ids=ids,
        classes=votes.mode[keep],
        means=votes.mean[keep],
        n_votes=votes.n_votes[keep],
        galaxy_ids=rows[:, 1],
        galaxy_names=np.array([names[int(g)] for g in galaxies], dtype=str)[of].reshape(-1),
        source_ids=rows[:, 2],
    )
