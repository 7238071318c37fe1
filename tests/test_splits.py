"""The paper's stratified 72/8/20 split, galaxy splits and leave-one-galaxy-out."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.errors import UserInputError
from starcnet_core.training.splits import make_split


def _labels(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([0, 1, 2, 3, 4], n, p=[0.1, 0.3, 0.3, 0.1, 0.2])


def test_random_split_is_stratified_72_8_20_and_reproducible():
    labels = _labels()
    split = make_split(labels, seed=3)
    labelled = np.flatnonzero(labels > 0)
    together = np.concatenate([split.train, split.val, split.test])
    assert sorted(together.tolist()) == labelled.tolist()  # disjoint, complete, unlabelled left out
    fractions = np.array([len(split.train), len(split.val), len(split.test)]) / len(labelled)
    np.testing.assert_allclose(fractions, [0.72, 0.08, 0.20], atol=0.01)
    overall = np.bincount(labels[labelled], minlength=5)[1:] / len(labelled)
    for part in (split.train, split.test):
        np.testing.assert_allclose(np.bincount(labels[part], minlength=5)[1:] / len(part), overall, atol=0.01)
    again = make_split(labels, seed=3)
    assert np.array_equal(again.test, split.test)
    assert not np.array_equal(make_split(labels, seed=4).test, split.test)


def test_galaxy_split_keeps_galaxies_whole():
    labels = _labels()
    galaxy = np.array([f"g{i}" for i in range(10)])[np.arange(1000) % 10]
    split = make_split(labels, method="galaxy", galaxy=galaxy, seed=1)
    assert not set(galaxy[split.test]) & set(galaxy[split.train])
    assert set(galaxy[split.test]) and set(galaxy[split.train])


def test_leave_one_galaxy_out_tests_on_that_galaxy():
    labels = _labels()
    galaxy = np.where(np.arange(1000) < 150, "ngc628", "other")
    split = make_split(labels, method="loo", galaxy=galaxy, holdout_galaxy="ngc628")
    assert set(galaxy[split.test]) == {"ngc628"}
    assert len(split.test) == int(((labels > 0) & (galaxy == "ngc628")).sum())
    with pytest.raises(UserInputError, match="holdout"):
        make_split(labels, method="loo", galaxy=galaxy, holdout_galaxy="ngc1")


def test_too_few_labels_and_tiny_classes():
    with pytest.raises(UserInputError, match="labelled"):
        make_split(np.array([0, 1, 0]))
    # a class with a single member cannot be stratified; the split still works
    split = make_split(np.array([1, 1, 1, 1, 1, 2, 2, 2, 2, 3]))
    assert len(split.train) + len(split.val) + len(split.test) == 10
