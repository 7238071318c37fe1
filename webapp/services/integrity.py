"""Checking what the database stores against its data of record: the consensus kept on candidates.

``Candidate.n_votes`` / ``consensus_class`` are a cache of the labels, kept so
that the review queues, metrics and galaxy counts need not tally every label.
:func:`check_consensus` recomputes them from the labels and reports (and, on
request, rewrites) every candidate where the two differ. ``python -m webapp
check`` runs it; the concurrency tests run it after every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from db.consensus import consensus, effective_labels, tally, update_consensus_cache
from db.engine import use_case
from db.galaxies import described_consensus_rows, stored_consensus_rows
from db.labels import lock_candidates

__all__ = ["ConsensusMismatch", "ConsensusCheck", "check_consensus"]

# Candidates per re-check statement: IN lists well under the databases' parameter limits.
_CHUNK = 5000


@dataclass(frozen=True)
class ConsensusMismatch:
    """One candidate whose stored consensus is not what its labels give."""

    candidate_id: int
    galaxy: str
    source_id: int
    stored_votes: int
    stored_class: int | None
    votes: int
    consensus_class: int | None

    def describe(self) -> str:
        """One line for people: which candidate, what is stored, what the labels give."""
        return (
            f"{self.galaxy} #{self.source_id} (candidate {self.candidate_id}): stored "
            f"{self.stored_votes} votes / class {self.stored_class}, the labels give "
            f"{self.votes} votes / class {self.consensus_class}"
        )


@dataclass(frozen=True)
class ConsensusCheck:
    """The result of :func:`check_consensus`: candidates checked, mismatches found, whether repaired."""

    n_candidates: int
    mismatches: list[ConsensusMismatch]
    repaired: bool


def _stored(session: Session, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = stored_consensus_rows(session, ids)
    columns = list(zip(*rows, strict=True)) or [(), (), ()]
    cid, votes, mode = (np.array([0 if v is None else v for v in c], dtype=np.int64) for c in columns)
    return cid, votes, mode


def _differing(session: Session, ids: list[int] | None = None) -> tuple[int, list[int]]:
    """(candidates compared, ids whose stored votes or class differ from the labels')."""
    cid, stored_votes, stored_mode = _stored(session, ids)
    result = tally(effective_labels(session, candidate_ids=ids)) if ids is not None else consensus(session)
    votes = np.zeros(len(cid), dtype=np.int64)
    mode = np.zeros(len(cid), dtype=np.int64)
    where = np.searchsorted(cid, result.candidate_id)
    votes[where], mode[where] = result.n_votes, result.mode
    bad = (votes != stored_votes) | (mode != stored_mode)
    return len(cid), [int(c) for c in cid[bad]]


def check_consensus(session: Session, *, repair: bool = False) -> ConsensusCheck:
    """Compare every candidate's stored consensus with its labels; rewrite the wrong ones if asked.

    A first pass compares everything without locks; the candidates that
    differ are then locked (as every label write locks them) and compared
    again, so that a label committed between the two reads of the first pass
    is not reported as a mismatch while writers keep working. The first pass
    is a read of its own, so that the full comparison holds no locks.

    Parameters
    ----------
    session : Session
        A session that may write (the locks, and the repair).
    repair : bool
        Rewrite the stored consensus of the mismatched candidates from their labels.

    Returns
    -------
    ConsensusCheck
        Mismatches as they were before any repair.
    """
    with use_case(session):
        n_candidates, suspects = _differing(session)
    if not suspects:
        return ConsensusCheck(n_candidates, [], False)
    with use_case(session):
        lock_candidates(session, suspects)
        confirmed = []
        for start in range(0, len(suspects), _CHUNK):
            confirmed += _differing(session, suspects[start : start + _CHUNK])[1]
        mismatches = _describe(session, confirmed)
        if repair and confirmed:
            update_consensus_cache(session, confirmed)
    return ConsensusCheck(n_candidates, mismatches, repair and bool(confirmed))


def _describe(session: Session, ids: list[int]) -> list[ConsensusMismatch]:
    mismatches = []
    for start in range(0, len(ids), _CHUNK):
        mismatches += _describe_chunk(session, ids[start : start + _CHUNK])
    return mismatches


def _describe_chunk(session: Session, ids: list[int]) -> list[ConsensusMismatch]:
    result = tally(effective_labels(session, candidate_ids=ids)).as_dict()
    rows = described_consensus_rows(session, ids)
    mismatches = []
    for cid, galaxy, source_id, stored_votes, stored_class in rows:
        found = result.get(int(cid), {"n_votes": 0, "consensus": None})
        label = found["consensus"]
        mismatches.append(
            ConsensusMismatch(
                candidate_id=int(cid),
                galaxy=galaxy,
                source_id=int(source_id),
                stored_votes=int(stored_votes),
                stored_class=stored_class,
                votes=int(found["n_votes"]),
                consensus_class=int(label) if label not in (None, "undecided") else None,
            )
        )
    return mismatches
