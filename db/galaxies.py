"""Galaxies and their candidates: look-ups, import inserts, summaries, stored consensus, export rows.

The caller owns the transaction (:func:`db.engine.use_case`); nothing here
commits. The review screen's reads are :mod:`db.review`, the queue's
:mod:`db.queue`, predictions' :mod:`db.predictions`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from db.ids import in_ids
from db.models import Candidate, Galaxy, Prediction

__all__ = [
    "galaxy_id_by_name",
    "galaxy_by_name",
    "galaxy_ids_by_name",
    "galaxy_name_of_catalog",
    "mosaic_paths",
    "insert_candidates",
    "candidate_ids_by_source",
    "candidate_index",
    "candidate_by_source",
    "candidate_positions",
    "usable_ids",
    "galaxy_summary_rows",
    "stored_consensus_rows",
    "described_consensus_rows",
    "export_row_partitions",
]


def galaxy_id_by_name(session: Session, name: str) -> int | None:
    """The id of the galaxy called ``name``, if any."""
    return session.scalar(select(Galaxy.id).where(Galaxy.name == name))


def galaxy_by_name(session: Session, name: str) -> Galaxy | None:
    """The galaxy called ``name``, if any."""
    return session.scalars(select(Galaxy).where(Galaxy.name == name)).one_or_none()


def galaxy_ids_by_name(session: Session) -> dict[str, int]:
    """Galaxy name -> id, for every galaxy."""
    return dict(session.execute(select(Galaxy.name, Galaxy.id)).all())


def galaxy_name_of_catalog(session: Session, catalog_path: str) -> str | None:
    """The name of the galaxy imported from this (resolved) catalog path, if any."""
    return session.scalar(select(Galaxy.name).where(Galaxy.catalog_path == catalog_path))


def galaxy_with_candidates(
    session: Session, source_ids: Sequence[int], x: Sequence[float], y: Sequence[float]
) -> str | None:
    """The name of a galaxy whose candidates are these: the same source ids at the same positions (0.01 px).

    Finds a field imported again from a copy of its catalog in another folder,
    which the catalog path alone does not show.
    """
    wanted = sorted(
        (int(s), round(float(a), 2), round(float(b), 2)) for s, a, b in zip(source_ids, x, y, strict=True)
    )
    same_count = (
        select(Candidate.galaxy_id).group_by(Candidate.galaxy_id).having(func.count() == len(wanted))
    )
    for galaxy_id in session.scalars(same_count):
        rows = session.execute(
            select(Candidate.source_id, Candidate.x, Candidate.y)
            .where(Candidate.galaxy_id == galaxy_id)
            .order_by(Candidate.source_id)
        ).all()
        if [(s, round(a, 2), round(b, 2)) for s, a, b in rows] == wanted:
            return session.scalar(select(Galaxy.name).where(Galaxy.id == galaxy_id))
    return None


def mosaic_paths(session: Session, galaxy_id: int) -> dict[str, str]:
    """Band -> stored mosaic path of a galaxy (empty without mosaics or without the galaxy)."""
    galaxy = session.get(Galaxy, galaxy_id)
    return dict((galaxy.mosaic_paths if galaxy is not None else None) or {})


def insert_candidates(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert candidate rows (dicts of :class:`db.models.Candidate` columns) in one statement."""
    if rows:
        session.execute(insert(Candidate), list(rows))


def candidate_ids_by_source(session: Session, galaxy_id: int) -> dict[int, int]:
    """Catalog source id -> candidate id, for one galaxy."""
    return dict(
        session.execute(
            select(Candidate.source_id, Candidate.id).where(Candidate.galaxy_id == galaxy_id)
        ).all()
    )


