"""The job worker: a separate process that claims queued jobs and runs them.

``python -m webapp worker`` runs :meth:`Worker.run`: it recovers jobs left
running by a dead worker (no heartbeat for ``stale_after_s``), claims the
oldest queued job atomically (:func:`db.jobs.claim_next`), runs the handler
for its kind and records the outcome. While a handler runs, a background
thread sends heartbeats and picks up cancel requests; the handler reports
progress, messages and log lines through its :class:`JobContext` and polls
:meth:`JobContext.should_stop`. Training therefore never runs inside the
Streamlit script, and jobs survive browser reloads and app restarts because
their whole state is the job row.

Any number of workers may run against one database, on one machine or
several: claims are atomic, training jobs run one at a time, and a ``score``
job splits into ``score_shard`` jobs (by galaxy, and by chunks of a large
galaxy; :func:`webapp.services.scoring.plan_shards`) that the workers score
in parallel. A shard whose worker died is queued again by the next worker
that looks (:func:`db.jobs.recover_stale`) and resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db import jobs
from db.engine import session_factory, use_case
from db.jobs import JobInfo, JobLost

__all__ = ["JobContext", "JobHandler", "Worker", "default_handlers"]

log = logging.getLogger(__name__)


class JobContext:
    """What a running handler uses to talk to the job row.

    Parameters
    ----------
    sessions : sessionmaker
        Makes the sessions the context writes with.
    job : JobInfo
        The claimed job.
    worker_id : str
        The claiming worker.
    report_every_s : float
        Minimum seconds between progress writes (log lines and messages are
        buffered until the next write), so a fast loop does not flood the DB.
    """

    def __init__(
        self, sessions: sessionmaker[Session], job: JobInfo, worker_id: str, report_every_s: float = 0.5
    ) -> None:
        self.sessions = sessions
        self.job = job
        self.worker_id = worker_id
        self.report_every_s = report_every_s
        self.cancel_requested = False
        self.lost = False
        self._lock = threading.Lock()
        self._pending_lines: list[str] = []
        self._pending: dict[str, Any] = {}
        self._last_write = 0.0

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def should_stop(self) -> bool:
        """True once a cancel was requested or the job was taken away from this worker."""
        return self.cancel_requested or self.lost

    def progress(self, fraction: float, message: str | None = None, *, force: bool = False) -> None:
        """Report the fraction done (0..1) and optionally a one-line status message."""
        with self._lock:
            self._pending["progress"] = fraction
            if message is not None:
                self._pending["message"] = message
        if force or time.monotonic() - self._last_write >= self.report_every_s:
            self.flush()

    def log(self, line: str) -> None:
        """Append a line to the job's log tail (written with the next report)."""
        log.info("job %s: %s", self.job.id, line)
        with self._lock:
            self._pending_lines.append(line)

    def store(self, **result: Any) -> None:
        """Merge JSON-ready values into the job's result (e.g. training curves so far), written with the next report."""
        with self._lock:
            self._pending["result"] = {**self._pending.get("result", {}), **result}

    def flush(self) -> None:
        """Write buffered progress, message, log lines and results to the job row."""
        with self._lock:
            pending, self._pending = self._pending, {}
            lines, self._pending_lines = self._pending_lines, []
        try:
            with self.sessions() as session, use_case(session):
                cancel = jobs.report(session, self.job.id, self.worker_id, log_lines=lines, **pending)
            self.cancel_requested = self.cancel_requested or cancel
        except JobLost:
            self.lost = True
        except SQLAlchemyError as error:
            # a busy or briefly unreachable database must not kill the job: keep the report for next time
            log.warning("job %s: report not written (%s)", self.job.id, error)
            with self._lock:
                self._pending = {**pending, **self._pending}
                self._pending_lines = lines + self._pending_lines
        self._last_write = time.monotonic()

    def beat(self) -> None:
        """Send one heartbeat and pick up a cancel request."""
        try:
            with self.sessions() as session, use_case(session):
                self.cancel_requested = jobs.heartbeat(session, self.job.id, self.worker_id) or (
                    self.cancel_requested
                )
        except JobLost:
            self.lost = True
        except SQLAlchemyError as error:
            log.warning("job %s: heartbeat not written (%s)", self.job.id, error)


#: A handler runs one job: ``handler(sessions, context) -> result dict`` (JSON-ready).
JobHandler = Callable[[sessionmaker[Session], JobContext], dict[str, Any]]


