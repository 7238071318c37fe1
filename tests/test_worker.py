"""The worker process: runs handlers, records outcomes, honours cancel, survives SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from db import jobs
from db.engine import make_engine, session_factory, use_case
from db.models import Base, Job
from webapp.worker import Worker

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    Base.metadata.create_all(make_engine(url))
    return url


def _sessions(url: str):
    return session_factory(make_engine(url))


def _wait_for(sessions, job_id: int, condition, timeout_s: float = 20.0) -> jobs.JobInfo:
    """Poll the job row (a fresh session each time, as a page rerun does) until ``condition``."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            state = jobs.get_job(session, job_id)
        if condition(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def _counting(sessions, context) -> dict:
    for step in range(3):
        context.progress((step + 1) / 3, f"step {step + 1}")
        context.log(f"did step {step + 1}")
    return {"total": sum(context.params["values"])}


def _broken(sessions, context) -> dict:
    raise RuntimeError("the stamps are all NaN")


def _until_cancelled(sessions, context) -> dict:
    context.progress(0.1, "waiting", force=True)
    deadline = time.monotonic() + 20
    while not context.should_stop():
        if time.monotonic() > deadline:
            return {"never": "cancelled"}
        time.sleep(0.05)
    raise InterruptedError("stopped on request")


def test_worker_runs_jobs_and_records_results_and_failures(db_url) -> None:
    sessions = _sessions(db_url)
    with sessions() as session, use_case(session):
        good = jobs.enqueue(session, "count", {"values": [1, 2, 3]})
        bad = jobs.enqueue(session, "broken")
        other = jobs.enqueue(session, "not-mine")
    worker = Worker(make_engine(db_url), {"count": _counting, "broken": _broken}, worker_id="w")
    assert worker.run(idle_exit=True) == 2
    with sessions() as session:
        done = jobs.get_job(session, good.id)
        assert done.status == "succeeded" and done.result == {"total": 6} and done.progress == 1.0
        assert "did step 3" in done.log_tail
        failed = jobs.get_job(session, bad.id)
        assert failed.status == "failed" and failed.error == "RuntimeError: the stamps are all NaN"
        assert "Traceback" in failed.log_tail
        assert jobs.get_job(session, other.id).status == "queued"


def test_cancel_reaches_a_running_handler(db_url) -> None:
    sessions = _sessions(db_url)
    with sessions() as session, use_case(session):
        job = jobs.enqueue(session, "wait")
    worker = Worker(make_engine(db_url), {"wait": _until_cancelled}, worker_id="w", heartbeat_s=0.1)
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    _wait_for(sessions, job.id, lambda state: state.status == "running")
    with sessions() as session, use_case(session):
        jobs.request_cancel(session, job.id)
    runner.join(timeout=20)
    with sessions() as session:
        assert jobs.get_job(session, job.id).status == "cancelled"


_KILLABLE = textwrap.dedent(
    """
    import sys, time
    from db.engine import make_engine
    from webapp.worker import Worker

    def slow(sessions, context):
        for step in range(1000):
            context.progress(step / 1000, f"step {step}", force=True)
            time.sleep(0.05)
        return {}

    Worker(make_engine(sys.argv[1]), {"slow": slow}, worker_id="doomed", heartbeat_s=0.2).run(max_jobs=1)
    """
)


@pytest.mark.slow
def test_sigkilled_worker_job_is_recovered_as_failed(db_url) -> None:
    sessions = _sessions(db_url)
    with sessions() as session, use_case(session):
        job = jobs.enqueue(session, "slow")
    process = subprocess.Popen([sys.executable, "-c", _KILLABLE, db_url], cwd=REPO)
    try:
        assert _wait_for(sessions, job.id, lambda state: state.progress > 0).status == "running"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    time.sleep(0.3)
    survivor = Worker(make_engine(db_url), {}, worker_id="survivor", stale_after_s=0.2)
    assert survivor.run_once() is None
    with sessions() as session:
        state = jobs.get_job(session, job.id)
        assert state.status == "failed" and "doomed" in state.error


def test_a_database_hiccup_delays_reports_without_losing_them(db_url, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from webapp.worker import JobContext

    sessions = _sessions(db_url)
    with sessions() as session, use_case(session):
        jobs.enqueue(session, "count")
        job = jobs.claim_next(session, "w")
    context = JobContext(sessions, job, "w")
    real_report = jobs.report

    def busy(*args, **kwargs):
        raise OperationalError("UPDATE job", {}, Exception("database is locked"))

    monkeypatch.setattr(jobs, "report", busy)
    context.log("first line")
    context.progress(0.5, "half way", force=True)  # must not raise
    monkeypatch.setattr(jobs, "report", real_report)
    context.log("second line")
    context.flush()
    with sessions() as session:
        state = jobs.get_job(session, job.id)
    assert state.log_tail.splitlines() == ["first line", "second line"]
    assert state.progress == 0.5 and state.message == "half way"


def test_recovery_removes_what_the_dead_job_left_and_the_job_can_be_rerun(
    tmp_path, monkeypatch, capsys
) -> None:
    from db_testing import migrated_engine

    from webapp.cli import main
    from webapp.services.jobs import rerun_job

    db_url = migrated_engine(tmp_path).url.render_as_string(hide_password=False)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    sessions = _sessions(db_url)
    with sessions() as session:
        job = jobs.enqueue(session, "score", {"model_version_id": 3, "galaxy_id": None})
        jobs.claim_next(session, "doomed")
        # its last allowed claim: a lost scoring job is otherwise queued again, not failed
        session.execute(update(Job).where(Job.id == job.id).values(attempts=jobs.MAX_ATTEMPTS))
        session.commit()
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    # what a worker killed during save_checkpoint, or before registering, leaves
    staging = models / f".quick-job{job.id}-20261201-120000.pt.k3j_x9"
    unregistered = models / f"quick-job{job.id}-20261201-120000.pt"
    other_job = models / f"quick-job{job.id}0-20261201-120000.pt"
    for path in (staging, unregistered, other_job, models / "starting.pt"):
        path.write_bytes(b"weights")
    time.sleep(0.3)
    assert Worker(make_engine(db_url), {}, stale_after_s=0.2).run_once() is None
    assert sorted(p.name for p in models.iterdir()) == sorted([other_job.name, "starting.pt"])
    with sessions() as session:
        assert jobs.get_job(session, job.id).status == "failed"
        again = rerun_job(session, job.id)
        assert (again.kind, again.params, again.status) == ("score", job.params, "queued")
    assert main(["jobs", "rerun", str(again.id), "--database-url", db_url]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: job #{again.id} is queued: only failed or cancelled jobs are re-run"
    )
    assert main(["jobs", "rerun", str(job.id), "--database-url", db_url]) == 0
    assert (
        f"job #{job.id} queued again as #{again.id + 1} (score, same parameters)" in capsys.readouterr().out
    )
