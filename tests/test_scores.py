"""The one score summary: inference, active learning and the stored predictions give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from db_testing import add_galaxy, add_model, migrated_engine
from sqlalchemy import select

from db.engine import session_factory
from db.models import Candidate, Prediction
from starcnet_core.nn.predict import Predictions
from starcnet_core.scores import score_summaries
from starcnet_core.training.active_learning import uncertainty

SCORES = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.1, 0.6, 0.3, 0.0]])


def test_summaries_handle_zero_scores_and_ties():
    summary = score_summaries(SCORES)
    assert summary["predicted_class"].tolist() == [1, 1, 2]
    np.testing.assert_allclose(summary["confidence"], [1.0, 0.25, 0.6])
    np.testing.assert_allclose(summary["margin"], [1.0, 0.0, 0.3])
    expected = -(0.1 * np.log(0.1) + 0.6 * np.log(0.6) + 0.3 * np.log(0.3))
    np.testing.assert_allclose(summary["entropy"], [0.0, np.log(4), expected])
    with pytest.raises(ValueError, match="scores must be"):
        score_summaries(np.ones(4))


def test_every_layer_reports_the_same_summaries(tmp_path):
    summary = score_summaries(SCORES)
    predictions = Predictions(SCORES)
    np.testing.assert_array_equal(predictions.entropy, summary["entropy"])
    np.testing.assert_array_equal(uncertainty(SCORES, "entropy"), summary["entropy"])
    np.testing.assert_array_equal(uncertainty(SCORES, "margin"), 1 - summary["margin"])
    np.testing.assert_array_equal(uncertainty(SCORES, "least_confident"), 1 - summary["confidence"])
    with session_factory(migrated_engine(tmp_path))() as session:
        galaxy = add_galaxy(session, n=3)
        ids = session.scalars(select(Candidate.id).where(Candidate.galaxy_id == galaxy.id)).all()
        model = add_model(session, "m", dict(zip(ids, SCORES.tolist(), strict=True)))
        stored = session.scalars(
            select(Prediction)
            .where(Prediction.model_version_id == model.id)
            .order_by(Prediction.candidate_id)
        ).all()
    for name in ("confidence", "margin", "entropy"):
        np.testing.assert_allclose([getattr(p, name) for p in stored], summary[name])
    assert [p.predicted_class for p in stored] == summary["predicted_class"].tolist()
