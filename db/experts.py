"""Experts and catalog pseudo-experts: look-ups by name and id, answer counts, the import lock.

The caller owns the transaction (:func:`db.engine.use_case`); nothing here commits.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Expert, Label

__all__ = [
    "expert_by_name",
    "expert_id_by_name",
    "expert_role",
    "expert_names",
    "answer_counts",
    "lock_expert",
]


def expert_by_name(session: Session, name: str) -> Expert | None:
    """The expert (or pseudo-expert) called ``name``, if any."""
    return session.scalars(select(Expert).where(Expert.name == name)).one_or_none()


def expert_id_by_name(session: Session, name: str) -> int | None:
    """The id of the expert called ``name``, if any."""
    return session.scalar(select(Expert.id).where(Expert.name == name))


def expert_role(session: Session, expert_id: int) -> str | None:
    """The role of expert ``expert_id``; None when there is no such expert."""
    return session.scalar(select(Expert.role).where(Expert.id == expert_id))


def expert_names(session: Session) -> dict[int, str]:
    """Expert id -> name, for everyone."""
    return dict(session.execute(select(Expert.id, Expert.name)).all())


def answer_counts(session: Session) -> list[tuple[str, str, int]]:
    """``(name, role, answers given)`` of every expert by name; retractions are not answers."""
    votes = func.count(Label.id).filter(Label.label_class.is_not(None))
    return session.execute(
        select(Expert.name, Expert.role, votes).outerjoin(Label).group_by(Expert.id).order_by(Expert.name)
    ).all()


def lock_expert(session: Session, expert_id: int) -> None:
    """Lock the expert's row for this transaction (``FOR NO KEY UPDATE`` on PostgreSQL).

    Two imports of one expert then take turns, so that the second one's
    repeat check sees the first one's committed labels.
    """
    session.execute(select(Expert.id).where(Expert.id == expert_id).with_for_update(key_share=True))
