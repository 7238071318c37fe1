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

from db.consensus import consensus
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
) -> LabelSnapshot:
    """The consensus label of every candidate with a decided consensus.

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
    """
    votes = consensus(session, galaxy_id=galaxy_id, roles=roles)
    keep = (votes.mode > 0) & (votes.n_votes >= min_votes)
    if held_out is not None:
        reserved = np.array(session.scalars(select(HeldOutCandidate.candidate_id)).all(), dtype=np.int64)
        in_set = np.isin(votes.candidate_id, reserved)
        keep &= in_set if held_out else ~in_set
    ids = votes.candidate_id[keep]
    where = {
        cid: (galaxy_id, name, source_id)
        for cid, galaxy_id, name, source_id in session.execute(
            select(Candidate.id, Candidate.galaxy_id, Galaxy.name, Candidate.source_id)
            .join(Galaxy, Galaxy.id == Candidate.galaxy_id)
            .where(Candidate.id.in_(ids.tolist()))
        )
    }
    rows = [where[int(i)] for i in ids]
    return LabelSnapshot(
        candidate_ids=ids,
        classes=votes.mode[keep],
        means=votes.mean[keep],
        n_votes=votes.n_votes[keep],
        galaxy_ids=np.array([r[0] for r in rows], dtype=np.int64),
        galaxy_names=np.array([r[1] for r in rows], dtype=str),
        source_ids=np.array([r[2] for r in rows], dtype=np.int64),
    )
