"""The tables of StarcNet Studio (SQLAlchemy 2.0 typed models).

Galaxies hold candidates (one row per catalog source); experts label
candidates; model versions predict them; jobs are the background work the
worker runs; held-out candidates are the fixed evaluation set that retraining
never sees.

:class:`Label` is append-only: a change of mind is a new row (each expert's
latest row counts) and an undo is a new row that retracts an earlier one, so
no label is ever updated or deleted (triggers in the migration enforce it).
:class:`Candidate` caches its consensus (``n_votes``, ``consensus_class``,
the votes per class, ``n_unsure``) and :class:`Vote` the label that counts per
expert, both rewritten in the same transaction as every label so that the
review queue can order by them and consensus, agreement and snapshots cost
one read; :func:`db.consensus.refresh_consensus_cache` rebuilds them from the
labels, which stay the data of record.

Timestamps are timezone-naive UTC (:func:`utcnow`): SQLite keeps no zone, and
the same comparisons must work on PostgreSQL.
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
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

__all__ = [
    "Base",
    "Galaxy",
    "Candidate",
    "Expert",
    "Label",
    "Vote",
    "ModelVersion",
    "Prediction",
    "Job",
    "HeldOutCandidate",
    "AppSetting",
    "LABEL_CLASSES",
    "UNSURE",
    "EXPERT_ROLES",
    "MODEL_STATUSES",
    "JOB_STATUSES",
    "utcnow",
]

#: What an expert may answer: a LEGUS class 1-4 or "unsure".
UNSURE = "unsure"
LABEL_CLASSES: tuple[str, ...] = ("1", "2", "3", "4", UNSURE)
#: ``catalog`` marks a pseudo-expert holding labels imported with a catalog (e.g. "LEGUS mode").
EXPERT_ROLES: tuple[str, ...] = ("expert", "admin", "catalog")
#: Life cycle of a model version: proposed (trained or imported, not in use) -> active (at most
#: one) -> archived. ("candidate" means only a star-cluster candidate.)
MODEL_STATUSES: tuple[str, ...] = ("proposed", "active", "archived")
#: Life cycle of a job: queued -> running -> one of the three final states.
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")

# Stable constraint names, so that Alembic batch migrations on SQLite can address them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-naive UTC now: what every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base: naming convention of constraints, JSON for dict/list columns."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: DateTime}


class Galaxy(Base):
    """One LEGUS field: its mosaics (band -> path, filter, instrument) and candidate catalog."""

    __tablename__ = "galaxy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    distance_mpc: Mapped[float | None] = mapped_column(Float)
    #: band name -> mosaic path / HST filter / instrument, as imported (empty without mosaics)
    mosaic_paths: Mapped[dict[str, Any]] = mapped_column(default=dict)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    instruments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pixel_scale_arcsec: Mapped[float | None] = mapped_column(Float)
    catalog_path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    candidates: Mapped[list[Candidate]] = relationship(back_populates="galaxy")


class Candidate(Base):
    """A catalog source: 1-based LEGUS x, y (pixels), sky position, photometry, cutout usability."""

    __tablename__ = "candidate"
    __table_args__ = (
        UniqueConstraint("galaxy_id", "source_id", name="uq_candidate_galaxy_source"),
        CheckConstraint("consensus_class BETWEEN 1 AND 4", name="consensus_class"),
        Index("ix_candidate_votes", "n_votes", "id"),
        Index("ix_candidate_shuffle", "shuffle_key", "id"),
        Index("ix_candidate_consensus", "consensus_class"),
        # consensus of all experts and the snapshot's galaxies and source ids are read from this index alone
        Index(
            "ix_candidate_labelled",
            "id",
            "galaxy_id",
            "source_id",
            "n_unsure",
            "votes_1",
            "votes_2",
            "votes_3",
            "votes_4",
            sqlite_where=text("n_votes > 0 OR n_unsure > 0"),
            postgresql_where=text("n_votes > 0 OR n_unsure > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    galaxy_id: Mapped[int] = mapped_column(ForeignKey("galaxy.id"), index=True)
    #: the catalog's source id (column 1 of a LEGUS catalog)
    source_id: Mapped[int] = mapped_column(Integer)
    #: 1-based pixel position in the mosaics, as in the LEGUS catalogs
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    ra: Mapped[float | None] = mapped_column(Float)
    dec: Mapped[float | None] = mapped_column(Float)
    #: Vega magnitudes per band (None when not detected or outside the field)
    mag_nuv: Mapped[float | None] = mapped_column(Float)
    mag_u: Mapped[float | None] = mapped_column(Float)
    mag_b: Mapped[float | None] = mapped_column(Float)
    mag_v: Mapped[float | None] = mapped_column(Float, index=True)
    mag_i: Mapped[float | None] = mapped_column(Float)
    #: concentration index in F555W (mag)
    ci: Mapped[float | None] = mapped_column(Float)
    #: the other catalog columns (errors, age, mass, E(B-V), chi2, Nflt) by standard name
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: whether a full 32x32 stamp in all bands can be cut; else why not ("edge", "no mosaics", ...)
    usable: Mapped[bool] = mapped_column(Boolean, default=False)
    unusable_reason: Mapped[str] = mapped_column(String(32), default="")
    #: a fixed pseudo-random number in [0, 1) for the "random" queue order (keyset-pageable)
    shuffle_key: Mapped[float] = mapped_column(Float, default=0.0)
    #: cached from the labels: experts with a class vote, and their mode (None: none or a tie)
    n_votes: Mapped[int] = mapped_column(Integer, default=0)
    consensus_class: Mapped[int | None] = mapped_column(SmallInteger)
    #: cached from the labels with ``n_votes``: the class votes per class, and "unsure" answers
    votes_1: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    votes_2: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    votes_3: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    votes_4: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_unsure: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    galaxy: Mapped[Galaxy] = relationship(back_populates="candidates")


class Expert(Base):
    """A person who labels, or a pseudo-expert holding catalog labels (role ``catalog``)."""

    __tablename__ = "expert"
    __table_args__ = (CheckConstraint(_one_of("role", EXPERT_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="expert")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: the review page as the expert left it (stretch, display range, stamp side, blind, queue), restored at sign-in
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Label(Base):
    """One answer of one expert on one candidate, or the retraction (undo) of an earlier answer.

    An answer has ``label_class`` in :data:`LABEL_CLASSES` and no
    ``retracts_id``; a retraction has ``retracts_id`` and no ``label_class``.
    ``shown_model_version_id``/``shown_scores`` record what the expert saw;
    ``shown_scores`` is None when the scores were hidden.
    """

    __tablename__ = "label"
    __table_args__ = (
        CheckConstraint(
            "(retracts_id IS NULL AND label_class IS NOT NULL AND "
            + _one_of("label_class", LABEL_CLASSES)
            + ")"
            " OR (retracts_id IS NOT NULL AND label_class IS NULL)",
            name="label_class",
        ),
        CheckConstraint("seconds_spent IS NULL OR seconds_spent >= 0", name="seconds_spent"),
        Index("ix_label_candidate_expert", "candidate_id", "expert_id", "id"),
        Index("ix_label_expert_candidate", "expert_id", "candidate_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"))
    label_class: Mapped[str | None] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seconds_spent: Mapped[float | None] = mapped_column(Float)
    shown_model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_version.id"))
    shown_scores: Mapped[list[Any] | None] = mapped_column()
    #: stretch, bands, zoom... as the review page had them
    display_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retracts_id: Mapped[int | None] = mapped_column(ForeignKey("label.id"), unique=True)
    #: sha256 of the file a bulk import came from (one expert cannot import the same file twice)
    import_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the expert marked the candidate to come back to (the review queue's "flagged" filter)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class Vote(Base):
    """The label that counts for one (candidate, expert) pair: a cache of :class:`Label`, rewritten with it.

    ``label_class`` is 1-4, or 0 for "unsure". :mod:`db.consensus` keeps this
    table equal to "each expert's latest answer that has not been retracted"
    in the transaction of every label, so that consensus, agreement and the
    training snapshot read one row per vote instead of ranking every label.
    """

    __tablename__ = "vote"
    __table_args__ = (
        CheckConstraint("label_class BETWEEN 0 AND 4", name="label_class"),
        Index("ix_vote_expert_candidate", "expert_id", "candidate_id"),
    )

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), primary_key=True)
    # expert and label without foreign keys: a cache must not stand in the way of the label
    # table's own guard (its triggers refuse TRUNCATE label / expert with the append-only message)
    expert_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[int] = mapped_column(Integer)
    label_class: Mapped[int] = mapped_column(SmallInteger)


class ModelVersion(Base):
    """A trained network: checkpoint, lineage, training-label fingerprint, metrics, status."""

    __tablename__ = "model_version"
    __table_args__ = (
        CheckConstraint(_one_of("status", MODEL_STATUSES), name="status"),
        # At most one active model version at any time.
        Index(
            "uq_model_version_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_version.id"))
    #: the StarcNetConfig and TrainConfig it was made with
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checkpoint_path: Mapped[str | None] = mapped_column(String(1024))
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64))
    #: how it was made: "import", "quick", "full", "scratch"
    mode: Mapped[str] = mapped_column(String(16), default="import")
    #: fingerprint of the label snapshot it was trained on (db.snapshot.label_snapshot)
    label_fingerprint: Mapped[str | None] = mapped_column(String(64))
    n_train_labels: Mapped[int] = mapped_column(Integer, default=0)
    #: metrics on the held-out set, and the then-active model's on the same set
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    baseline_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    history: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[dt.datetime | None] = mapped_column()
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))

    @hybrid_property
    def is_active(self) -> bool:
        """Whether this is the active version (``status == 'active'``); usable in queries."""
        return self.status == "active"

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls) -> ColumnElement[bool]:
        return cls.status == "active"


class Prediction(Base):
    """The scores of one model version for one candidate (classes 1-4)."""

    __tablename__ = "prediction"
    __table_args__ = (
        UniqueConstraint("model_version_id", "candidate_id", name="uq_prediction_model_candidate"),
        CheckConstraint("predicted_class BETWEEN 1 AND 4", name="predicted_class"),
        # The review-queue orders, each keyset-paged on (value, candidate id).
        Index("ix_prediction_confidence", "model_version_id", "confidence", "candidate_id"),
        Index("ix_prediction_margin", "model_version_id", "margin", "candidate_id"),
        Index("ix_prediction_entropy", "model_version_id", "entropy", "candidate_id"),
        Index("ix_prediction_bald", "model_version_id", "bald", "candidate_id"),
        Index("ix_prediction_candidate", "candidate_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))
    predicted_class: Mapped[int] = mapped_column(SmallInteger)
    p1: Mapped[float] = mapped_column(Float)
    p2: Mapped[float] = mapped_column(Float)
    p3: Mapped[float] = mapped_column(Float)
    p4: Mapped[float] = mapped_column(Float)
    #: highest score; top-1 minus top-2 score; Shannon entropy of the scores (nats)
    confidence: Mapped[float] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float)
    entropy: Mapped[float] = mapped_column(Float)
    #: mutual information between class and weights (BALD, nats) of MC-dropout passes; None: not computed
    bald: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: the arithmetic and engine that computed the scores (``fp32``/``torch`` for the published bits;
    #: ``bf16``, ``int8``, ``fp32-openvino``; ``fp16-features`` from the feature cache); None: not
    #: recorded (imported files, and predictions stored before the columns existed)
    precision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    engine: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A background task ("retrain", "score", ...) run by the worker process."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
        Index("ix_job_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
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
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class HeldOutCandidate(Base):
    """A candidate in the evaluation set: never trained on, grown on request (rows of one growth share ``added_at``)."""

    __tablename__ = "held_out_candidate"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), primary_key=True)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """A choice an admin makes for everyone, e.g. ``blind_campaign`` (blind mode imposed on every expert)."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: the admin's name (text, not a key: settings never hold experts' rows in place)
    changed_by: Mapped[str | None] = mapped_column(String(128))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
