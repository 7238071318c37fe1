"""Simulated experts: agreement levels of the paper's Fig. 3, mode with tie-breaking."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from starcnet_core.sim.annotators import simulate_votes, vote_mode


def test_agreement_matches_the_paper():
    rng = np.random.default_rng(0)
    truth = rng.choice([1, 2, 3, 4], size=20000, p=[0.16, 0.2, 0.2, 0.44])
    votes, mode, mean = simulate_votes(truth, rng, n_experts=3, difficulty=rng.beta(2, 2, len(truth)))
    pairwise = np.mean([np.mean(votes[:, i] == votes[:, j]) for i, j in combinations(range(3), 2)])
    assert 0.53 < pairwise < 0.61  # paper: 57.3% individual vs individual
    assert 0.74 < np.mean(mode == truth) < 0.82
    # The mean counts every vote cast: where the three experts agree on a majority no
    # tie-breaker votes and it is their mean; where all three differ tie-breakers vote too.
    majority = (votes[:, 0] == votes[:, 1]) | (votes[:, 0] == votes[:, 2]) | (votes[:, 1] == votes[:, 2])
    np.testing.assert_allclose(mean[majority], votes[majority].mean(axis=1))
    assert np.mean(np.isclose(mean[~majority], votes[~majority].mean(axis=1))) < 0.5
    assert votes.shape == (20000, 3) and set(np.unique(votes)) == {1, 2, 3, 4}


def test_hard_candidates_are_confused_more():
    rng = np.random.default_rng(1)
    truth = np.full(5000, 1)
    _, easy, _ = simulate_votes(truth, rng, difficulty=np.zeros(5000))
    _, hard, _ = simulate_votes(truth, rng, difficulty=np.ones(5000))
    assert np.mean(easy == 1) > np.mean(hard == 1) + 0.1


def test_mode_ties_broken_by_further_votes():
    votes = np.array([[1, 2, 3], [2, 2, 4], [4, 3, 0]])
    tie_votes = np.array([[3, 1], [1, 1], [1, 3]])
    # Row 0: three-way tie, further vote 3 settles it; row 1: clear mode;
    # row 2: 4 vs 3, the first further vote (1) does not help, the second does.
    assert vote_mode(votes, tie_votes).tolist() == [3, 2, 3]


def test_mean_includes_the_tie_breaking_votes():
    # All three experts differ on every candidate: at least one tie-breaker votes, and the
    # mean over 3 + k votes is a multiple of 1 / (3 + k), not the three experts' mean alone.
    rng = np.random.default_rng(2)
    votes, mode, mean = simulate_votes(np.full(4000, 2), rng, difficulty=np.ones(4000))
    split = np.flatnonzero(np.array([len(set(v)) == 3 for v in votes]))
    assert len(split) > 50
    fourths = np.isclose(mean[split] * 4, np.round(mean[split] * 4))
    assert fourths.mean() > 0.5 and not np.allclose(mean[split], votes[split].mean(axis=1))


def test_rejects_bad_classes():
    with pytest.raises(ValueError):
        simulate_votes(np.array([0, 1]), np.random.default_rng(0))


def test_pool_votes_come_from_distinct_experts_of_different_skill_with_tie_breakers_only_on_ties():
    from starcnet_core.sim.annotators import POOL_SKILL_RANGE, simulate_pool_votes

    rng = np.random.default_rng(3)
    truth = rng.integers(1, 5, 6000)
    votes, experts, skill = simulate_pool_votes(truth, rng, pool_size=10)
    assert votes.shape == experts.shape == (6000, 5)
    assert ((skill >= POOL_SKILL_RANGE[0]) & (skill <= POOL_SKILL_RANGE[1])).all()
    first = experts[:, :3]
    assert (np.sort(first, axis=1)[:, 1:] != np.sort(first, axis=1)[:, :-1]).all()  # three distinct experts
    # a tie-breaker votes exactly when the votes before it are tied
    counts = np.stack([(votes[:, :3] == c).sum(1) for c in (1, 2, 3, 4)], 1)
    tied = (counts == counts.max(1, keepdims=True)).sum(1) > 1
    np.testing.assert_array_equal(votes[:, 3] > 0, tied)
    assert ((votes[:, 3:] == 0) == (experts[:, 3:] == -1)).all()
    # the most skilled expert is right more often than the least skilled one
    right = [
        (votes[experts == e] == np.broadcast_to(truth[:, None], votes.shape)[experts == e]).mean()
        for e in range(10)
    ]
    assert right[int(np.argmax(skill))] > right[int(np.argmin(skill))] + 0.1


def test_the_bayes_posterior_of_the_simulator_is_a_ceiling_for_the_mode_and_dawid_skene():
    from starcnet_core.evaluation.dawid_skene import dawid_skene
    from starcnet_core.sim.annotators import bayes_posterior, simulate_pool_votes, vote_mode

    rng = np.random.default_rng(3)
    truth = rng.choice([1, 2, 3, 4], size=8000, p=[0.15, 0.2, 0.2, 0.45])
    difficulty = rng.random(len(truth))
    votes, experts, skill = simulate_pool_votes(truth, rng, pool_size=12, difficulty=difficulty)
    prior = np.bincount(truth - 1, minlength=4) / len(truth)
    posterior = bayes_posterior(votes, experts, skill, difficulty, prior)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)
    bayes = (posterior.argmax(axis=1) + 1 == truth).mean()
    mode = (vote_mode(votes[:, :3], votes[:, 3:]) == truth).mean()
    cast = votes > 0
    items = np.repeat(np.arange(len(truth))[:, None], votes.shape[1], axis=1)[cast]
    weighted = (dawid_skene(items, experts[cast], votes[cast]).consensus == truth).mean()
    assert bayes > mode and bayes >= weighted - 0.003
    # a team of identical experts: nothing to weigh, the ceiling is the mode's
    votes, experts, skill = simulate_pool_votes(truth, rng, difficulty=difficulty, skill_range=(1.0, 1.0))
    assert np.all(skill == 1.0)
    same = bayes_posterior(votes, experts, skill, difficulty, prior).argmax(axis=1) + 1
    assert abs((same == truth).mean() - (vote_mode(votes[:, :3], votes[:, 3:]) == truth).mean()) < 0.01
