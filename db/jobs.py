"""The job queue: enqueue, atomic claim, heartbeat and progress, cancel, finish, recover.

A job is a row of :class:`db.models.Job`. Workers (separate processes, see
:mod:`webapp.worker`) claim the oldest queued job atomically: on PostgreSQL
with ``SELECT ... FOR UPDATE SKIP LOCKED``, on SQLite with a conditional
``UPDATE ... WHERE status = 'queued'`` (SQLite serialises writers, so exactly
one claimer sees its update succeed). At most one training job runs at a time
across all workers: the claim of a training job is conditional on no other
training job running (on PostgreSQL under a transaction-level advisory lock).

Every state change after the claim is conditional on the row still belonging
to the claiming worker and still running, so a worker whose job was declared
stale and recovered cannot overwrite the outcome. A worker that stops sending
heartbeats (killed, machine lost) leaves its job ``running``;
:func:`recover_stale` marks such jobs failed so that they can be retried, or,
for the kinds in :data:`RESUMABLE_KINDS` (scoring, which stores each chunk
and scores only what is not yet stored), queues them again for the next
worker, up to :data:`MAX_ATTEMPTS` claims.

No function here commits: the caller owns the transaction
(:func:`db.engine.use_case`), and a claim, a heartbeat or a report is meant
to be a use case of its own, committed at once (the claim's advisory lock on
PostgreSQL is held until then).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, select, text, true, update
from sqlalchemy.orm import Session, aliased

from db.models import Job, utcnow

__all__ = [
    "TRAINING_KINDS",
    "SCORING_KINDS",
    "RESUMABLE_KINDS",
    "MAX_ATTEMPTS",
    "LOG_TAIL_LINES",
    "JobInfo",
    "JobLost",
    "enqueue",
    "enqueue_many",
    "enqueue_unless_active",
    "claim_next",
    "heartbeat",
    "report",
    "finish",
    "request_cancel",
    "recover_stale",
    "get_job",
    "list_jobs",
    "active_jobs",
]

#: Job kinds that train a network: never more than one running at a time.
TRAINING_KINDS: frozenset[str] = frozenset({"retrain"})

#: Job kinds that store a model version's predictions (see webapp.services.scoring).
SCORING_KINDS: frozenset[str] = frozenset({"score", "score_shard"})

#: Job kinds a new worker may simply run again after their worker died: they resume, never redo.
RESUMABLE_KINDS: frozenset[str] = SCORING_KINDS

#: Claims of a resumable job before a lost worker makes it fail (a job that kills its worker every time).
MAX_ATTEMPTS = 3

#: Lines of log kept on the job row for display.
LOG_TAIL_LINES = 40

# an arbitrary constant key for PostgreSQL's advisory lock around training claims
_TRAINING_LOCK_KEY = 60_611_006


class JobLost(RuntimeError):
    """The job no longer belongs to this worker (recovered as stale, or finished elsewhere)."""


@dataclass(frozen=True)
class JobInfo:
    """A plain copy of a job row, safe to keep after the session closes."""

    id: int
    kind: str
    status: str
    params: dict[str, Any]
    result: dict[str, Any]
    progress: float
    message: str
    log_tail: str
    error: str | None
    worker_id: str | None
    attempts: int
    cancel_requested: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_row(cls, job: Job) -> JobInfo:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            params=dict(job.params or {}),
            result=dict(job.result or {}),
            progress=float(job.progress or 0.0),
            message=job.message or "",
            log_tail=job.log_tail or "",
            error=job.error,
            worker_id=job.worker_id,
            attempts=int(job.attempts or 0),
            cancel_requested=bool(job.cancel_requested),
            created_at=job.created_at,
            started_at=job.started_at,
            heartbeat_at=job.heartbeat_at,
            finished_at=job.finished_at,
        )

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


def enqueue(session: Session, kind: str, params: dict[str, Any] | None = None) -> JobInfo:
    """Add a queued job to the caller's transaction; returns its row."""
    job = Job(kind=kind, status="queued", params=dict(params or {}), result={}, message="queued")
    session.add(job)
    session.flush()
    return JobInfo.from_row(job)