def candidate_index(session: Session, galaxy_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """``(galaxy id, source id)`` -> candidate id, for the candidates of these galaxies."""
    return {
        (galaxy_id, source_id): candidate_id
        for candidate_id, galaxy_id, source_id in session.execute(
            select(Candidate.id, Candidate.galaxy_id, Candidate.source_id).where(
                Candidate.galaxy_id.in_(list(galaxy_ids))
            )
        )
    }


def candidate_by_source(session: Session, galaxy: str, source_id: int) -> Candidate | None:
    """Candidate ``source_id`` (catalog id) of the galaxy called ``galaxy``, if any."""
    return session.scalars(
        select(Candidate).join(Galaxy).where(Galaxy.name == galaxy, Candidate.source_id == source_id)
    ).one_or_none()


def candidate_positions(session: Session, candidate_ids: Sequence[int]) -> list[Any]:
    """Rows ``id, galaxy_id, x, y`` of these candidates (those that exist, in no particular order)."""
    return session.execute(
        select(Candidate.id, Candidate.galaxy_id, Candidate.x, Candidate.y).where(
            in_ids(Candidate.id, candidate_ids)
        )
    ).all()


def usable_ids(session: Session, candidate_ids: Sequence[int]) -> set[int]:
    """Those of these candidates that have a full stamp (no edge, no missing band)."""
    return set(
        session.scalars(
            select(Candidate.id).where(in_ids(Candidate.id, candidate_ids), Candidate.usable.is_(True))
        )
    )


def galaxy_summary_rows(session: Session, name: str | None = None) -> list[tuple[Galaxy, int, int, int]]:
    """``(galaxy, candidates, usable candidates, labelled candidates)`` of every galaxy (or ``name``), by name."""
    labelled = func.sum(func.cast(Candidate.n_votes > 0, Candidate.n_votes.type))
    query = (
        select(
            Galaxy,
            func.count(Candidate.id),
            func.coalesce(func.sum(func.cast(Candidate.usable, Candidate.n_votes.type)), 0),
            func.coalesce(labelled, 0),
        )
        .outerjoin(Candidate, Candidate.galaxy_id == Galaxy.id)
        .group_by(Galaxy.id)
        .order_by(Galaxy.name)
    )
    if name is not None:
        query = query.where(Galaxy.name == name)
    return session.execute(query).all()


def stored_consensus_rows(session: Session, ids: Sequence[int] | None = None) -> list[tuple[int, int, Any]]:
    """``(id, n_votes, consensus_class)`` as stored on the candidates (all, or ``ids``), by id."""
    query = select(Candidate.id, Candidate.n_votes, Candidate.consensus_class).order_by(Candidate.id)
    if ids is not None:
        query = query.where(Candidate.id.in_(list(ids)))
    return session.execute(query).all()


def described_consensus_rows(session: Session, ids: Sequence[int]) -> list[tuple[int, str, int, int, Any]]:
    """``(id, galaxy name, source id, stored n_votes, stored consensus_class)`` of these candidates, by id."""
    return session.execute(
        select(Candidate.id, Galaxy.name, Candidate.source_id, Candidate.n_votes, Candidate.consensus_class)
        .join(Galaxy)
        .where(Candidate.id.in_(list(ids)))
        .order_by(Candidate.id)
    ).all()


def export_row_partitions(
    session: Session, galaxy_id: int, version_id: int | None, rows_per_part: int
) -> Iterator[Any]:
    """A galaxy's candidates by source id, ``rows_per_part`` rows at a time from a server-side cursor.

    Each row: ``id, source_id, x, y, ra, dec, mag_v, usable, n_unsure,
    votes_1..votes_4`` (the cached consensus, :mod:`db.consensus`), then the
    model version's predicted class (0 when not scored), ``p1..p4``, and the
    precision and engine that computed them.
    """
    joined = and_(Prediction.candidate_id == Candidate.id, Prediction.model_version_id == (version_id or -1))
    query = (
        select(
            Candidate.id,
            Candidate.source_id,
            Candidate.x,
            Candidate.y,
            Candidate.ra,
            Candidate.dec,
            Candidate.mag_v,
            Candidate.usable,
            Candidate.n_unsure,
            Candidate.votes_1,
            Candidate.votes_2,
            Candidate.votes_3,
            Candidate.votes_4,
            func.coalesce(Prediction.predicted_class, 0),
            Prediction.p1,
            Prediction.p2,
            Prediction.p3,
            Prediction.p4,
            Prediction.precision,
            Prediction.engine,
        )
        .outerjoin(Prediction, joined)
        .where(Candidate.galaxy_id == galaxy_id)
        .order_by(Candidate.source_id)
        .execution_options(yield_per=rows_per_part)
    )
    return session.execute(query).partitions()
