"""The model registry: versions, promotion, roll back, and the fixed held-out set.

A model version is registered only once its checkpoint is complete on disk:
:func:`register_version` checks that the file exists and that its sha256 is
the one the trainer computed after the atomic write, so a half-written
checkpoint (a worker killed mid-save) can never become a version. At most one
version is ``active`` (a partial unique index enforces it); promoting archives
the previous one, and :func:`rollback` re-activates the version that was
active before.

The held-out set is a list of labelled candidates that retraining never
sees. It only grows, and only when asked (:func:`add_held_out`, stratified
by class and galaxy); each growth is one batch of rows with one ``added_at``,
so the time of the last growth names the set a version was measured on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import HeldOutCandidate, Job, ModelVersion, utcnow

__all__ = [
    "VersionInfo",
    "file_sha256",
    "register_version",
    "promote",
    "rollback",
    "rollback_target",
    "list_versions",
    "get_version",
    "record_metrics",
    "HeldOutGrowth",
    "held_out_ids",
    "held_out_growth",
    "add_held_out",
    "version_by_name",
    "version_id_by_name",
    "existing_version_ids",
    "checkpoint_paths_of_job",
    "trainers",
    "score_job_params",
]


@dataclass(frozen=True)
class HeldOutGrowth:
    """One choice or growth of the held-out set: when, how many were added, the size after it."""

    added_at: dt.datetime
    n_added: int
    size: int


@dataclass(frozen=True)
class VersionInfo:
    """A plain copy of a model version row."""

    id: int
    name: str
    status: str
    mode: str
    parent_id: int | None
    checkpoint_path: str | None
    label_fingerprint: str | None
    n_train_labels: int
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    history: list[Any]
    created_at: dt.datetime
    promoted_at: dt.datetime | None
    job_id: int | None

    @classmethod
    def from_row(cls, row: ModelVersion) -> VersionInfo:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            mode=row.mode,
            parent_id=row.parent_id,
            checkpoint_path=row.checkpoint_path,
            label_fingerprint=row.label_fingerprint,
            n_train_labels=int(row.n_train_labels or 0),
            metrics=dict(row.metrics or {}),
            baseline_metrics=dict(row.baseline_metrics or {}),
            history=list(row.history or []),
            created_at=row.created_at,
            promoted_at=row.promoted_at,
            job_id=row.job_id,
        )


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_version(
    session: Session,
    *,
    name: str,
    checkpoint_path: str | Path,
    checkpoint_sha256: str,
    mode: str,
    parent_id: int | None = None,
    label_fingerprint: str | None = None,
    n_train_labels: int = 0,
    metrics: dict[str, Any] | None = None,
    baseline_metrics: dict[str, Any] | None = None,
    history: list[Any] | None = None,
    config: dict[str, Any] | None = None,
    job_id: int | None = None,
) -> VersionInfo:
    """Add a ``proposed`` model version for a complete checkpoint; flushes, the caller commits.

    Raises
    ------
    ValueError
        If the checkpoint is missing or its sha256 differs from ``checkpoint_sha256``
        (a truncated or replaced file).
    """
    path = Path(checkpoint_path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    if file_sha256(path) != checkpoint_sha256:
        raise ValueError(f"checkpoint {path} does not match its recorded sha256 (incomplete write?)")
    row = ModelVersion(
        name=name,
        checkpoint_path=str(path),
        checkpoint_sha256=checkpoint_sha256,
        mode=mode,
        parent_id=parent_id,
        label_fingerprint=label_fingerprint,
        n_train_labels=n_train_labels,
        metrics=metrics or {},
        baseline_metrics=baseline_metrics or {},
        history=history or [],
        config=config or {},
        status="proposed",
        job_id=job_id,
    )
    session.add(row)
    session.flush()
    return VersionInfo.from_row(row)


def promote(session: Session, version_id: int, *, stamp: bool = True) -> int | None:
    """Make ``version_id`` the active version; returns the previously active id. Flushes only.

    ``stamp=False`` keeps the version's original promotion time (used by :func:`rollback`).
    """
    target = session.get(ModelVersion, version_id)
    if target is None:
        raise KeyError(f"no model version {version_id}")
    previous = session.scalars(select(ModelVersion).where(ModelVersion.status == "active")).one_or_none()
    if previous is not None and previous.id == version_id:
        return previous.id
    # archive first: the partial unique index allows one active row at a time
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.status == "active")
        .values(status="archived")
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    target.status = "active"
    if stamp:
        target.promoted_at = utcnow()
    session.flush()
    return previous.id if previous is not None else None


def rollback_target(session: Session) -> int | None:
    """The version :func:`rollback` would re-activate; None when there is nothing to roll back to."""
    current = session.scalars(select(ModelVersion).where(ModelVersion.status == "active")).one_or_none()
    query = select(ModelVersion.id).where(
        ModelVersion.promoted_at.is_not(None), ModelVersion.status != "active"
    )
    if current is not None and current.promoted_at is not None:
        query = query.where(ModelVersion.promoted_at <= current.promoted_at)
    return session.scalars(query.order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())).first()


def rollback(session: Session) -> int:
    """Re-activate the version that was active before the current one; returns its id. Flushes only.

    The current version's promotion is withdrawn (``promoted_at`` cleared), so
    repeated roll backs walk back through the promotion history.
    """
    earlier = rollback_target(session)
    if earlier is None:
        raise LookupError("no earlier active model version to roll back to")
    current = session.scalars(select(ModelVersion).where(ModelVersion.status == "active")).one_or_none()
    if current is not None:
        current.promoted_at = None
    promote(session, earlier, stamp=False)
    return earlier


def list_versions(session: Session) -> list[VersionInfo]:
    """Every model version, newest first."""
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()))
    return [VersionInfo.from_row(row) for row in rows]


def get_version(session: Session, version_id: int) -> VersionInfo:
    """One model version."""
    row = session.get(ModelVersion, version_id)
    if row is None:
        raise KeyError(f"no model version {version_id}")
    return VersionInfo.from_row(row)


def record_metrics(session: Session, version_id: int, metrics: dict[str, Any]) -> None:
    """Replace a version's held-out metrics (a re-measurement on the current held-out set). Flushes only."""
    row = session.get(ModelVersion, version_id)
    if row is None:
        raise KeyError(f"no model version {version_id}")
    row.metrics = dict(metrics)
    session.flush()


