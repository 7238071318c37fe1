"""Jobs for people: look at, list, cancel and wait for background jobs.

Pages poll :func:`job_status` on each rerun (a fresh session each time), the
``--wait`` options of the command line use :func:`wait_for_job`. The state of
a job is entirely its database row, so it survives browser reloads and app
restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from db import jobs
from db.engine import use_case
from db.jobs import JobInfo
from starcnet_core.errors import UserInputError

__all__ = ["job_status", "recent_jobs", "cancel_job", "rerun_job", "wait_for_job"]


def job_status(session: Session, job_id: int) -> JobInfo:
    """The current state of a job."""
    try:
        with use_case(session):
            return jobs.get_job(session, job_id)
    except KeyError as error:
        raise UserInputError(f"no job {job_id}") from error


def recent_jobs(session: Session, *, kind: str | None = None, limit: int = 20) -> list[JobInfo]:
    """The most recent jobs (of ``kind``), newest first."""
    with use_case(session):
        return jobs.list_jobs(session, kind=kind, limit=limit)


def cancel_job(session: Session, job_id: int) -> JobInfo:
    """Cancel a queued job, or ask the worker running it to stop."""
    with use_case(session):
        job_status(session, job_id)
        return jobs.request_cancel(session, job_id)


def rerun_job(session: Session, job_id: int) -> JobInfo:
    """Queue a failed or cancelled job again with the same parameters; return the new job.

    A retrain goes through :func:`webapp.services.retrain.request_retrain`, so
    that it is refused as any new request would be (another retrain pending,
    no active model for a fine-tune); other kinds are queued as they were.
    """
    with use_case(session):
        old = job_status(session, job_id)
        if old.status not in ("failed", "cancelled"):
            raise UserInputError(f"job #{job_id} is {old.status}: only failed or cancelled jobs are re-run")
        if old.kind == "retrain":
            from webapp.services.retrain import RetrainRequest, request_retrain

            return request_retrain(session, RetrainRequest.from_params(old.params))
        return jobs.enqueue(session, old.kind, old.params)


def wait_for_job(
    sessions: sessionmaker[Session],
    job_id: int,
    *,
    poll_s: float = 1.0,
    timeout_s: float | None = None,
    on_update: Callable[[JobInfo], None] | None = None,
) -> JobInfo:
    """Poll a job until it has finished (or ``timeout_s`` passed); returns its last state."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            state = job_status(session, job_id)
        if on_update is not None:
            on_update(state)
        if state.done or (deadline is not None and time.monotonic() > deadline):
            return state
        time.sleep(poll_s)
