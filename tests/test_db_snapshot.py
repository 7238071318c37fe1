"""The label snapshot: decided consensus only, held-out handling; one order-independent fingerprint."""

from __future__ import annotations

import numpy as np
from astropy.table import Table
from db_testing import add_experts, add_galaxy, migrated_engine
from sqlalchemy import select

from db.engine import session_factory
from db.models import Candidate, HeldOutCandidate
from db.snapshot import LabelSnapshot, label_snapshot
from starcnet_core.io.stampset import StampSet, label_fingerprint
from webapp.services.labels import record_label, undo_label


def test_fingerprint_ignores_order_and_unlabelled_rows_but_not_content():
    a = label_fingerprint(["g", "g", "h"], [3, 1, 2], [4, 1, 2])
    assert a == label_fingerprint(["g", "h", "g", "g"], [1, 2, 3, 7], [1, 2, 4, 0])
    assert a != label_fingerprint(["g", "h", "g"], [1, 2, 3], [1, 2, 3])
    assert a != label_fingerprint(["g", "g", "g"], [1, 2, 3], [1, 2, 4])  # another galaxy


def _fingerprint(snap: LabelSnapshot) -> str:
    return label_fingerprint(snap.galaxy_names, snap.source_ids, snap.classes)


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
        before = _fingerprint(label_snapshot(session, held_out=None))
        record_label(session, candidate_id=ids[1], expert_id=ana.id, label_class=3)
        assert _fingerprint(label_snapshot(session, held_out=None)) != before
        undo_label(session, candidate_id=ids[1], expert_id=ana.id)
        assert _fingerprint(label_snapshot(session, held_out=None)) == before


def test_same_labels_same_fingerprint_in_the_database_and_a_stamp_set(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        add_galaxy(session, "ngc0001", n=3)
        (ana,) = add_experts(session, "ana")
        ids = session.scalars(select(Candidate.id).order_by(Candidate.id)).all()
        session.commit()
        for cid, cls in zip(ids, [4, 1, 2], strict=True):
            record_label(session, candidate_id=cid, expert_id=ana.id, label_class=cls)
        snap = label_snapshot(session, held_out=None)
    assert snap.galaxy_names.tolist() == ["ngc0001"] * 3 and snap.source_ids.tolist() == [1, 2, 3]
    # the same labels exported in another row order, with an unlabelled source
    table = Table(
        {"galaxy": ["ngc0001"] * 4, "id": [3, 9, 1, 2], "distance_mpc": np.zeros(4), "label": [2, 0, 4, 1]}
    )
    stamps = StampSet(np.zeros((4, 5, 32, 32), dtype=np.float32), table)
    assert stamps.label_fingerprint == _fingerprint(snap)
