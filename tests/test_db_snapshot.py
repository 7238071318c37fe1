"""The label snapshot: decided consensus only, held-out handling, order-independent fingerprint."""

from __future__ import annotations

import numpy as np
from db_testing import add_experts, add_galaxy, migrated_engine
from sqlalchemy import select

from db.engine import session_factory
from db.models import Candidate, HeldOutCandidate
from db.snapshot import label_fingerprint, label_snapshot
from webapp.services.labels import record_label, undo_label


def test_fingerprint_ignores_order_but_not_content():
    a = label_fingerprint(np.array([3, 1, 2]), np.array([4, 1, 2]))
    assert a == label_fingerprint(np.array([1, 2, 3]), np.array([1, 2, 4]))
    assert a != label_fingerprint(np.array([1, 2, 3]), np.array([1, 2, 3]))


def test_snapshot(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        add_galaxy(session, n=4)
        ana, ben = add_experts(session, "ana", "ben")
        ids = session.scalars(select(Candidate.id).order_by(Candidate.id)).all()
        session.commit()
        plan = [(ids[0], ana, 1), (ids[0], ben, 1), (ids[1], ana, 2), (ids[2], ana, 3), (ids[2], ben, 4)]
        for cid, expert, cls in plan:
            record_label(session, candidate_id=cid, expert_id=expert.id, label_class=cls)
        snap = label_snapshot(session)
        assert snap.candidate_ids.tolist() == [ids[0], ids[1]] and snap.classes.tolist() == [1, 2]
        assert label_snapshot(session, min_votes=2).candidate_ids.tolist() == [ids[0]]
        session.add(HeldOutCandidate(candidate_id=ids[1]))
        session.commit()
        assert label_snapshot(session).candidate_ids.tolist() == [ids[0]]
        assert label_snapshot(session, held_out=True).candidate_ids.tolist() == [ids[1]]
        before = label_snapshot(session, held_out=None).fingerprint
        record_label(session, candidate_id=ids[1], expert_id=ana.id, label_class=3)
        assert label_snapshot(session, held_out=None).fingerprint != before
        undo_label(session, candidate_id=ids[1], expert_id=ana.id)
        assert label_snapshot(session, held_out=None).fingerprint == before
