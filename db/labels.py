"""Label rows: the candidate locks every label write takes, appending labels, and reading them back.

Labels are append-only (:class:`db.models.Label`). The consensus caches a
write must refresh are :mod:`db.consensus`. The caller owns the transaction
(:func:`db.engine.use_case`); nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session, aliased

from db.models import Candidate, Expert, Label

__all__ = [
    "lock_candidates",
    "latest_standing_label",
    "insert_labels",
    "label_rows",
    "first_import_of_batch",
    "count_labels_from",
]

# Candidate ids per locking statement: well under the databases' parameter limits.
_LOCK_CHUNK = 5000


def lock_candidates(session: Session, candidate_ids: Sequence[int]) -> list[int]:
    """Lock these candidates' rows for this transaction, in ascending id order; return the ids found.

    Every write path that adds labels takes these locks before it reads the
    labels it rewrites the stored consensus from, so that on PostgreSQL two
    writers of one candidate run one after the other and the second sees the
    first one's committed labels (SQLite's IMMEDIATE transactions already
    serialise every writer). Ascending order everywhere means two writers
    never wait for each other in a cycle. ``FOR NO KEY UPDATE`` leaves the
    foreign-key checks of other inserts (labels, predictions) unblocked.
    """
    ids = sorted({int(c) for c in candidate_ids})
    found: list[int] = []
    for start in range(0, len(ids), _LOCK_CHUNK):
        chunk = ids[start : start + _LOCK_CHUNK]
        found += session.scalars(
            select(Candidate.id)
            .where(Candidate.id.in_(chunk))
            .order_by(Candidate.id)
            .with_for_update(key_share=True)
        ).all()
    return found


def latest_standing_label(session: Session, candidate_id: int, expert_id: int) -> int | None:
    """The id of the expert's latest answer on the candidate that no retraction undid; None without one."""
    retraction = aliased(Label)
    return session.scalar(
        select(Label.id)
        .where(
            Label.candidate_id == candidate_id,
            Label.expert_id == expert_id,
            Label.label_class.is_not(None),
            ~exists().where(retraction.retracts_id == Label.id),
        )
        .order_by(Label.id.desc())
        .limit(1)
    )


def insert_labels(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append label rows (dicts of :class:`db.models.Label` columns) in one statement."""
    if rows:
        session.execute(insert(Label), list(rows))


def label_rows(session: Session, candidate_id: int) -> list[tuple[Label, str]]:
    """Every label row of a candidate with its expert's name, oldest first (answers and retractions)."""
    return session.execute(
        select(Label, Expert.name).join(Expert).where(Label.candidate_id == candidate_id).order_by(Label.id)
    ).all()


def first_import_of_batch(session: Session, expert_id: int, batch: str) -> dt.datetime | None:
    """When the expert first imported the file with this content hash (``import_batch``); None if never."""
    return session.scalar(
        select(func.min(Label.created_at)).where(Label.expert_id == expert_id, Label.import_batch == batch)
    )


def count_labels_from(session: Session, expert_name: str, galaxy_id: int) -> int:
    """Label rows the expert (or pseudo-expert) called ``expert_name`` holds on the galaxy's candidates."""
    return int(
        session.scalar(
            select(func.count(Label.id))
            .join(Expert, Expert.id == Label.expert_id)
            .join(Candidate, Candidate.id == Label.candidate_id)
            .where(Expert.name == expert_name, Candidate.galaxy_id == galaxy_id)
        )
    )
