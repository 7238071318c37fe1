"""Reliability: 8 processes x 500 labels at once lose none, and the consensus is what they imply.

Browser-style writers (one label per transaction) and bulk importers (one
file per expert, through the ``import-labels`` command) both run; after each
run ``check_consensus`` (``python -m webapp check``) must find the stored
consensus of every candidate equal to what its labels give.

Runs on a SQLite file, and on PostgreSQL when ``STARCNET_TEST_POSTGRES_URL``
names a server where the user may create databases (a fresh database is
created for the run and dropped after).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from db_testing import add_experts, add_galaxy, postgres_database
from sqlalchemy import func, select

from db.consensus import consensus
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Candidate, Label
from webapp.cli import main
from webapp.services.integrity import check_consensus
from webapp.services.labels import record_label

N_PROCESSES = 8
N_LABELS = 500
N_CANDIDATES = 60


def _planned_class(worker: int, k: int) -> int:
    return (k * 7 + worker * 3 + k // N_CANDIDATES) % 4 + 1


def _label_worker(url: str, worker: int, expert_id: int, candidate_ids: list[int], barrier) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    barrier.wait()
    for k in range(N_LABELS):
        with sessions() as session:
            record_label(
                session,
                candidate_id=candidate_ids[k % N_CANDIDATES],
                expert_id=expert_id,
                label_class=_planned_class(worker, k),
            )
    engine.dispose()


def _expected(candidate_ids: list[int]) -> dict[int, tuple[str | None, int]]:
    """Consensus implied by the plan: each worker's last class per candidate."""
    latest: dict[int, dict[int, int]] = {c: {} for c in candidate_ids}
    for worker in range(N_PROCESSES):
        for k in range(N_LABELS):
            latest[candidate_ids[k % N_CANDIDATES]][worker] = _planned_class(worker, k)
    expected = {}
    for cid, votes in latest.items():
        counts = Counter(votes.values()).most_common()
        tied = len(counts) > 1 and counts[0][1] == counts[1][1]
        expected[cid] = ("undecided" if tied else str(counts[0][0]), len(votes))
    return expected


def _hammer(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        galaxy = add_galaxy(session, "busy", n=N_CANDIDATES)
        experts = add_experts(session, *[f"expert{i}" for i in range(N_PROCESSES)])
        session.commit()
        candidate_ids = session.scalars(
            select(Candidate.id).where(Candidate.galaxy_id == galaxy.id).order_by(Candidate.id)
        ).all()
        expert_ids = [e.id for e in experts]
    engine.dispose()  # no pooled connection crosses the fork
    # fork: the workers start with everything imported (spawn re-imports per process).
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(N_PROCESSES)
    workers = [
        context.Process(target=_label_worker, args=(url, i, expert_ids[i], candidate_ids, barrier))
        for i in range(N_PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0] * N_PROCESSES

    expected = _expected(candidate_ids)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Label)) == N_PROCESSES * N_LABELS
        result = consensus(session)
        got = {int(c): (result.label(i), int(result.n_votes[i])) for i, c in enumerate(result.candidate_id)}
        assert got == expected
        cached = dict(session.execute(select(Candidate.id, Candidate.consensus_class)).all())
        assert {c: None if e[0] == "undecided" else int(e[0]) for c, e in expected.items()} == cached
    assert_consensus_exact(engine)
    engine.dispose()


def assert_consensus_exact(engine) -> None:  # noqa: ANN001 - a SQLAlchemy Engine
    """``python -m webapp check``'s service finds no candidate whose stored consensus is wrong."""
    with session_factory(engine)() as session:
        result = check_consensus(session)
    assert [m.describe() for m in result.mismatches] == []
    assert result.n_candidates > 0


def _import_worker(url: str, path: str, expert: str, barrier) -> None:
    barrier.wait()
    raise SystemExit(main(["import-labels", path, "--expert", expert, "--database-url", url]))


def _import_at_once(url: str, tmp_path) -> None:
    """Eight experts import at once; five share one file byte for byte, three share another."""
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session:
        add_galaxy(session, "busy", n=N_LABELS)
        add_experts(session, *[f"expert{i}" for i in range(N_PROCESSES)])
        session.commit()
    engine.dispose()
    agreed = tmp_path / "agreed.csv"
    agreed.write_text(
        "galaxy,id,class\n" + "".join(f"busy,{i},{i % 4 + 1}\n" for i in range(1, N_LABELS + 1))
    )
    others = tmp_path / "others.csv"
    others.write_text(
        "galaxy,id,class\n" + "".join(f"busy,{i},{i % 3 + 1}\n" for i in range(1, N_LABELS + 1))
    )
    files = [agreed] * 5 + [others] * 3
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(N_PROCESSES)
    workers = [
        context.Process(target=_import_worker, args=(url, str(files[i]), f"expert{i}", barrier))
        for i in range(N_PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0] * N_PROCESSES

    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Label)) == N_PROCESSES * N_LABELS
        stored = dict(session.execute(select(Candidate.source_id, Candidate.n_votes)).all())
        assert set(stored.values()) == {N_PROCESSES}
        result = consensus(session).as_dict()
        by_source = dict(session.execute(select(Candidate.id, Candidate.source_id)).all())
        assert {by_source[c]: r["consensus"] for c, r in result.items()} == {
            i: str(i % 4 + 1) for i in range(1, N_LABELS + 1)
        }
    assert_consensus_exact(engine)
    engine.dispose()


@pytest.mark.slow
def test_concurrent_labels_sqlite(tmp_path):
    _hammer(f"sqlite:///{tmp_path / 'busy.sqlite'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_labels_postgres():
    with postgres_database() as url:
        _hammer(url)


@pytest.mark.slow
def test_concurrent_imports_sqlite(tmp_path):
    _import_at_once(f"sqlite:///{tmp_path / 'busy.sqlite'}", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_imports_postgres(tmp_path):
    with postgres_database() as url:
        _import_at_once(url, tmp_path)
