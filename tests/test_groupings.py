"""The class groupings of section 5.2, defined once and used by training and evaluation."""

from __future__ import annotations

import numpy as np

from starcnet_core.evaluation.evaluate import evaluate
from starcnet_core.groupings import BINARY, GROUP_NAMES, GROUPING_TITLES, GROUPINGS, group_labels
from starcnet_core.training.train import training_labels


def test_group_labels_by_name_or_mapping_and_zero_for_no_class():
    classes = np.array([1, 2, 3, 4, 0])
    assert group_labels(classes).tolist() == [1, 1, 2, 2, 0]
    assert group_labels(classes, "binary_123_4").tolist() == [1, 1, 1, 2, 0]
    assert group_labels(classes, {1: 3, 2: 2, 3: 1, 4: 1}).tolist() == [3, 2, 1, 1, 0]
    assert set(GROUPING_TITLES) == {"four_class", *GROUPINGS}
    assert all(len(GROUP_NAMES[name]) == len(set(g.values())) for name, g in GROUPINGS.items())


def test_binary_training_and_evaluation_use_the_same_grouping():
    classes = np.array([1, 2, 3, 4, 0])
    assert training_labels(classes, binary=True).tolist() == (group_labels(classes, BINARY) - 1).tolist()
    y_true = np.array([1, 2, 3, 4])
    scores = np.eye(4)[[1, 0, 3, 2]]  # every class wrong, every binary group right
    report = evaluate(y_true, scores, n_boot=0)
    assert report["four_class"]["accuracy"] == 0.0
    assert report[BINARY]["accuracy"] == 1.0 and report["three_12_3_4"]["accuracy"] == 0.5
