"""The agreement report: by galaxy and model name, user errors for unknown names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, add_model, migrated_engine
from sqlalchemy import select

from db.engine import session_factory
from db.models import Candidate, Expert
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


def _careful_and_hasty(session) -> dict[int, int]:
    """Two careful experts (95% right) and three hasty ones who mostly agree on a wrong class; the truth."""
    rng = np.random.default_rng(0)
    galaxy = add_galaxy(session, "g1", n=120)
    careful = add_experts(session, "c1", "c2")
    hasty = add_experts(session, "h1", "h2", "h3")
    ids = session.scalars(select(Candidate.id).where(Candidate.galaxy_id == galaxy.id)).all()
    truth = {cid: int(rng.integers(1, 5)) for cid in ids}
    session.commit()
    for cid in ids:
        for expert in careful:
            right = rng.random() < 0.95
            record_label(
                session, candidate_id=cid, expert_id=expert.id, label_class=truth[cid] if right else 4
            )
        for expert in hasty:
            wrong = truth[cid] % 4 + 1
            given = wrong if rng.random() < 0.8 else truth[cid]
            record_label(session, candidate_id=cid, expert_id=expert.id, label_class=given)
    return truth


def test_weighted_consensus_follows_the_reliable_experts(tmp_path):
    from webapp.services.crowd import weighted_consensus, weighted_consensus_report

    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        assert weighted_consensus_report(session)["experts"] == []
        truth = _careful_and_hasty(session)
        fit = weighted_consensus(session)
        right = np.mean([c == truth[int(i)] for i, c in zip(fit.items, fit.consensus, strict=True)])
        report = weighted_consensus_report(session)
        json.dumps(report)
        by_name = {row["expert"]: row for row in report["experts"]}
        assert right > 0.9
        assert np.mean(by_name["c1"]["accuracy"]) > 0.8 and np.mean(by_name["h1"]["accuracy"]) < 0.4
        assert by_name["c1"]["n_labels"] == 120
        # the mode follows the three hasty experts; the weighted consensus does not
        assert report["agreement_with_mode"] < 0.5


def test_a_retrain_can_train_on_the_weighted_consensus_which_also_decides_ties(tmp_path):
    from webapp.services.retrain import RetrainRequest, training_labels

    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        truth = _careful_and_hasty(session)
        # candidates only one careful and one hasty expert classified, each as they usually do: the votes tie
        tied = session.scalars(
            select(Candidate.id).where(Candidate.galaxy_id == add_galaxy(session, "g2", n=12).id)
        ).all()
        c1, h1 = (session.scalars(select(Expert).where(Expert.name == name)).one() for name in ("c1", "h1"))
        session.commit()
        for i, cid in enumerate(tied):
            truth[cid] = i % 4 + 1
            record_label(session, candidate_id=cid, expert_id=c1.id, label_class=truth[cid])
            record_label(session, candidate_id=cid, expert_id=h1.id, label_class=truth[cid] % 4 + 1)
        by_mode = training_labels(session, RetrainRequest(consensus="mode"))
        weighted = training_labels(session, RetrainRequest(consensus="dawid-skene"))
        # the mode leaves the ties out; the weighted consensus trains on them too, decided
        assert not np.isin(tied, by_mode.candidate_ids).any()
        np.testing.assert_array_equal(weighted.candidate_ids, np.union1d(by_mode.candidate_ids, tied))
        assert weighted.classes.min() >= 1
        expected = np.array([truth[int(c)] for c in weighted.candidate_ids])
        assert (weighted.classes == expected).mean() > 0.9
        assert (by_mode.classes == [truth[int(c)] for c in by_mode.candidate_ids]).mean() < 0.5
        on_ties = np.isin(weighted.candidate_ids, tied)
        np.testing.assert_array_equal(weighted.classes[on_ties], expected[on_ties])
        with pytest.raises(UserInputError, match="consensus"):
            RetrainRequest(consensus="vote")