def held_out_ids(session: Session) -> np.ndarray:
    """Candidate ids of the held-out set (sorted)."""
    ids = session.scalars(select(HeldOutCandidate.candidate_id).order_by(HeldOutCandidate.candidate_id))
    return np.fromiter(ids, dtype=np.int64)


def held_out_growth(session: Session) -> list[HeldOutGrowth]:
    """Every choice or growth of the held-out set, oldest first, with the size it left."""
    rows = session.execute(
        select(HeldOutCandidate.added_at, func.count())
        .group_by(HeldOutCandidate.added_at)
        .order_by(HeldOutCandidate.added_at)
    ).all()
    sizes = np.cumsum([n for _, n in rows]).tolist()
    return [HeldOutGrowth(at, int(n), int(size)) for (at, n), size in zip(rows, sizes, strict=True)]


def _allocate(sizes: np.ndarray, n: int) -> np.ndarray:
    """``n`` split over strata in proportion to their ``sizes`` (largest remainders), never above a size."""
    quota = n * sizes / sizes.sum()
    counts = np.minimum(np.floor(quota).astype(np.int64), sizes)
    for stratum in np.argsort(-(quota - counts), kind="stable"):
        if counts.sum() >= n:
            break
        if counts[stratum] < sizes[stratum]:
            counts[stratum] += 1
    return counts


def add_held_out(
    session: Session,
    candidate_ids: Sequence[int],
    classes: Sequence[int],
    galaxy_ids: Sequence[int],
    n: int,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Hold out ``n`` more of the given labelled candidates, stratified by (class, galaxy). Flushes only.

    Candidates already held out are skipped. The ``n`` are shared out over the
    (class, galaxy) strata of the remaining candidates in proportion to their
    sizes, so the set keeps the make-up of the labels. All rows of one call
    carry the same ``added_at``: that is the record of this growth
    (:func:`held_out_growth`).

    Parameters
    ----------
    candidate_ids, classes, galaxy_ids : sequence of int
        The labelled candidates, their consensus class (1-4) and galaxy.
    n : int
        How many to add (fewer when fewer remain).
    seed : int
        Seed of the random choice within each stratum.

    Returns
    -------
    numpy.ndarray
        The ids added (sorted).
    """
    ids = np.asarray(candidate_ids, dtype=np.int64)
    fresh = ~np.isin(ids, held_out_ids(session))
    if n <= 0 or not fresh.any():
        return np.zeros(0, dtype=np.int64)
    pairs = np.stack([np.asarray(classes)[fresh], np.asarray(galaxy_ids)[fresh]], axis=1)
    strata, which = np.unique(pairs, axis=0, return_inverse=True)
    which = which.ravel()
    counts = _allocate(np.bincount(which, minlength=len(strata)), min(n, int(fresh.sum())))
    rng = np.random.default_rng(seed)
    picked = np.sort(
        np.concatenate(
            [rng.choice(ids[fresh][which == s], size=int(k), replace=False) for s, k in enumerate(counts)]
        )
    )
    now = utcnow()
    session.add_all(HeldOutCandidate(candidate_id=int(i), added_at=now) for i in picked)
    session.flush()
    return picked


def version_by_name(session: Session, name: str) -> ModelVersion | None:
    """The model version called ``name``, if any."""
    return session.scalars(select(ModelVersion).where(ModelVersion.name == name)).one_or_none()


def version_id_by_name(session: Session, name: str) -> int | None:
    """The id of the model version called ``name``, if any."""
    return session.scalar(select(ModelVersion.id).where(ModelVersion.name == name))


def existing_version_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """Those of these ids that are model versions."""
    return set(session.scalars(select(ModelVersion.id).where(ModelVersion.id.in_(list(ids)))))


def checkpoint_paths_of_job(session: Session, job_id: int) -> list[str]:
    """The checkpoint paths of the model versions a job registered (none for a job that never got there)."""
    return [
        p
        for p in session.scalars(select(ModelVersion.checkpoint_path).where(ModelVersion.job_id == job_id))
        if p
    ]


def trainers(session: Session) -> list[tuple[int, dict[str, Any] | None]]:
    """``(version id, params of the job that trained it)`` of every version a job made."""
    return session.execute(select(ModelVersion.id, Job.params).join(Job, Job.id == ModelVersion.job_id)).all()


def score_job_params(session: Session) -> list[dict[str, Any]]:
    """The params of every ``score`` job, oldest first (they record promotions and roll backs, and who asked)."""
    return [
        params or {}
        for (params,) in session.execute(select(Job.params).where(Job.kind == "score").order_by(Job.id))
    ]
