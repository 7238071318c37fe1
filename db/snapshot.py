"""A deterministic snapshot of the training labels: candidate -> consensus class, with a fingerprint.

Retraining reads the labels through this snapshot and stores its
fingerprint with the model version, so that one can tell later whether two
versions were trained on the same labels. The fingerprint is the sha256 of
the sorted ``"candidate_id:class"`` lines, so it depends only on which
candidates carry which consensus class, not on when or in what order the
labels were given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.consensus import consensus, labelled
from db.ids import int_columns
from db.models import Candidate, HeldOutCandidate

__all__ = ["LabelSnapshot", "label_fingerprint", "label_snapshot"]


def label_fingerprint(candidate_ids: np.ndarray, classes: np.ndarray) -> str:
    """sha256 (hex) of the sorted ``candidate_id:class`` pairs."""
    candidate_ids = np.asarray(candidate_ids, dtype=np.int64)
    order = np.argsort(candidate_ids, kind="stable")
    lines = map("{}:{}".format, candidate_ids[order].tolist(), np.asarray(classes)[order].tolist())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class LabelSnapshot:
    """Labelled candidates sorted by id: class 1-4, vote mean and count, galaxy; and the fingerprint."""

    candidate_ids: np.ndarray
    classes: np.ndarray
    means: np.ndarray
    n_votes: np.ndarray
    galaxy_ids: np.ndarray
    fingerprint: str

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
        reserved = int_columns(session, select(HeldOutCandidate.candidate_id), 1)[:, 0]
        in_set = np.isin(votes.candidate_id, reserved)
        keep &= in_set if held_out else ~in_set
    # the galaxies of the labelled candidates, read from their covering index
    galaxy_of = int_columns(
        session, select(Candidate.id, Candidate.galaxy_id).where(labelled()), 2, order_by=(0,)
    )
    ids, classes = votes.candidate_id[keep], votes.mode[keep]
    return LabelSnapshot(
        candidate_ids=ids,
        classes=classes,
        means=votes.mean[keep],
        n_votes=votes.n_votes[keep],
        galaxy_ids=galaxy_of[np.searchsorted(galaxy_of[:, 0], ids), 1],
        fingerprint=label_fingerprint(ids, classes),
    )