def enqueue_many(session: Session, kind: str, params: list[dict[str, Any]]) -> list[int]:
    """Add one queued job per params dict to the caller's transaction (all or none); returns their ids."""
    rows = [Job(kind=kind, status="queued", params=dict(p), result={}, message="queued") for p in params]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def enqueue_unless_active(
    session: Session, kind: str, params: dict[str, Any] | None = None
) -> tuple[JobInfo, bool]:
    """Queue a job unless one of the same kind is queued or running; returns (job, whether it is new).

    Check and insert belong to the caller's one transaction: on SQLite the
    engine's immediate transactions serialise it, on PostgreSQL a
    transaction-level advisory lock per kind does, so two simultaneous
    requests never queue two jobs.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:kind))"), {"kind": f"enqueue:{kind}"})
    pending = session.execute(
        select(Job).where(Job.kind == kind, Job.status.in_(("queued", "running"))).order_by(Job.id).limit(1)
    ).scalar_one_or_none()
    if pending is not None:
        return JobInfo.from_row(pending), False
    return enqueue(session, kind, params), True


def _training_running():
    other = aliased(Job)
    return exists().where(and_(other.status == "running", other.kind.in_(sorted(TRAINING_KINDS))))


def claim_next(session: Session, worker_id: str, kinds: frozenset[str] | None = None) -> JobInfo | None:
    """Atomically take the oldest queued job (of ``kinds``, default any) for ``worker_id``.

    A training job is skipped while another training job is running. Returns
    None when there is nothing to claim. Commit at once: the claim is only
    visible to others, and on PostgreSQL the training lock released, when the
    caller's transaction ends.
    """
    now = utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TRAINING_LOCK_KEY})
    query = select(Job.id, Job.kind).where(Job.status == "queued").order_by(Job.created_at, Job.id)
    if kinds is not None:
        query = query.where(Job.kind.in_(sorted(kinds)))
    if session.execute(select(_training_running())).scalar():
        query = query.where(Job.kind.not_in(sorted(TRAINING_KINDS)))
    if postgres:
        query = query.with_for_update(skip_locked=True)
    for job_id, kind in session.execute(query.limit(20)).all():
        condition = and_(Job.id == job_id, Job.status == "queued")
        claimed = session.execute(
            update(Job)
            .where(condition)
            .where(~_training_running() if kind in TRAINING_KINDS else true())
            .values(
                status="running",
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                attempts=Job.attempts + 1,
                message="started",
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            return get_job(session, job_id)
    return None


def _owned(job_id: int, worker_id: str):
    return and_(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")


def heartbeat(session: Session, job_id: int, worker_id: str) -> bool:
    """Record that ``worker_id`` is alive on ``job_id``; returns whether cancel was requested.

    Raises :class:`JobLost` when the job is no longer this worker's running job.
    """
    done = session.execute(
        update(Job)
        .where(_owned(job_id, worker_id))
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise JobLost(f"job {job_id} is no longer running on {worker_id}")
    return bool(session.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar())


def report(
    session: Session,
    job_id: int,
    worker_id: str,
    *,
    progress: float | None = None,
    message: str | None = None,
    log_lines: list[str] | None = None,
    result: dict[str, Any] | None = None,
) -> bool:
    """Store progress (0..1), a status message, new log lines and partial results; also a heartbeat.

    Returns whether cancel was requested; raises :class:`JobLost` like :func:`heartbeat`.
    """
    job = session.execute(select(Job).where(_owned(job_id, worker_id))).scalar_one_or_none()
    if job is None:
        raise JobLost(f"job {job_id} is no longer running on {worker_id}")
    if progress is not None:
        job.progress = float(min(max(progress, 0.0), 1.0))
    if message is not None:
        job.message = message
    if log_lines:
        lines = (job.log_tail.splitlines() if job.log_tail else []) + list(log_lines)
        job.log_tail = "\n".join(lines[-LOG_TAIL_LINES:])
    if result is not None:
        job.result = {**(job.result or {}), **result}
    job.heartbeat_at = utcnow()
    return bool(job.cancel_requested)


def finish(
    session: Session,
    job_id: int,
    worker_id: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    message: str | None = None,
) -> None:
    """Move a running job to ``succeeded``, ``failed`` or ``cancelled``; raises :class:`JobLost`."""
    if status not in ("succeeded", "failed", "cancelled"):
        raise ValueError(f"not a final job status: {status!r}")
    job = session.execute(select(Job).where(_owned(job_id, worker_id))).scalar_one_or_none()
    if job is None:
        raise JobLost(f"job {job_id} is no longer running on {worker_id}")
    job.status = status
    job.finished_at = utcnow()
    job.error = error
    job.message = message or status
    if status == "succeeded":
        job.progress = 1.0
    if result is not None:
        job.result = {**(job.result or {}), **result}
    session.flush()


def request_cancel(session: Session, job_id: int) -> JobInfo:
    """Cancel a queued job at once; ask a running job's worker to stop. Finished jobs are unchanged."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), message="cancelled before it started")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(cancel_requested=True, message="cancel requested")
        .execution_options(synchronize_session=False)
    )
    return get_job(session, job_id)


def recover_stale(session: Session, stale_after_s: float) -> list[int]:
    """Deal with every running job whose last heartbeat is older than ``stale_after_s`` seconds.

    Such a job's worker died (killed, crashed, machine lost). A job of
    :data:`RESUMABLE_KINDS` claimed fewer than :data:`MAX_ATTEMPTS` times is
    queued again, to be resumed by the next worker; any other is marked failed:
    whatever it had half-written was never registered, because registration is
    the job's last step. Returns the recovered job ids.
    """
    cutoff = utcnow() - dt.timedelta(seconds=stale_after_s)
    stale = session.execute(
        select(Job).where(Job.status == "running", func.coalesce(Job.heartbeat_at, Job.started_at) < cutoff)
    ).scalars()
    recovered = []
    for job in stale:
        lost = (
            f"worker {job.worker_id} stopped responding"
            f" (last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        if job.kind in RESUMABLE_KINDS and job.attempts < MAX_ATTEMPTS:
            job.status = "queued"
            job.worker_id = None
            job.message = f"queued again: {lost}"
        else:
            job.status = "failed"
            job.finished_at = utcnow()
            job.error = f"{lost}; nothing it produced was registered — submit the job again"
            job.message = "failed: worker lost"
        recovered.append(job.id)
    session.flush()
    return recovered


def get_job(session: Session, job_id: int) -> JobInfo:
    """The current state of one job (the row as the database holds it now, in this transaction)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise KeyError(f"no job {job_id}")
    return JobInfo.from_row(job)


def list_jobs(session: Session, *, kind: str | None = None, limit: int = 50) -> list[JobInfo]:
    """The most recent jobs first."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return [JobInfo.from_row(job) for job in session.execute(query).scalars()]


def active_jobs(session: Session, kinds: frozenset[str] | None = None) -> list[JobInfo]:
    """Queued or running jobs (of ``kinds``), oldest first."""
    query = select(Job).where(Job.status.in_(("queued", "running"))).order_by(Job.created_at, Job.id)
    if kinds is not None:
        query = query.where(Job.kind.in_(sorted(kinds)))
    return [JobInfo.from_row(job) for job in session.execute(query).scalars()]
