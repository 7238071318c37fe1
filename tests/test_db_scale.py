"""The consensus cache stays equal to the labels, and no query binds one parameter per id.

PostgreSQL refuses statements with more than 65,535 parameters; the test
with 75,000 candidates runs every path that takes a set of ids there.
"""

from __future__ import annotations

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, migrated_engine, postgres_database
from sqlalchemy import func, select, text

from db.consensus import (
    EffectiveLabels,
    consensus,
    effective_labels,
    effective_labels_query,
    tally,
    update_consensus_cache,
)
from db.engine import make_engine, session_factory
from db.ids import in_ids, int_columns
from db.migrate import upgrade
from db.models import Candidate, Galaxy, Vote
from db.snapshot import label_snapshot
from starcnet_core.errors import UserInputError
from webapp.services.agreement import expert_agreement
from webapp.services.held_out import usable_labels
from webapp.services.labels import record_label, undo_label
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


def test_cache_follows_random_labels_changes_and_undos(tmp_path):
    sessions = session_factory(migrated_engine(tmp_path))
    rng = np.random.default_rng(3)
    with sessions() as session:
        galaxy = add_galaxy(session, n=12)
        experts = [e.id for e in add_experts(session, "a", "b", "c", "d")]
        ids = list(session.scalars(select(Candidate.id).where(Candidate.galaxy_id == galaxy.id)))
        session.commit()
        for _ in range(150):
            candidate, expert = int(rng.choice(ids)), int(rng.choice(experts))
            if rng.random() < 0.25:
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
        truth = _from_labels(session)
        cached = consensus(session)
        assert {
            int(c): (int(cached.n_unsure[i]), *map(int, cached.counts[i]))
            for i, c in enumerate(cached.candidate_id)
        } == truth
        # the candidates' mode equals the numpy mode of the same counts
        modes = dict(session.execute(select(Candidate.id, Candidate.consensus_class)).all())
        for i, c in enumerate(cached.candidate_id):
            assert (modes[int(c)] or 0) == cached.mode[i]
        # filtered consensus aggregates the vote table: the same as all experts here
        by_role = consensus(session, roles=["expert"])
        assert np.array_equal(by_role.counts, cached.counts) and np.array_equal(by_role.mode, cached.mode)
        assert len(truth) > 5 and any(v[0] for v in truth.values())  # some unsure answers survive


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
