"""Simulated experts: a pool calibrated to the paper's agreement figures, teams, mode with tie-breaking, mean."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.sim.annotators import (
    TEAM_SIZE,
    consensus,
    draw_pool,
    draw_team,
    faint_washout,
    simulate_pool_votes,
    vote_mode,
)


def _team_votes(truth, seed, difficulty):
    """Votes of one galaxy's team, as the galaxy and survey simulators draw them."""
    rng = np.random.default_rng(seed)
    pool = draw_pool(rng)
    team = draw_team(rng, pool)
    assert len(set(team.tolist())) == TEAM_SIZE
    return simulate_pool_votes(truth, rng, difficulty=difficulty(rng, len(truth)), pool=pool, team=team)


def test_the_team_mode_matches_the_truth_about_as_often_as_the_papers_experts():
    truth = np.random.default_rng(0).choice([1, 2, 3, 4], size=20000, p=[0.16, 0.2, 0.2, 0.44])
    # the mode of the three experts (ties broken) against the truth, over several teams: the
    # paper's classifiers agree with their mode 75% (class-weighted); a team's figure moves with
    # who is in it, the mean over teams lies near
    right = []
    for seed in range(4):
        votes, experts, _ = _team_votes(truth, seed, lambda rng, n: rng.beta(2, 2, n))
        mode, mean = consensus(votes)
        right.append(np.mean(mode == truth))
        assert votes.shape == (20000, 5) and set(np.unique(votes[:, :3])) == {1, 2, 3, 4}
        # the mean counts every vote cast: where the three experts have a majority no
        # tie-breaker votes and it is their mean; where all three differ tie-breakers vote too
        v = votes[:, :3]
        majority = (v[:, 0] == v[:, 1]) | (v[:, 0] == v[:, 2]) | (v[:, 1] == v[:, 2])
        np.testing.assert_allclose(mean[majority], v[majority].mean(axis=1))
        assert (votes[majority, 3:] == 0).all() and (votes[~majority, 3] > 0).all()
        np.testing.assert_allclose(mean[~majority], votes[~majority].sum(axis=1) / (votes[~majority] > 0).sum(axis=1))
    assert 0.72 < np.mean(right) < 0.84


def test_hard_candidates_are_confused_more():
    truth = np.full(5000, 1)
    easy = consensus(_team_votes(truth, 1, lambda rng, n: np.zeros(n))[0])[0]
    hard = consensus(_team_votes(truth, 1, lambda rng, n: np.ones(n))[0])[0]
    assert np.mean(easy == 1) > np.mean(hard == 1) + 0.1


def test_mode_ties_broken_by_further_votes():
    votes = np.array([[1, 2, 3], [2, 2, 4], [4, 3, 0]])
    tie_votes = np.array([[3, 1], [1, 1], [1, 3]])
    # Row 0: three-way tie, further vote 3 settles it; row 1: clear mode;
    # row 2: 4 vs 3, the first further vote (1) does not help, the second does.
    assert vote_mode(votes, tie_votes).tolist() == [3, 2, 3]


def test_consensus_of_cast_votes_and_of_none():
    # row 2: the first tie-breaker votes a fourth class, the tie stays, the second settles it
    votes = np.array([[1, 2, 3, 3, 0], [2, 2, 4, 0, 0], [4, 3, 1, 2, 3], [0, 0, 0, 0, 0]])
    mode, mean = consensus(votes)
    assert mode.tolist() == [3, 2, 3, 0]
    np.testing.assert_allclose(mean, [9 / 4, 8 / 3, 13 / 5, 0.0])


def test_rejects_bad_classes():
    with pytest.raises(ValueError):
        simulate_pool_votes(np.array([0, 1]), np.random.default_rng(0))


def test_pool_votes_come_from_distinct_experts_of_different_skill_with_tie_breakers_only_on_ties():
    from starcnet_core.sim.annotators import POOL_SKILL_RANGE, simulate_pool_votes

    rng = np.random.default_rng(3)
    truth = rng.integers(1, 5, 6000)
    votes, experts, pool = simulate_pool_votes(truth, rng, pool_size=10)
    skill = pool.skill
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
    votes, experts, pool = simulate_pool_votes(truth, rng, pool_size=12, difficulty=difficulty)
    prior = np.bincount(truth - 1, minlength=4) / len(truth)
    posterior = bayes_posterior(votes, experts, pool, difficulty, prior)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)
    bayes = (posterior.argmax(axis=1) + 1 == truth).mean()
    mode = (vote_mode(votes[:, :3], votes[:, 3:]) == truth).mean()
    cast = votes > 0
    items = np.repeat(np.arange(len(truth))[:, None], votes.shape[1], axis=1)[cast]
    weighted = (dawid_skene(items, experts[cast], votes[cast]).consensus == truth).mean()
    assert bayes > mode and bayes >= weighted - 0.003
    # a team of identical experts: nothing to weigh, the ceiling is the mode's
    votes, experts, pool = simulate_pool_votes(
        truth, rng, difficulty=difficulty, skill_range=(1.0, 1.0), lean_range=(0.0, 0.0)
    )
    assert np.all(pool.skill == 1.0) and np.all(pool.lean == 0.0)
    same = bayes_posterior(votes, experts, pool, difficulty, prior).argmax(axis=1) + 1
    assert abs((same == truth).mean() - (vote_mode(votes[:, :3], votes[:, 3:]) == truth).mean()) < 0.01


