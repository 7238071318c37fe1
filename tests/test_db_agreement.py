"""Agreement: expert pairs, experts vs consensus, model vs consensus (the paper's Fig. 3).

The comparisons are ``starcnet_core.evaluation.agreement``; the votes come from ``db.agreement``.
"""

from __future__ import annotations

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, add_model, migrated_engine
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sqlalchemy import select

from db.agreement import expert_votes
from db.engine import session_factory
from db.models import Candidate
from starcnet_core.evaluation.agreement import compare
from starcnet_core.groupings import group_labels
from webapp.services.agreement import expert_agreement, model_agreement
from webapp.services.labels import record_label

# Rows: candidates; columns: experts ana, ben, cy (0: no answer).
ANSWERS = np.array([[1, 1, 2], [2, 2, 2], [3, 4, 3], [4, 4, 4], [1, 2, 0], [3, 3, 4]])


def test_compare_counts_by_hand():
    result = compare(np.array([1, 2, 3, 4, 4]), np.array([1, 1, 4, 4, 3]))
    assert result["n"] == 5 and result["agreement"] == pytest.approx(2 / 5)
    assert result["binary_agreement"] == pytest.approx(1.0)
    assert result["confusion"][1] == [1, 0, 0, 0] and result["confusion"][3] == [0, 0, 1, 1]
    assert result["balanced"] == pytest.approx((1 + 0 + 0 + 0.5) / 4)
    assert compare(np.array([]), np.array([]))["agreement"] is None


@pytest.mark.filterwarnings("ignore:y_pred contains classes")
def test_compare_matches_scikit_learn():
    rng = np.random.default_rng(0)
    reference, other = rng.integers(1, 5, 60), rng.integers(1, 5, 60)
    reference[reference == 3] = 4  # a class missing from the reference
    result = compare(reference, other)
    assert result["confusion"] == confusion_matrix(reference, other, labels=[1, 2, 3, 4]).tolist()
    assert result["balanced"] == pytest.approx(balanced_accuracy_score(reference, other))
    assert result["binary_balanced"] == pytest.approx(
        balanced_accuracy_score(group_labels(reference), group_labels(other))
    )
    assert (
        result["binary_confusion"] == confusion_matrix(group_labels(reference), group_labels(other)).tolist()
    )


@pytest.fixture
def labelled(tmp_path):
    engine = migrated_engine(tmp_path)
    session = session_factory(engine)()
    add_galaxy(session, "g1", n=len(ANSWERS))
    experts = add_experts(session, "ana", "ben", "cy")
    ids = session.scalars(select(Candidate.id).order_by(Candidate.id)).all()
    session.commit()
    for row, cid in zip(ANSWERS, ids, strict=True):
        for expert, cls in zip(experts, row, strict=True):
            if cls:
                record_label(session, candidate_id=cid, expert_id=expert.id, label_class=int(cls))
    yield session, ids
    session.close()


def test_db_returns_the_votes(labelled):
    session, ids = labelled
    votes = expert_votes(session)
    assert votes.expert_names == ["ana", "ben", "cy"] and votes.candidate_ids.tolist() == list(ids)
    assert votes.votes.tolist() == ANSWERS.tolist()
    assert votes.consensus.tolist() == [1, 2, 3, 4, 0, 3]


def test_pairwise_and_vs_consensus(labelled):
    session, _ = labelled
    result = expert_agreement(session)
    pairs = {(p["expert_a"], p["expert_b"]): p for p in result["pairwise"]}
    assert pairs[("ana", "ben")]["n"] == 6 and pairs[("ana", "ben")]["agreement"] == pytest.approx(4 / 6)
    assert pairs[("ana", "cy")]["n"] == 5 and pairs[("ana", "cy")]["agreement"] == pytest.approx(3 / 5)
    assert pairs[("ben", "cy")]["agreement"] == pytest.approx(2 / 5)
    assert result["pairwise_summary"]["mean_agreement"] == pytest.approx(np.mean([4 / 6, 3 / 5, 2 / 5]))
    # Consensus: 1, 2, 3, 4, undecided (1 vs 2), 3 -> five decided candidates.
    ana = next(r for r in result["vs_consensus"] if r["expert"] == "ana")
    assert ana["n"] == 5 and ana["agreement"] == pytest.approx(1.0)
    cy = next(r for r in result["vs_consensus"] if r["expert"] == "cy")
    assert (
        cy["n"] == 5
        and cy["agreement"] == pytest.approx(3 / 5)
        and cy["binary_agreement"] == pytest.approx(1.0)
    )
    matrix = np.array(result["vs_consensus_summary"]["mean_confusion"])
    assert np.allclose(matrix.sum(axis=1), 1.0)


def test_model_vs_consensus(labelled):
    session, ids = labelled
    scores = {cid: np.eye(4)[k] for cid, k in zip(ids, [0, 1, 3, 3, 0, 2], strict=True)}
    add_model(session, "m", scores)
    session.commit()
    result = model_agreement(session)
    assert result["n"] == 5 and result["agreement"] == pytest.approx(4 / 5)
    assert result["confusion"][2] == [0, 0, 1, 1]  # consensus 3 predicted 3 and 4
    assert result["binary_agreement"] == pytest.approx(1.0)
    # The same counted from the labels rather than the per-candidate cache.
    assert model_agreement(session, roles=["expert"]) == result
    only_cy = model_agreement(session, expert_ids=[3])
    assert only_cy["n"] == 5 and only_cy["agreement"] == pytest.approx(2 / 5)


def test_model_agreement_needs_a_model(labelled):
    session, _ = labelled
    with pytest.raises(ValueError, match="no active model"):
        model_agreement(session)
