"""The tables of StarcNet Studio (SQLAlchemy 2.0 typed models).

Galaxies hold candidates; experts give labels (append-only, one row per
decision); model versions give predictions (one per candidate and version);
jobs are the background work the worker runs; held-out candidates are the
fixed evaluation set that retraining never sees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Galaxy",
    "Candidate",
    "Expert",
    "Label",
    "ModelVersion",
    "Prediction",
    "Job",
    "HeldOutCandidate",
    "JOB_STATUSES",
    "utcnow",
]

#: Life cycle of a job: queued -> running -> one of the three final states.
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")


def utcnow() -> dt.datetime:
    """Timezone-naive UTC now: what every timestamp column stores (SQLite keeps no zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Galaxy(Base):
    __tablename__ = "galaxy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    distance_mpc: Mapped[float | None] = mapped_column(Float)
    #: band name -> mosaic path, as imported
    mosaic_paths: Mapped[dict[str, Any]] = mapped_column(default=dict)
    catalog_path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    candidates: Mapped[list[Candidate]] = relationship(back_populates="galaxy")


class Candidate(Base):
    __tablename__ = "candidate"
    __table_args__ = (UniqueConstraint("galaxy_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    galaxy_id: Mapped[int] = mapped_column(ForeignKey("galaxy.id"), index=True)
    source_id: Mapped[int] = mapped_column(Integer)
    #: 1-based pixel position in the mosaics, as in the LEGUS catalogs
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    ra: Mapped[float | None] = mapped_column(Float)
    dec: Mapped[float | None] = mapped_column(Float)
    #: Vega magnitudes per band (None when not detected)
    mag_nuv: Mapped[float | None] = mapped_column(Float)
    mag_u: Mapped[float | None] = mapped_column(Float)
    mag_b: Mapped[float | None] = mapped_column(Float)
    mag_v: Mapped[float | None] = mapped_column(Float)
    mag_i: Mapped[float | None] = mapped_column(Float)
    #: class given in the imported catalog (0 = not classified)
    catalog_class: Mapped[int] = mapped_column(Integer, default=0)
    catalog_class_mean: Mapped[float | None] = mapped_column(Float)

    galaxy: Mapped[Galaxy] = relationship(back_populates="candidates")


class Expert(Base):
    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class Label(Base):
    __tablename__ = "label"
    __table_args__ = (CheckConstraint("label_class BETWEEN 1 AND 4", name="label_class_1_4"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    label_class: Mapped[int] = mapped_column(Integer)
    unsure: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    checkpoint_path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_version.id"))
    #: how it was made: "import", "quick", "full", "scratch"
    mode: Mapped[str] = mapped_column(String(16), default="import")
    #: sha256 of the (candidate id, class) pairs it was trained on
    label_fingerprint: Mapped[str | None] = mapped_column(String(64))
    n_train_labels: Mapped[int] = mapped_column(Integer, default=0)
    #: metrics on the held-out set, and the then-active model's on the same set
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    baseline_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    history: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))


class Prediction(Base):
    __tablename__ = "prediction"
    __table_args__ = (UniqueConstraint("candidate_id", "model_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"), index=True)
    predicted_class: Mapped[int] = mapped_column(Integer)
    p1: Mapped[float] = mapped_column(Float)
    p2: Mapped[float] = mapped_column(Float)
    p3: Mapped[float] = mapped_column(Float)
    p4: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float)
    entropy: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Job(Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "retrain" or "score"
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: fraction done, 0..1
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    log_tail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class HeldOutCandidate(Base):
    """A candidate in the fixed evaluation set: never trained on, chosen once, grown on request."""

    __tablename__ = "held_out_candidate"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), primary_key=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