def default_handlers(*, precision: str = "auto", **stamp_source: Any) -> dict[str, JobHandler]:
    """The job kinds of StarcNet Studio: ``retrain``, ``score`` and its shards ``score_shard``, ``evaluate`` (held-out re-measurement).

    ``stamps=loader`` replaces where both take candidate stamps from (default:
    the stored mosaics; tests pass a loader of synthetic stamps).
    ``precision`` is the inference backend the scoring jobs use (default
    ``auto``; ``fp32`` on every worker keeps a survey's classes identical
    whichever machines score it).
    """
    from webapp.services import held_out, retrain, scoring

    return {
        "retrain": retrain.retrain_job_handler(**stamp_source),
        "score": scoring.score_job_handler(**stamp_source, precision=precision),
        "score_shard": scoring.score_shard_handler(**stamp_source, precision=precision),
        "evaluate": held_out.evaluate_job_handler(**stamp_source),
    }


class Worker:
    """Claims and runs jobs, one at a time.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The application database.
    handlers : mapping of str to JobHandler, optional
        Job kind -> handler (default :func:`default_handlers`); only these kinds are claimed.
    worker_id : str, optional
        Name recorded on claimed jobs (default ``host:pid``).
    poll_s : float
        Seconds between looks at an empty queue.
    heartbeat_s : float
        Seconds between heartbeats while a job runs.
    stale_after_s : float
        A running job with no heartbeat for this long belongs to a dead worker.
    """

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, JobHandler] | None = None,
        *,
        worker_id: str | None = None,
        poll_s: float = 1.0,
        heartbeat_s: float = 2.0,
        stale_after_s: float = 60.0,
    ) -> None:
        self.sessions = session_factory(engine)
        self.handlers = dict(handlers) if handlers is not None else default_handlers()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current job."""
        self._stop.set()

    def run_once(self) -> JobInfo | None:
        """Recover stale jobs, then claim and run one job; returns its final state, or None if idle."""
        with self.sessions() as session:
            with use_case(session):
                recovered = jobs.recover_stale(session, self.stale_after_s)
            for job_id in recovered:
                log.warning("job %s: its worker stopped responding; queued again or marked failed", job_id)
                self._discard_files(session, job_id)
            with use_case(session):
                job = jobs.claim_next(session, self.worker_id, frozenset(self.handlers))
        if job is None:
            return None
        self._execute(job)
        with self.sessions() as session, use_case(session):
            return jobs.get_job(session, job.id)

    def _execute(self, job: JobInfo) -> None:
        context = JobContext(self.sessions, job, self.worker_id)
        done = threading.Event()

        def beat_until_done() -> None:
            while not done.wait(self.heartbeat_s):
                context.beat()

        beater = threading.Thread(target=beat_until_done, name=f"heartbeat-{job.id}", daemon=True)
        beater.start()
        status, result, error = "succeeded", {}, None
        try:
            result = self.handlers[job.kind](self.sessions, context) or {}
        except Exception as exc:  # a failing job must not stop the worker
            if context.should_stop():
                status = "cancelled"
            else:
                status, error = "failed", f"{type(exc).__name__}: {exc}"
                for line in traceback.format_exc().splitlines()[-12:]:
                    context.log(line)
        finally:
            done.set()
            beater.join()
        context.flush()
        if context.lost:
            log.warning("job %s was taken from this worker; its outcome is discarded", job.id)
            return
        try:
            with self.sessions() as session:
                with use_case(session):
                    jobs.finish(session, job.id, self.worker_id, status, result=result, error=error)
                if status != "succeeded":
                    self._discard_files(session, job.id)
        except JobLost:
            log.warning("job %s was taken from this worker; its outcome is discarded", job.id)

    @staticmethod
    def _discard_files(session: Session, job_id: int) -> None:
        """Remove the temporary and unregistered files a job that did not succeed left behind."""
        from webapp.services.retrain import discard_job_checkpoints

        for path in discard_job_checkpoints(session, job_id):
            log.warning("job %s: removed %s, left by the unfinished job", job_id, path)

    def run(self, *, max_jobs: int | None = None, idle_exit: bool = False) -> int:
        """Run jobs until stopped (SIGTERM/SIGINT finish the current job first); returns jobs run.

        Parameters
        ----------
        max_jobs : int, optional
            Return after this many jobs.
        idle_exit : bool
            Return as soon as the queue is empty (for ``--once`` and tests).
        """
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stop())
        count = 0
        while not self._stop.is_set() and (max_jobs is None or count < max_jobs):
            try:
                finished = self.run_once()
            except SQLAlchemyError as error:
                # the database is busy or restarting: try again after a pause rather than exit
                log.warning("worker %s: database error (%s); retrying", self.worker_id, error)
                self._stop.wait(self.poll_s)
                continue
            if finished is None:
                if idle_exit:
                    break
                self._stop.wait(self.poll_s)
            else:
                count += 1
        return count
