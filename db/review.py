"""The reads of the review screen around one candidate, and the expert's progress.

The queue itself (orders, filters, pages) is :mod:`db.queue`; this module
holds what the review page shows next to a candidate (neighbours, the
expert's flag, the stored prediction, examples per class), the expert's
latest standing answer (what ``z`` undoes), the counts of the progress bar
and the field view's candidate table. Reads only; the caller owns the
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from db.ids import in_ids
from db.models import Candidate, Label, Prediction

__all__ = [
    "neighbour_rows",
    "standing_flag",
    "latest_standing_candidate",
    "stored_prediction",
    "consensus_example_positions",
    "has_predictions",
    "answered_since",
    "usable_count",
    "usable_among",
    "field_rows",
    "predicted_class_counts",
]


def _standing(expert_id: int):
    """The expert's answers (not retractions) that no retraction has undone."""
    retraction = aliased(Label)
    return (
        Label.expert_id == expert_id,
        Label.label_class.is_not(None),
        ~exists().where(retraction.retracts_id == Label.id),
    )


def neighbour_rows(
    session: Session, candidate: Candidate, version_id: int | None, half: float
) -> list[tuple[int, float, float, int | None]]:
    """``(source_id, x, y, predicted class or None)`` of the galaxy's other candidates within ``half`` px."""
    return session.execute(
        select(Candidate.source_id, Candidate.x, Candidate.y, Prediction.predicted_class)
        .outerjoin(
            Prediction,
            (Prediction.candidate_id == Candidate.id) & (Prediction.model_version_id == (version_id or -1)),
        )
        .where(
            Candidate.galaxy_id == candidate.galaxy_id,
            Candidate.id != candidate.id,
            Candidate.x.between(candidate.x - half, candidate.x + half),
            Candidate.y.between(candidate.y - half, candidate.y + half),
        )
    ).all()


def standing_flag(session: Session, candidate_id: int, expert_id: int) -> bool:
    """Whether the expert's latest standing answer on the candidate is flagged (False without one)."""
    flagged = session.scalar(
        select(Label.flagged)
        .where(Label.candidate_id == candidate_id, *_standing(expert_id))
        .order_by(Label.id.desc())
        .limit(1)
    )
    return bool(flagged)


def latest_standing_candidate(session: Session, expert_id: int) -> int | None:
    """The candidate of the expert's most recent standing answer (any candidate); None without one."""
    return session.scalar(
        select(Label.candidate_id).where(*_standing(expert_id)).order_by(Label.id.desc()).limit(1)
    )


def stored_prediction(session: Session, candidate_id: int, version_id: int) -> Prediction | None:
    """The prediction of one model version for one candidate, if stored."""
    return session.scalars(
        select(Prediction).where(
            Prediction.candidate_id == candidate_id, Prediction.model_version_id == version_id
        )
    ).one_or_none()


def consensus_example_positions(
    session: Session, galaxy_id: int, consensus_class: int, limit: int
) -> list[tuple[float, float]]:
    """``(x, y)`` of usable candidates of a galaxy with this stored consensus class, most votes first."""
    return session.execute(
        select(Candidate.x, Candidate.y)
        .where(
            Candidate.galaxy_id == galaxy_id,
            Candidate.usable.is_(True),
            Candidate.consensus_class == consensus_class,
        )
        .order_by(Candidate.n_votes.desc(), Candidate.id)
        .limit(limit)
    ).all()


def has_predictions(session: Session, version_id: int, galaxy_id: int | None = None) -> bool:
    """Whether the model version has scored at least one candidate (of ``galaxy_id``)."""
    scored = select(Prediction.candidate_id).join(Candidate).where(Prediction.model_version_id == version_id)
    if galaxy_id is not None:
        scored = scored.where(Candidate.galaxy_id == galaxy_id)
    return session.scalar(scored.limit(1)) is not None


def answered_since(session: Session, expert_id: int, since: dt.datetime) -> int:
    """Distinct candidates the expert answered since ``since`` whose answer still stands."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Label.candidate_id))).where(
                *_standing(expert_id), Label.created_at >= since
            )
        )
    )


def usable_count(session: Session, galaxy_id: int | None = None) -> int:
    """Usable candidates (full stamp), of one galaxy or all."""
    usable = select(func.count(Candidate.id)).where(Candidate.usable.is_(True))
    if galaxy_id is not None:
        usable = usable.where(Candidate.galaxy_id == galaxy_id)
    return int(session.scalar(usable))


def usable_among(session: Session, candidate_ids: Sequence[int]) -> int:
    """How many of these candidates are usable."""
    if not len(candidate_ids):
        return 0
    return int(
        session.scalar(
            select(func.count(Candidate.id)).where(
                Candidate.usable.is_(True), in_ids(Candidate.id, candidate_ids)
            )
        )
    )


def field_rows(session: Session, galaxy_id: int, version_id: int) -> list[tuple[Any, ...]]:
    """Every candidate of a galaxy by source id: ``(id, source_id, x, y, usable, predicted class, confidence)``,
    the last two from ``version_id`` (None when it did not score the candidate).
    """
    return session.execute(
        select(
            Candidate.id,
            Candidate.source_id,
            Candidate.x,
            Candidate.y,
            Candidate.usable,
            Prediction.predicted_class,
            Prediction.confidence,
        )
        .outerjoin(
            Prediction,
            (Prediction.candidate_id == Candidate.id) & (Prediction.model_version_id == version_id),
        )
        .where(Candidate.galaxy_id == galaxy_id)
        .order_by(Candidate.source_id)
    ).all()


def predicted_class_counts(session: Session, version_id: int) -> list[tuple[int, int, int]]:
    """``(galaxy_id, predicted class, candidates)`` of one model version's predictions."""
    return session.execute(
        select(Candidate.galaxy_id, Prediction.predicted_class, func.count())
        .join(Prediction, Prediction.candidate_id == Candidate.id)
        .where(Prediction.model_version_id == version_id)
        .group_by(Candidate.galaxy_id, Prediction.predicted_class)
    ).all()
