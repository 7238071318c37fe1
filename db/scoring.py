"""What a model version has scored: unscored candidates, shard rows, per-galaxy counts, paired predictions.

The predictions themselves are stored by :mod:`db.predictions`. Reads only;
the caller owns the transaction (:func:`db.engine.use_case`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from db.ids import in_ids, int_columns
from db.models import Candidate, Galaxy, Prediction

__all__ = [
    "unscored_query",
    "unscored_ids",
    "unscored_by_galaxy",
    "usable_per_galaxy",
    "scored_per_galaxy",
    "paired_predictions",
    "count_predictions",
    "precision_counts",
    "metrics_rows",
]


def unscored_query(version_id: int, galaxy_id: int | None, id_range: tuple[int, int] | None) -> Select:
    """Ids of usable candidates (of ``galaxy_id``; within ``id_range``, inclusive) without a prediction of ``version_id``."""
    scored = select(Prediction.candidate_id).where(Prediction.model_version_id == version_id)
    query = select(Candidate.id).where(Candidate.usable.is_(True), Candidate.id.not_in(scored))
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    if id_range is not None:
        query = query.where(Candidate.id.between(*id_range))
    return query


def unscored_ids(
    session: Session, version_id: int, galaxy_id: int | None = None, id_range: tuple[int, int] | None = None
) -> np.ndarray:
    """The ids of :func:`unscored_query`, ascending, as int64."""
    query = unscored_query(version_id, galaxy_id, id_range).order_by(Candidate.id)
    return int_columns(session, query, 1, order_by=(0,))[:, 0]


def unscored_by_galaxy(session: Session, version_id: int, galaxy_id: int | None = None) -> np.ndarray:
    """``(galaxy_id, candidate id)`` rows of the unscored usable candidates, by galaxy then id (int64, n x 2)."""
    query = select(Candidate.galaxy_id, Candidate.id).where(
        Candidate.id.in_(unscored_query(version_id, galaxy_id, None))
    )
    return int_columns(session, query, 2, order_by=(0, 1))


def usable_per_galaxy(session: Session) -> dict[int, int]:
    """Galaxy id -> usable candidates."""
    return dict(
        session.execute(
            select(Candidate.galaxy_id, func.count())
            .where(Candidate.usable.is_(True))
            .group_by(Candidate.galaxy_id)
        ).all()
    )


def scored_per_galaxy(session: Session, version_id: int) -> dict[int, int]:
    """Galaxy id -> usable candidates with a prediction of ``version_id``."""
    return dict(
        session.execute(
            select(Candidate.galaxy_id, func.count())
            .join(Prediction, Prediction.candidate_id == Candidate.id)
            .where(Prediction.model_version_id == version_id, Candidate.usable.is_(True))
            .group_by(Candidate.galaxy_id)
        ).all()
    )


def paired_predictions(session: Session, old_id: int, new_id: int, galaxy_id: int | None = None) -> list[Any]:
    """Candidates scored by both versions, by id: ``id, galaxy name, x, y, mag_u, mag_b, mag_v, mag_i,
    old class, new class``.
    """
    old, new = aliased(Prediction), aliased(Prediction)
    query = (
        select(
            Candidate.id,
            Galaxy.name,
            Candidate.x,
            Candidate.y,
            Candidate.mag_u,
            Candidate.mag_b,
            Candidate.mag_v,
            Candidate.mag_i,
            old.predicted_class,
            new.predicted_class,
        )
        .join(Galaxy, Galaxy.id == Candidate.galaxy_id)
        .join(old, (old.candidate_id == Candidate.id) & (old.model_version_id == old_id))
        .join(new, (new.candidate_id == Candidate.id) & (new.model_version_id == new_id))
        .order_by(Candidate.id)
    )
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    return session.execute(query).all()


def count_predictions(session: Session, version_id: int, candidate_ids: Sequence[int]) -> int:
    """How many of these candidates already have a prediction of ``version_id``."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Prediction)
            .where(Prediction.model_version_id == version_id, in_ids(Prediction.candidate_id, candidate_ids))
        )
    )


def precision_counts(session: Session, version_id: int) -> list[tuple[str | None, str | None, int]]:
    """``(precision, engine, predictions)`` of a model version, most predictions first (None: not recorded)."""
    n = func.count().label("n")
    rows = session.execute(
        select(Prediction.precision, Prediction.engine, n)
        .where(Prediction.model_version_id == version_id)
        .group_by(Prediction.precision, Prediction.engine)
        .order_by(n.desc(), Prediction.precision, Prediction.engine)
    ).all()
    return [(precision, engine, int(count)) for precision, engine, count in rows]


def metrics_rows(session: Session, version_id: int, galaxy_id: int | None = None) -> list[Any]:
    """Every candidate scored by ``version_id`` (of ``galaxy_id``): ``consensus_class, p1..p4,
    predicted_class, galaxy name, distance_mpc, mag_u, mag_b, mag_v, mag_i, properties``.
    """
    query = (
        select(
            Candidate.consensus_class,
            Prediction.p1,
            Prediction.p2,
            Prediction.p3,
            Prediction.p4,
            Prediction.predicted_class,
            Galaxy.name,
            Galaxy.distance_mpc,
            Candidate.mag_u,
            Candidate.mag_b,
            Candidate.mag_v,
            Candidate.mag_i,
            Candidate.properties,
        )
        .join(Prediction, Prediction.candidate_id == Candidate.id)
        .join(Galaxy, Galaxy.id == Candidate.galaxy_id)
        .where(Prediction.model_version_id == version_id)
    )
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    return session.execute(query).all()
