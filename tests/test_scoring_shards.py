"""Scoring split into shards for several workers: no overlap, resumed after a lost worker, queue switch."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from db_testing import migrated_engine
from retrain_testing import make_galaxy, starting_model, synthetic_stamps
from sqlalchemy import func, select, update

from db import jobs
from db.engine import session_factory, use_case
from db.models import Candidate, Galaxy, Job, Prediction
from db.queue import queue_model_version, review_queue
from webapp.services.labels import add_expert
from webapp.services.model_versions import import_model, promote_version
from webapp.services.scoring import plan_shards, request_scoring
from webapp.worker import Worker, default_handlers


@pytest.fixture
def survey(tmp_path, monkeypatch):
    """Two galaxies (30 and 12 usable candidates) and an active tiny model, nothing scored yet."""
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    engine = migrated_engine(tmp_path)
    sessions = session_factory(engine)
    with sessions() as session:
        make_galaxy(session, n=30)
        second = Galaxy(name="second", distance_mpc=5.0)
        session.add(second)
        session.flush()
        session.add_all(
            Candidate(galaxy_id=second.id, source_id=i + 1, x=50.0, y=50.0, usable=True) for i in range(12)
        )
        session.add(Candidate(galaxy_id=second.id, source_id=99, x=1.0, y=1.0, usable=False))
        session.commit()
        version = starting_model(session, tmp_path)
        # the import queued a whole-survey scoring job: withdraw it, the tests queue their own
        with use_case(session):
            for job in jobs.active_jobs(session):
                jobs.request_cancel(session, job.id)
    return engine, sessions, version, tmp_path


def _worker(engine, name: str, **options) -> Worker:
    return Worker(
        engine, default_handlers(stamps=synthetic_stamps), worker_id=name, heartbeat_s=0.1, **options
    )


def _predictions(session, version: int) -> list[int]:
    return list(
        session.scalars(select(Prediction.candidate_id).where(Prediction.model_version_id == version))
    )


def test_shards_split_by_galaxy_and_chunk_and_never_overlap(survey) -> None:
    engine, sessions, version, _ = survey
    with sessions() as session:
        shards = plan_shards(session, version, shard_size=7)
        assert [(s.galaxy_id, s.n_candidates) for s in shards] == [
            (1, 7),
            (1, 7),
            (1, 7),
            (1, 7),
            (1, 2),
            (2, 7),
            (2, 5),
        ]
        assert all(a.last_id < b.first_id for a, b in zip(shards, shards[1:], strict=False))
        request_scoring(session, version, shard_size=7)
    assert _worker(engine, "planner").run(max_jobs=1) == 1  # plans, queues six shards, scores the first
    with sessions() as session:
        assert len(_predictions(session, version)) == 7
        assert len(jobs.active_jobs(session, frozenset({"score_shard"}))) == 6
        # planning again while those shards are queued finds nothing left to give out
        assert plan_shards(session, version, shard_size=7) == []
    workers = [_worker(engine, f"w{k}") for k in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"idle_exit": True}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with sessions() as session:
        scored = _predictions(session, version)
        assert len(scored) == len(set(scored)) == 42  # every usable candidate once; the unusable one never
        done = session.scalars(select(Job).where(Job.kind == "score_shard")).all()
        assert len(done) == 6 and {job.status for job in done} == {"succeeded"}
        assert sum(job.result["n_scored"] for job in done) == 35
        assert {job.worker_id for job in done} <= {"w0", "w1"}


def test_a_shard_of_a_lost_worker_is_claimed_again_and_resumed(survey) -> None:
    engine, sessions, version, _ = survey
    with sessions() as session:
        request_scoring(session, version, shard_size=20)
    _worker(engine, "planner").run(max_jobs=1)
    with sessions() as session:
        lost = jobs.claim_next(session, "doomed", frozenset({"score_shard"}))
        assert lost is not None and lost.params["n_candidates"] == 10
        # the doomed worker stored part of its shard, then stopped sending heartbeats
        first = lost.params["first_id"]
        session.add(
            Prediction(
                candidate_id=first,
                model_version_id=version,
                predicted_class=1,
                p1=1.0,
                p2=0.0,
                p3=0.0,
                p4=0.0,
                confidence=1.0,
                margin=1.0,
                entropy=0.0,
            )
        )
        session.execute(update(Job).where(Job.id == lost.id).values(heartbeat_at=dt.datetime(2000, 1, 1)))
        session.commit()
    assert _worker(engine, "survivor", stale_after_s=30).run(idle_exit=True) >= 2
    with sessions() as session:
        again = jobs.get_job(session, lost.id)
        assert again.status == "succeeded" and again.worker_id == "survivor" and again.attempts == 2
        assert again.result["n_scored"] == 9  # the stored candidate was not scored twice
        scored = _predictions(session, version)
        assert len(scored) == len(set(scored)) == 42


def test_a_shard_that_keeps_losing_its_worker_fails(survey) -> None:
    _, sessions, version, _ = survey
    with sessions() as session:
        job = jobs.enqueue(session, "score_shard", {"model_version_id": version})
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="running", attempts=jobs.MAX_ATTEMPTS, heartbeat_at=dt.datetime(2000, 1, 1))
        )
        session.commit()
        assert jobs.recover_stale(session, 30) == [job.id]
        assert jobs.get_job(session, job.id).status == "failed"


def test_the_queue_switches_once_the_new_version_is_scored(survey) -> None:
    engine, sessions, first, tmp_path = survey
    with sessions() as session:
        request_scoring(session, first)
    _worker(engine, "w").run(idle_exit=True)
    with sessions() as session:
        second = import_model(session, tmp_path / "start.pt", "second").id
        add_expert(session, "lead", role="admin")
        # the tiny test has no held-out set to measure against: the admin forces the promotion
        promote_version(session, second, by="lead", force=True)
        assert queue_model_version(session) == first  # the promotion's scoring is pending
        page = review_queue(session, limit=5)
        assert page.model_version_id == first and len(page.items) == 5
    _worker(engine, "w").run(idle_exit=True)
    with sessions() as session:
        assert queue_model_version(session) == second
        assert review_queue(session, limit=5).model_version_id == second
        assert (
            session.scalar(
                select(func.count()).select_from(Prediction).where(Prediction.model_version_id == second)
            )
            == 42
        )
