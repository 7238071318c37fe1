"""The job queue: atomic claims, one training at a time, heartbeats, cancel, stale recovery.

The functions of :mod:`db.jobs` never commit; :func:`committed` gives each call
the transaction of its own a worker or service gives it.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from db_testing import migrated_engine, postgres_database
from sqlalchemy import update

from db import jobs
from db.engine import make_engine, session_factory, use_case
from db.migrate import upgrade
from db.models import Job


def committed(call, session, *args, **kwargs):
    """``call(session, ...)`` in a transaction of its own, as a use case runs it."""
    with use_case(session):
        return call(session, *args, **kwargs)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sessions(request, tmp_path):
    """Sessions on a migrated SQLite file, and on a fresh PostgreSQL database when one is configured."""
    if request.param == "sqlite":
        yield session_factory(migrated_engine(tmp_path))
        return
    with postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        yield session_factory(engine)
        engine.dispose()


def test_claims_oldest_first_and_each_job_once(sessions) -> None:
    with sessions() as session:
        first = committed(jobs.enqueue, session, "score", {"n": 1})
        second = committed(jobs.enqueue, session, "score", {"n": 2})
        assert committed(jobs.claim_next, session, "w1").id == first.id
        claimed = committed(jobs.claim_next, session, "w2")
        assert claimed.id == second.id and claimed.status == "running" and claimed.attempts == 1
        assert committed(jobs.claim_next, session, "w3") is None


def test_concurrent_claimers_never_share_a_job(sessions) -> None:
    with sessions() as session:
        for i in range(12):
            committed(jobs.enqueue, session, "score", {"n": i})
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        with sessions() as session:
            while (job := committed(jobs.claim_next, session, name)) is not None:
                with lock:
                    claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(1, 13))


def test_only_one_training_job_runs_at_a_time(sessions) -> None:
    with sessions() as session:
        first = committed(jobs.enqueue, session, "retrain")
        second = committed(jobs.enqueue, session, "retrain")
        score = committed(jobs.enqueue, session, "score")
        assert committed(jobs.claim_next, session, "w1").id == first.id
        # the second training waits; other kinds go ahead of it
        assert committed(jobs.claim_next, session, "w2").id == score.id
        assert committed(jobs.claim_next, session, "w3") is None
        committed(jobs.finish, session, first.id, "w1", "succeeded")
        assert committed(jobs.claim_next, session, "w3").id == second.id


def test_progress_log_tail_and_ownership(sessions) -> None:
    with sessions() as session:
        job = committed(jobs.enqueue, session, "score")
        committed(jobs.claim_next, session, "w1")
        lines = [f"line {i}" for i in range(jobs.LOG_TAIL_LINES + 5)]
        assert (
            committed(jobs.report, session, job.id, "w1", progress=1.7, message="half", log_lines=lines)
            is False
        )
        state = committed(jobs.get_job, session, job.id)
        assert state.progress == 1.0 and state.message == "half"
        assert state.log_tail.splitlines() == lines[-jobs.LOG_TAIL_LINES :]
        with pytest.raises(jobs.JobLost):
            committed(jobs.heartbeat, session, job.id, "intruder")
        with pytest.raises(jobs.JobLost):
            committed(jobs.finish, session, job.id, "intruder", "failed")
        committed(jobs.finish, session, job.id, "w1", "succeeded", result={"n": 3})
        assert committed(jobs.get_job, session, job.id).result == {"n": 3}
        with pytest.raises(ValueError):
            committed(jobs.finish, session, job.id, "w1", "running")


def test_cancel_queued_and_running(sessions) -> None:
    with sessions() as session:
        queued = committed(jobs.enqueue, session, "score")
        running = committed(jobs.enqueue, session, "score")
        committed(jobs.request_cancel, session, queued.id)
        assert committed(jobs.get_job, session, queued.id).status == "cancelled"
        assert committed(jobs.claim_next, session, "w1").id == running.id
        assert committed(jobs.heartbeat, session, running.id, "w1") is False
        committed(jobs.request_cancel, session, running.id)
        assert committed(jobs.heartbeat, session, running.id, "w1") is True
        assert committed(jobs.get_job, session, running.id).status == "running"


def test_recover_stale_marks_failed_and_locks_out_the_old_worker(sessions) -> None:
    with sessions() as session:
        job = committed(jobs.enqueue, session, "retrain")
        fresh = committed(jobs.enqueue, session, "score")
        committed(jobs.claim_next, session, "dead")
        committed(jobs.claim_next, session, "alive")
        old = committed(jobs.get_job, session, job.id).heartbeat_at - dt.timedelta(minutes=5)
        with use_case(session):
            session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=old))
        assert committed(jobs.recover_stale, session, stale_after_s=60) == [job.id]
        state = committed(jobs.get_job, session, job.id)
        assert state.status == "failed" and "stopped responding" in state.error
        assert committed(jobs.get_job, session, fresh.id).status == "running"
        with pytest.raises(jobs.JobLost):
            committed(jobs.report, session, job.id, "dead", progress=0.5)
        assert [j.id for j in jobs.active_jobs(session)] == [fresh.id]
        assert [j.id for j in committed(jobs.list_jobs, session, kind="retrain")] == [job.id]


def test_simultaneous_unique_requests_queue_one_job(sessions) -> None:
    created: list[bool] = []
    barrier = threading.Barrier(4)

    def request() -> None:
        with sessions() as session:
            barrier.wait()
            created.append(committed(jobs.enqueue_unless_active, session, "retrain", {"mode": "quick"})[1])

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, False, True]
    with sessions() as session:
        assert len(jobs.active_jobs(session)) == 1
        job, new = committed(jobs.enqueue_unless_active, session, "score")
        assert new and job.kind == "score"
