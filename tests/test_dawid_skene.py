"""Dawid-Skene consensus: recovers who is right how often, and beats the mode when experts differ."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.dawid_skene import dawid_skene


def _crowd(n_items: int = 1500, seed: int = 0):
    """Three careful experts (90% right) and five hasty ones (40% right, leaning to class 4)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(4, n_items, p=[0.2, 0.2, 0.2, 0.4]) + 1
    skill = np.array([0.9, 0.9, 0.9, 0.4, 0.4, 0.4, 0.4, 0.4])
    items, workers, votes = [], [], []
    for i, true in enumerate(truth):
        for w in rng.choice(len(skill), 3, replace=False):
            if rng.random() < skill[w]:
                vote = true
            else:
                vote = 4 if skill[w] < 0.5 and rng.random() < 0.7 else rng.integers(1, 5)
            items.append(i)
            workers.append(w)
            votes.append(vote)
    return truth, np.array(items), np.array(workers), np.array(votes), skill


def _mode(items: np.ndarray, votes: np.ndarray, n: int) -> np.ndarray:
    counts = np.zeros((n, 4))
    np.add.at(counts, (items, votes - 1), 1)
    return counts.argmax(1) + 1


def test_dawid_skene_beats_the_mode_and_recovers_each_experts_accuracy():
    truth, items, workers, votes, skill = _crowd()
    fit = dawid_skene(items, workers, votes)
    mode_right = (_mode(items, votes, len(truth)) == truth).mean()
    ds_right = (fit.consensus == truth).mean()
    assert ds_right > mode_right + 0.03
    accuracy = fit.accuracy_per_class.mean(axis=1)
    np.testing.assert_allclose(accuracy[:3], 0.9, atol=0.06)
    assert (accuracy[3:] < 0.6).all()
    # the hasty experts' lean to class 4 is found: class-1..3 items are voted 4 too often
    assert (fit.confusion[3:, :3, 3] > 0.2).all()
    # the evidence behind each row sums to each expert's number of votes
    np.testing.assert_allclose(fit.labels_per_class.sum(axis=1), np.bincount(workers))
    np.testing.assert_allclose(fit.posterior.sum(axis=1), 1.0)


def test_unanimous_votes_give_the_voted_class_with_certainty():
    items = np.repeat(np.arange(40), 3)
    workers = np.tile([7, 8, 9], 40)
    votes = np.repeat(np.arange(40) % 4 + 1, 3)
    fit = dawid_skene(items, workers, votes)
    np.testing.assert_array_equal(fit.consensus, np.arange(40) % 4 + 1)
    assert fit.posterior.max(axis=1).min() > 0.95
    np.testing.assert_array_equal(fit.workers, [7, 8, 9])


@pytest.mark.parametrize(
    ("items", "workers", "votes"),
    [([], [], []), ([1, 2], [1], [1, 2]), ([1], [1], [5]), ([1], [1], [0])],
)
def test_bad_votes_are_user_errors(items, workers, votes):
    with pytest.raises(UserInputError):
        dawid_skene(np.array(items), np.array(workers), np.array(votes))