def test_candidates_at_the_inspection_limit_are_called_class_4_and_the_ceiling_knows_it():
    from starcnet_core.sim.annotators import FAINT_WASHOUT, bayes_posterior

    m_v = np.array([-9.0, -7.5, -6.5, -6.0, -5.5])
    w = faint_washout(m_v)
    tops = np.asarray(FAINT_WASHOUT[0])
    assert w.shape == (5, 4)
    assert np.all(np.diff(w, axis=0) > 0) and np.all(w[0] < 0.001) and np.all(w[1] < 0.03)
    assert np.all(w[-1] > 0.9 * tops)
    # a compact cluster (class 1) looks like a star first; an association keeps its extent
    assert w[2, 0] > 2 * w[2, 2] and w[-1, 0] > w[-1, 2]
    rng = np.random.default_rng(4)
    truth = rng.choice([1, 2, 3, 4], size=12000, p=[0.25, 0.25, 0.25, 0.25])
    difficulty = np.full(len(truth), 0.8)
    mags = rng.uniform(-8.0, -5.5, len(truth))
    washout = faint_washout(mags)
    votes, experts, pool = simulate_pool_votes(truth, rng, difficulty=difficulty, washout=washout)
    mode = vote_mode(votes[:, :3], votes[:, 3:])
    faint, bright = mags > -5.8, mags < -7.0
    # true clusters at the limit are labelled class 4 most of the time, bright ones rarely
    assert np.mean(mode[faint & (truth == 1)] == 4) > 0.5 > 0.2 > np.mean(mode[bright & (truth == 1)] == 4)
    prior = np.full(4, 0.25)
    knows = bayes_posterior(votes, experts, pool, difficulty, prior, washout)
    blind = bayes_posterior(votes, experts, pool, difficulty, prior)
    assert np.mean(knows.argmax(axis=1) + 1 == truth) > np.mean(mode == truth)
    # a class-4 vote on a faint candidate says less about its truth once the washout is known:
    # the ceiling's probability of class 4 there is what the truth shows, the blind one's too high
    rows = faint & (mode == 4)
    actual = np.mean(truth[rows] == 4)
    assert abs(knows[rows, 3].mean() - actual) < 0.05 < blind[rows, 3].mean() - actual


def _pool_agreement(seed: int, **kwargs) -> dict:
    """Class-weighted agreement of a simulated pool, measured as the paper measures its classifiers."""
    from starcnet_core.evaluation.agreement import expert_agreement
    from starcnet_core.sim.annotators import simulate_pool_votes

    rng = np.random.default_rng(seed)
    truth = rng.choice([1, 2, 3, 4], size=15000, p=[0.16, 0.21, 0.19, 0.44])  # Table 6's class mix
    votes, experts, pool = simulate_pool_votes(truth, rng, difficulty=rng.random(len(truth)), **kwargs)
    matrix = np.zeros((len(truth), len(pool)), dtype=int)
    for k in range(votes.shape[1]):
        cast = votes[:, k] > 0
        matrix[np.flatnonzero(cast), experts[cast, k]] = votes[cast, k]
    return expert_agreement(matrix, vote_mode(votes[:, :3], votes[:, 3:]), [str(e) for e in range(len(pool))])


def test_the_pool_agrees_with_itself_as_the_papers_classifiers_did():
    from starcnet_core.sim.annotators import PAPER_AGREEMENT

    # one pool of 12 is one team: its agreement depends on who is in it (a few points), so
    # the calibration holds for the mean of several pools
    keys = ("mean_balanced", "mean_binary_balanced")
    found = [_pool_agreement(seed) for seed in range(6)]
    pairs = {k: np.mean([f["pairwise_summary"][k] for f in found]) for k in keys}
    with_mode = {k: np.mean([f["vs_consensus_summary"][k] for f in found]) for k in keys}
    assert abs(pairs["mean_balanced"] - PAPER_AGREEMENT["pairwise"]) < 0.03
    assert abs(with_mode["mean_balanced"] - PAPER_AGREEMENT["with_mode"]) < 0.03
    assert abs(pairs["mean_binary_balanced"] - PAPER_AGREEMENT["binary_pairwise"]) < 0.035
    assert abs(with_mode["mean_binary_balanced"] - PAPER_AGREEMENT["binary_with_mode"]) < 0.015
    per_class = np.mean([np.diag(f["pairwise_summary"]["mean_confusion"]) for f in found], axis=0)
    # highest for classes 1 and 4, lowest for class 3 (paper section 2.1)
    assert min(per_class[0], per_class[3]) > max(per_class[1], per_class[2])
    assert per_class[2] == per_class.min()
    # without personal leans the same pools' experts agree markedly less often
    plain = np.mean(
        [_pool_agreement(seed, lean_range=(0.0, 0.0))["pairwise_summary"]["mean_balanced"] for seed in range(6)]
    )
    assert plain < pairs["mean_balanced"] - 0.025


def test_each_expert_errs_in_the_direction_of_their_lean_and_votes_only_in_their_team():
    from starcnet_core.sim.annotators import draw_pool, simulate_pool_votes

    rng = np.random.default_rng(6)
    pool = draw_pool(rng, 8)
    truth = np.full(20000, 2)  # class 2 can be mistaken both ways (1, or 3 and 4)
    team = np.array([0, 2, 3, 5, 7])
    votes, experts, same = simulate_pool_votes(truth, rng, difficulty=np.zeros(len(truth)), pool=pool, team=team)
    assert same is pool
    assert set(np.unique(experts[experts >= 0])) <= set(team.tolist())
    drift = {e: np.mean(votes[(experts == e) & (votes != 2)] - 2) for e in team}
    strict, loose = team[np.argmax(pool.lean[team])], team[np.argmin(pool.lean[team])]
    assert pool.lean[strict] > 0 > pool.lean[loose]
    assert drift[strict] > 0.5 and drift[loose] < 0
    np.testing.assert_allclose(pool.confused.sum(axis=2), 1.0)
    assert np.allclose(np.diagonal(pool.confused, axis1=1, axis2=2), 0.0)
