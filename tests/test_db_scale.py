"""The consensus cache stays equal to the labels, and no query binds one parameter per id.

PostgreSQL refuses statements with more than 65,535 parameters; the test
with 75,000 candidates runs every path that takes a set of ids there.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, migrated_engine, postgres_database
from sqlalchemy import func, select, text

from db.agreement import expert_votes
from db.consensus import (
    EffectiveLabels,
    consensus,
    effective_labels,
    effective_labels_query,
    refresh_consensus_cache,
    tally,
    update_consensus_cache,
)
from db.engine import make_engine, session_factory
from db.ids import in_ids, int_columns
from db.migrate import upgrade
from db.models import Candidate, Expert, Galaxy, Vote
from db.snapshot import label_snapshot
from starcnet_core.errors import UserInputError
from starcnet_core.evaluation import agreement
from webapp.services.agreement import expert_agreement
from webapp.services.held_out import usable_labels
from webapp.services.integrity import check_consensus
from webapp.services.labels import import_labels, record_label, undo_label
from webapp.services.review import session_progress


def _from_labels(session) -> dict[int, tuple]:
    """candidate id -> (unsure, votes 1-4) recomputed from the label history."""
    rows = np.array(session.connection().execute(effective_labels_query()).all(), dtype=np.int64).reshape(
        -1, 3
    )
    result = tally(EffectiveLabels(rows[:, 0], rows[:, 1], rows[:, 2]))
    return {
        int(c): (int(result.n_unsure[i]), *map(int, result.counts[i]))
        for i, c in enumerate(result.candidate_id)
    }


@contextmanager
def _engine(backend: str, tmp_path):
    """A migrated engine on SQLite (a file) or on a fresh PostgreSQL database."""
    if backend == "sqlite":
        engine = migrated_engine(tmp_path)
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def _check_cache(session) -> dict[int, tuple]:
    """Assert the vote and candidate caches equal the labels (and ``webapp check``); return the counts."""
    truth = _from_labels(session)
    cached = consensus(session)
    assert {
        int(c): (int(cached.n_unsure[i]), *map(int, cached.counts[i]))
        for i, c in enumerate(cached.candidate_id)
    } == truth
    # the candidates' stored mode and vote count equal the numpy ones of the same counts
    stored = {
        c: (n, m)
        for c, n, m in session.execute(select(Candidate.id, Candidate.n_votes, Candidate.consensus_class))
    }
    for i, c in enumerate(cached.candidate_id):
        assert stored[int(c)] == (int(cached.n_votes[i]), int(cached.mode[i]) or None)
    # candidates without counted answers carry no cached votes
    assert all(n == 0 and m is None for c, (n, m) in stored.items() if c not in truth)
    # the vote table is exactly the counted answers
    rows = sorted(session.connection().execute(effective_labels_query()).all())
    assert sorted(session.execute(select(Vote.candidate_id, Vote.expert_id, Vote.label_class)).all()) == rows
    assert check_consensus(session).mismatches == []
    return truth


def _agreements_match(session, **filters) -> None:
    """The database-counted agreement equals the numpy one of the same votes."""
    votes = expert_votes(session, **filters)
    numpy_side = agreement.expert_agreement(votes.votes, votes.consensus, votes.expert_names)
    db_side = expert_agreement(session, **filters)
    assert db_side["experts"] == {
        int(i): n for i, n in zip(votes.expert_ids, votes.expert_names, strict=True)
    }
    db_side.pop("experts")
    assert db_side == numpy_side


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_cache_follows_random_labels_changes_undos_and_imports(backend, tmp_path):
    rng = np.random.default_rng(3)
    with _engine(backend, tmp_path) as engine, session_factory(engine)() as session:
        galaxy = add_galaxy(session, n=40)
        other = add_galaxy(session, name="g2", n=10)
        quiet = add_galaxy(session, name="g3", n=3)  # never labelled
        experts = [e.id for e in add_experts(session, "a", "b", "c", "d")]
        session.add(Expert(name="cat", role="catalog"))
        ids = list(session.scalars(select(Candidate.id).where(Candidate.galaxy_id == galaxy.id)))
        session.commit()
        for step in range(240):
            candidate, expert = int(rng.choice(ids)), int(rng.choice(experts))
            if step in (80, 160):
                # an import of more candidates than the one-by-one path takes: the set-based path
                rows = ["galaxy,id,class"] + [
                    f"{g},{i},{rng.choice(['1', '2', '3', '4', 'unsure'])}"
                    for g, n in (("g1", 40), ("g2", 10))
                    for i in rng.choice(np.arange(1, n + 1), size=n // 2, replace=False)
                ]
                path = tmp_path / f"import{step}.csv"
                path.write_text("\n".join(rows) + "\n")
                import_labels(session, path, expert="cat" if step == 80 else "b")
            elif rng.random() < 0.25:
                try:
                    undo_label(session, candidate_id=candidate, expert_id=expert)
                except UserInputError:  # nothing to undo yet
                    pass
            else:
                record_label(
                    session,
                    candidate_id=candidate,
                    expert_id=expert,
                    label_class=str(rng.choice(["1", "2", "3", "4", "unsure"])),
                )
            if step % 60 == 59:
                _check_cache(session)
        truth = _check_cache(session)
        assert len(truth) > 20 and any(v[0] for v in truth.values())  # some unsure answers survive
        cached = consensus(session)
        # filtered consensus aggregates the vote table: with every role the same as all experts
        every = consensus(session, roles=["expert", "catalog"])
        assert np.array_equal(every.counts, cached.counts) and np.array_equal(every.mode, cached.mode)
        # agreement counted by the database equals numpy's over the same votes, with and without filters
        _agreements_match(session)
        _agreements_match(session, roles=["expert"])
        _agreements_match(session, galaxy_id=other.id)
        _agreements_match(session, galaxy_id=galaxy.id, roles=["expert"])
        # a full rebuild changes nothing
        refresh_consensus_cache(session)
        session.commit()
        assert _check_cache(session) == truth
        # and repairs a damaged cache: a vote lost, one with a wrong class, one too many, counts and modes off
        first, second, third = sorted(truth)[:3]
        session.execute(text("DELETE FROM vote WHERE candidate_id = :c"), {"c": first})
        session.execute(
            text("UPDATE vote SET label_class = (label_class + 1) % 5 WHERE candidate_id = :c"), {"c": second}
        )
        unlabelled = session.scalar(select(func.min(Candidate.id)).where(Candidate.galaxy_id == quiet.id))
        session.execute(
            text("INSERT INTO vote (candidate_id, expert_id, label_id, label_class) VALUES (:c, :e, 1, 2)"),
            {"c": unlabelled, "e": experts[0]},
        )
        session.execute(
            text("UPDATE candidate SET votes_1 = votes_1 + 3, n_votes = n_votes + 3 WHERE id = :c"),
            {"c": third},
        )
        session.execute(
            text("UPDATE candidate SET consensus_class = 4, n_votes = 7 WHERE id = :c"), {"c": unlabelled}
        )
        session.commit()
        assert check_consensus(session).mismatches
        refresh_consensus_cache(session, galaxy.id)
        refresh_consensus_cache(session, quiet.id)
        session.commit()
        assert _check_cache(session) == truth


def test_pairwise_agreement_counts_common_candidates(tmp_path):
    sessions = session_factory(migrated_engine(tmp_path))
    with sessions() as session:
        galaxy = add_galaxy(session, n=4)
        a, b, c = (e.id for e in add_experts(session, "a", "b", "c"))
        ids = list(session.scalars(select(Candidate.id).where(Candidate.galaxy_id == galaxy.id)))
        for cid, (x, y, z) in zip(ids, [(1, 1, 1), (2, 3, 2), (4, 4, "unsure"), (3, None, 3)], strict=True):
            for expert, cls in ((a, x), (b, y), (c, z)):
                if cls is not None:
                    record_label(session, candidate_id=cid, expert_id=expert, label_class=cls)
        result = expert_agreement(session)
        pairs = {(p["expert_a"], p["expert_b"]): p for p in result["pairwise"]}
        assert pairs[("a", "b")]["n"] == 3 and pairs[("a", "b")]["agreement"] == pytest.approx(2 / 3)
        assert pairs[("a", "c")]["n"] == 3 and pairs[("a", "c")]["agreement"] == 1.0
        assert pairs[("a", "b")]["confusion"][1] == [0, 0, 1, 0]  # a said 2 where b said 3
        vs = {v["expert"]: v for v in result["vs_consensus"]}
        assert vs["b"]["n"] == 3 and vs["b"]["agreement"] == pytest.approx(2 / 3)


def _bulk_world(session, n: int) -> tuple[np.ndarray, int]:
    """A galaxy of ``n`` candidates (every other one usable), each with a class 1-4 label of one expert.

    Rows are made by PostgreSQL's ``generate_series``: inserting them from
    Python would take most of the test's time.
    """
    galaxy = Galaxy(name="big", distance_mpc=1.0)
    session.add(galaxy)
    session.flush()
    (expert,) = add_experts(session, "ana")
    session.execute(
        text(
            "INSERT INTO candidate (galaxy_id, source_id, x, y, properties, usable, unusable_reason,"
            " shuffle_key, n_votes) SELECT :galaxy, i, 1, 1, '{}', i % 2 = 0, '', 0, 0"
            " FROM generate_series(0, :n - 1) AS i"
        ),
        {"galaxy": galaxy.id, "n": n},
    )
    session.execute(
        text(
            "INSERT INTO label (candidate_id, expert_id, label_class, comment, display_settings, created_at)"
            " SELECT id, :expert, CAST(1 + id % 4 AS TEXT), '', '{}', now() FROM candidate"
        ),
        {"expert": expert.id},
    )
    ids = np.sort(np.array(session.scalars(select(Candidate.id)).all(), dtype=np.int64))
    return ids, expert.id


@pytest.mark.postgres
@pytest.mark.slow
def test_more_than_70000_ids_on_postgres():
    n = 75_000
    with postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        with session_factory(engine)() as session:
            ids, expert = _bulk_world(session, n)
            update_consensus_cache(session, ids)
            session.commit()
            assert session.scalar(select(func.count()).select_from(Vote)) == n
            assert session.scalar(select(func.count()).where(in_ids(Candidate.id, ids))) == n
            labels = effective_labels(session, candidate_ids=ids)
            assert len(labels.candidate_id) == n and np.array_equal(np.sort(labels.candidate_id), ids)
            assert int_columns(session, select(Candidate.id).where(in_ids(Candidate.id, ids)), 1).shape == (
                n,
                1,
            )
            snapshot = label_snapshot(session)
            assert len(snapshot) == n and set(np.unique(snapshot.classes)) == {1, 2, 3, 4}
            assert len(usable_labels(snapshot, session)) == n // 2 + n % 2
            progress = session_progress(session, expert)
            assert progress["labelled_total"] == n and progress["remaining"] == 0
            assert consensus(session, expert_ids=[expert]).n_votes.sum() == n
        engine.dispose()


def _dropped_while_in_use() -> tuple[str, bool]:
    """Make a scratch database, keep a session of this role open in it, drop it: (its name, still there)."""
    with postgres_database() as url:
        engine = make_engine(url)
        holder = engine.connect()
        holder.execute(text("SELECT 1"))
    holder.invalidate()  # the drop ended its session: close it without a rollback
    engine.dispose()
    name = url.rsplit("/", 1)[1]
    with make_engine(os.environ["STARCNET_TEST_POSTGRES_URL"]).connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    return name, found is not None


def test_scratch_postgres_databases_are_dropped_while_in_use() -> None:
    name, still_there = _dropped_while_in_use()
    assert name.startswith("starcnet_test_") and not still_there


def test_a_refused_forced_drop_ends_own_sessions_and_drops(monkeypatch) -> None:
    # as when an autovacuum worker is in the database: WITH (FORCE) refuses, the plain drop must do it
    from psycopg.errors import InsufficientPrivilege
    from sqlalchemy.exc import ProgrammingError

    import db.engine

    real_text, real_drop, fallbacks = db.engine.text, db.engine._drop_after_ending_own_sessions, []

    def refusing_force(statement: str):
        if "WITH (FORCE)" in statement:
            raise ProgrammingError(statement, {}, InsufficientPrivilege("must be a member of the role"))
        return real_text(statement)

    def counted(connection, name: str) -> None:
        fallbacks.append(name)
        real_drop(connection, name)

    monkeypatch.setattr(db.engine, "text", refusing_force)
    monkeypatch.setattr(db.engine, "_drop_after_ending_own_sessions", counted)
    name, still_there = _dropped_while_in_use()
    assert fallbacks == [name] and not still_there
