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

from db.consensus import counts_query, from_counts
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
    # One aggregate in the database: per candidate its galaxy and its votes per class.
    counts = counts_query(galaxy_id=galaxy_id, roles=roles).order_by(None).subquery()
    query = select(Candidate.galaxy_id, *counts.c).join(counts, counts.c[0] == Candidate.id)
    reserved = select(HeldOutCandidate.candidate_id)
    if held_out is not None:
        query = query.where(Candidate.id.in_(reserved) if held_out else Candidate.id.not_in(reserved))
    rows = int_columns(session, query.order_by(Candidate.id), 7)
    votes = from_counts(rows[:, 1], rows[:, 2:])
    keep = (votes.mode > 0) & (votes.n_votes >= min_votes)
    ids, classes = votes.candidate_id[keep], votes.mode[keep]
    return LabelSnapshot(
        candidate_ids=ids,
        classes=classes,
        means=votes.mean[keep],
        n_votes=votes.n_votes[keep],
        galaxy_ids=rows[keep, 0],
        fingerprint=label_fingerprint(ids, classes),
    )
