"""Consensus of the experts: each expert's latest label, combined per candidate as LEGUS did.

LEGUS combined at least three experts per candidate into a class *mode* and
*mean* (paper section 2). Here each expert counts once per candidate, with
their latest answer that has not been retracted; "unsure" answers are kept
but carry no class vote. The consensus is the mode of the class votes, or
``"undecided"`` when the top count is tied; the agreement fraction is the
share of votes that went to the mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Integer, Select, bindparam, case, cast, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from db.models import UNSURE, Candidate, Expert, Label

__all__ = [
    "UNDECIDED",
    "EffectiveLabels",
    "Consensus",
    "effective_labels_query",
    "effective_labels",
    "tally",
    "consensus",
    "update_consensus_cache",
    "refresh_consensus_cache",
]

UNDECIDED = "undecided"
_CHUNK = 5000


@dataclass(frozen=True)
class EffectiveLabels:
    """The label that counts for each (candidate, expert) pair, as parallel arrays.

    ``label_class`` holds 1-4, or 0 for "unsure".
    """

    candidate_id: np.ndarray
    expert_id: np.ndarray
    label_class: np.ndarray


@dataclass(frozen=True)
class Consensus:
    """Per-candidate consensus, as parallel arrays sorted by candidate id.

    Attributes
    ----------
    candidate_id : (M,) int array
    counts : (M, 4) int array
        Class votes for classes 1-4.
    n_unsure : (M,) int array
        Experts whose latest answer is "unsure".
    n_votes : (M,) int array
        Class votes (experts with a class answer).
    mode : (M,) int array
        Consensus class 1-4; 0 when undecided (tied) or without class votes.
    mean : (M,) float array
        Mean of the class votes (NaN without votes).
    agreement : (M,) float array
        Fraction of class votes for the mode (NaN without votes).
    """

    candidate_id: np.ndarray
    counts: np.ndarray
    n_unsure: np.ndarray
    n_votes: np.ndarray
    mode: np.ndarray
    mean: np.ndarray
    agreement: np.ndarray

    def label(self, i: int) -> str | None:
        """Consensus of row ``i`` as text: "1"-"4", "undecided", or None without class votes."""
        if self.n_votes[i] == 0:
            return None
        return str(int(self.mode[i])) if self.mode[i] else UNDECIDED

    def as_dict(self) -> dict[int, dict]:
        """candidate id -> {consensus, mean, n_votes, n_unsure, agreement, votes}: JSON-ready."""
        return {
            int(cid): {
                "consensus": self.label(i),
                "mean": None if np.isnan(self.mean[i]) else float(self.mean[i]),
                "n_votes": int(self.n_votes[i]),
                "n_unsure": int(self.n_unsure[i]),
                "agreement": None if np.isnan(self.agreement[i]) else float(self.agreement[i]),
                "votes": [int(v) for v in self.counts[i]],
            }
            for i, cid in enumerate(self.candidate_id)
        }


def effective_labels_query(
    *,
    candidate_ids: Sequence[int] | None = None,
    galaxy_id: int | None = None,
    expert_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> Select:
    """``SELECT candidate_id, expert_id, label_class`` (1-4; 0 for "unsure") of the labels that count.

    A label counts when it is an answer (not a retraction), has not been
    retracted, and is its expert's latest such answer on the candidate.
    """
    retraction = aliased(Label)
    latest = func.row_number().over(
        partition_by=(Label.candidate_id, Label.expert_id), order_by=Label.id.desc()
    )
    # "label_class IS NOT NULL" marks answers (the check constraint); testing
    # "retracts_id IS NULL" instead would lure SQLite into the retracts_id index.
    inner = select(Label.candidate_id, Label.expert_id, Label.label_class, latest.label("rank")).where(
        Label.label_class.is_not(None), ~exists().where(retraction.retracts_id == Label.id)
    )
    if candidate_ids is not None:
        inner = inner.where(Label.candidate_id.in_(list(candidate_ids)))
    if galaxy_id is not None:
        inner = inner.join(Candidate, Candidate.id == Label.candidate_id).where(
            Candidate.galaxy_id == galaxy_id
        )
    if expert_ids is not None:
        inner = inner.where(Label.expert_id.in_(list(expert_ids)))
    if roles is not None:
        inner = inner.join(Expert, Expert.id == Label.expert_id).where(Expert.role.in_(list(roles)))
    ranked = inner.subquery()
    # Classes as numbers (unsure -> 0) in SQL, so that rows go straight into numpy.
    number = case((ranked.c.label_class == UNSURE, 0), else_=cast(ranked.c.label_class, Integer))
    return select(ranked.c.candidate_id, ranked.c.expert_id, number.label("label_class")).where(
        ranked.c.rank == 1
    )


def effective_labels(session: Session, **filters) -> EffectiveLabels:
    """Run :func:`effective_labels_query` (same keyword filters) into arrays."""
    # Core execution on the session's connection: no ORM row processing for 100,000s of rows.
    rows = session.connection().execute(effective_labels_query(**filters)).all()
    columns = list(zip(*rows, strict=True)) or [(), (), ()]
    return EffectiveLabels(*(np.array(column, dtype=np.int64) for column in columns))


def tally(labels: EffectiveLabels) -> Consensus:
    """Combine effective labels into a :class:`Consensus` per candidate (vectorised)."""
    ids, row = np.unique(labels.candidate_id, return_inverse=True)
    per_class = np.zeros((len(ids), 5), dtype=np.int64)
    np.add.at(per_class, (row, labels.label_class), 1)
    counts = per_class[:, 1:]
    n_votes = counts.sum(axis=1)
    top = counts.max(axis=1, initial=0)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    mode = np.where((n_votes > 0) & ~tied, counts.argmax(axis=1) + 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (counts * np.arange(1, 5)).sum(axis=1) / n_votes
        agreement = top / n_votes
    return Consensus(ids, counts, per_class[:, 0], n_votes, mode, mean, agreement)


def consensus(
    session: Session,
    *,
    galaxy_id: int | None = None,
    expert_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> Consensus:
    """The consensus of every labelled candidate (optionally one galaxy, some experts or roles).

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only candidates of this galaxy.
    expert_ids, roles : sequence, optional
        Only labels of these experts / expert roles (e.g. ``["expert"]`` leaves
        out the catalog pseudo-experts).
    """
    return tally(effective_labels(session, galaxy_id=galaxy_id, expert_ids=expert_ids, roles=roles))


def update_consensus_cache(session: Session, candidate_ids: Sequence[int]) -> None:
    """Rewrite ``Candidate.n_votes``/``consensus_class`` of these candidates from their labels."""
    ids = sorted({int(c) for c in candidate_ids})
    statement = (
        update(Candidate.__table__)
        .where(Candidate.__table__.c.id == bindparam("cid"))
        .values(n_votes=bindparam("votes"), consensus_class=bindparam("mode"))
    )
    # Chunks keep the IN list of the label query well under database parameter limits.
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        result = tally(effective_labels(session, candidate_ids=chunk))
        known = {int(c): i for i, c in enumerate(result.candidate_id)}
        params = []
        for cid in chunk:
            i = known.get(cid)
            n_votes = 0 if i is None else int(result.n_votes[i])
            mode = None if i is None or not result.mode[i] else int(result.mode[i])
            params.append({"cid": cid, "votes": n_votes, "mode": mode})
        session.execute(statement, params)


def refresh_consensus_cache(session: Session, galaxy_id: int | None = None) -> int:
    """Rebuild the cached consensus of all candidates (of one galaxy); return how many."""
    query = select(Candidate.id)
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    ids = list(session.scalars(query))
    update_consensus_cache(session, ids)
    return len(ids)
