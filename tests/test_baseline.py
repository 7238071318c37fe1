"""The bagged decision-tree baseline of Grasha et al. (2019)."""

from __future__ import annotations

import numpy as np
import pytest
from stamp_testing import tiny_stampset

from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.baseline import BaggedTreeBaseline, patch_features


def test_patch_features_are_the_central_15x15_of_u_v_i():
    stamps = np.zeros((2, 5, 32, 32), dtype=np.float32)
    stamps[:, 1, 8:23, 8:23] = 1.0  # U, central 15x15
    stamps[:, 3, 8:23, 8:23] = 2.0  # V
    stamps[:, 4, 8:23, 8:23] = 3.0  # I
    stamps[:, 0] = 9.0  # NUV is not used
    features = patch_features(stamps)
    assert features.shape == (2, 675)
    np.testing.assert_array_equal(np.unique(features[0]), [1.0, 2.0, 3.0])
    with pytest.raises(UserInputError, match="band"):
        patch_features(stamps[:, :3], bands=("NUV", "U", "B"))


def test_fits_an_easy_problem_and_reports_four_columns():
    train, test = tiny_stampset(64, seed=0), tiny_stampset(32, seed=1)
    model = BaggedTreeBaseline(n_estimators=10).fit(train.stamps, train.labels)
    proba = model.predict_proba(test.stamps)
    assert proba.shape == (32, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert (model.predict(test.stamps) == test.labels).mean() >= 0.8
    # rotation augmentation: each stamp enters four times
    assert model.classifier.estimators_samples_[0].max() >= 64 * 3


def test_missing_class_scores_zero():
    stamps = tiny_stampset(32)
    keep = stamps.labels != 3
    model = BaggedTreeBaseline(n_estimators=5, rotations=()).fit(stamps.stamps[keep], stamps.labels[keep])
    assert np.all(model.predict_proba(stamps.stamps)[:, 2] == 0)
