"""The agreement report: by galaxy and model name, user errors for unknown names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, add_model, migrated_engine
from sqlalchemy import select

from db.engine import session_factory
from db.models import Candidate
from starcnet_core.errors import UserInputError
from webapp.services.agreement import agreement_report
from webapp.services.labels import record_label


def test_report(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        g1 = add_galaxy(session, "g1", n=3)
        add_galaxy(session, "g2", n=2)
        ana, ben = add_experts(session, "ana", "ben")
        ids = session.scalars(
            select(Candidate.id).where(Candidate.galaxy_id == g1.id).order_by(Candidate.id)
        ).all()
        session.commit()
        assert agreement_report(session, galaxy="g1")["model"] is None
        add_model(session, "m1", {c: np.eye(4)[0] for c in ids})
        session.commit()
        for cid, (a, b) in zip(ids, [(1, 1), (1, 2), (3, 3)], strict=True):
            record_label(session, candidate_id=cid, expert_id=ana.id, label_class=a)
            record_label(session, candidate_id=cid, expert_id=ben.id, label_class=b)
        report = agreement_report(session, galaxy="g1")
        json.dumps(report)  # JSON-ready
        assert report["model_name"] == "m1"
        assert report["experts"]["pairwise"][0]["agreement"] == pytest.approx(2 / 3)
        assert report["model"]["n"] == 2 and report["model"]["agreement"] == pytest.approx(1 / 2)
        assert agreement_report(session, galaxy="g2")["experts"]["pairwise"] == []
        with pytest.raises(UserInputError, match="unknown galaxy"):
            agreement_report(session, galaxy="nope")
        with pytest.raises(UserInputError, match="unknown model"):
            agreement_report(session, model="nope")
