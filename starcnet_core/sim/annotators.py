"""Simulated human classifiers: a pool of experts, their votes, the mode (ties broken by further votes) and mean.

Experts looking at one candidate share what the image shows: with a
probability that falls as the source gets harder (fainter, more crowded) they
all see something other than its true class, drawn from the paper's
classifier-vs-classifier confusion (Fig. 3, left), and a candidate near the
inspection limit in absolute V shows them no cluster at all
(:func:`faint_washout`). Each expert then votes for
what they see or for a confused class. The experts are individuals
(:class:`ExpertPool`), each with their own skill and personal bias (the
direction of their mistakes), calibrated to the paper's class-weighted
agreement figures (:data:`PAPER_AGREEMENT`); each galaxy is classified by a
team of them (:func:`draw_team`), three per candidate with tie-breakers
(:func:`simulate_pool_votes`), and :func:`consensus` gives the catalog's class
mode and mean. :func:`bayes_posterior` is the best any aggregation of those
votes can do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starcnet_core.sim.calibration import EXPERT_CONFUSION

__all__ = [
    "ExpertPool",
    "PAPER_AGREEMENT",
    "bayes_posterior",
    "draw_pool",
    "N_EXPERTS",
    "N_TIE_BREAKERS",
    "POOL_SIZE",
    "TEAM_SIZE",
    "consensus",
    "draw_team",
    "FAINT_WASHOUT",
    "faint_washout",
    "simulate_pool_votes",
    "vote_mode",
]

#: Simulated LEGUS classifiers: "more than ten" (paper section 2.1); the pool the
#: calibration below was made with (``benchmarks/bench_consensus.py --pool-size 12``).
POOL_SIZE = 12
#: Pool members who classify one galaxy: its experts and tie-breakers come from them (LEGUS's
#: galaxies were each classified by a few of its classifiers, paper section 2.1).
TEAM_SIZE = 5
#: Experts who classify every candidate (LEGUS: at least three, section 2.1) ...
N_EXPERTS = 3
#: ... and further experts asked, one at a time, while their votes are tied.
N_TIE_BREAKERS = 2

#: Spread of individual skill in a pool of experts: each expert's probability of
#: voting what they see is the pool's times a factor drawn uniformly in this range
#: (LEGUS had more than ten classifiers with "personal biases", paper section 2.1).
POOL_SKILL_RANGE: tuple[float, float] = (0.6, 1.5)
#: Range of each expert's personal lean (:class:`ExpertPool`): the direction of their mistakes,
#: uniform in this range ("personal biases", paper section 2.1). With the skill range above it was
#: chosen on a grid (skill 0.3-0.6 to 1.2-1.5, lean 0-6; ``benchmarks/bench_consensus.py`` measures
#: it) as the pool whose class-weighted agreements come nearest :data:`PAPER_AGREEMENT`: pairwise
#: 57.0% (paper 57.3%), with the mode 76.7% (75.0%), binary 75.8% (78.1%) and 87.0% (87.2%); no
#: point of the grid brings the agreement with the mode below 76.7% at a pairwise agreement of 57%.
POOL_LEAN_RANGE: tuple[float, float] = (-3.0, 3.0)

#: The paper's measurements of its human classifiers (section 2.1 and Fig. 3; ~6,000 sources of
#: 13 galaxies with individual classifications). Agreements are class-weighted as the paper
#: defines them (the mean over classes of the fraction of one classifier's sources of that class
#: given the same class by the other: :func:`starcnet_core.evaluation.agreement.compare`'s
#: ``balanced``), averaged over all pairs of classifiers (``pairwise``) or over classifiers
#: against the final mode (``with_mode``). ``pairwise_per_class``: the diagonal of Fig. 3, left
#: (agreement highest for classes 1 and 4, lowest for class 3). ``galaxy_range``: the agreement
#: of single galaxies goes from ~95% (NGC 3738, >400 sources) to <50% (NGC 628, ~1,800).
PAPER_AGREEMENT: dict[str, object] = {
    "pairwise": 0.573,
    "with_mode": 0.750,
    "binary_pairwise": 0.781,
    "binary_with_mode": 0.872,
    "pairwise_per_class": (0.68, 0.50, 0.49, 0.63),
    "galaxy_range": (0.50, 0.95),
}

#: Per true class 1-4, the largest share and the absolute V at half of it, and one width in mag,
#: of :func:`faint_washout`. Real LEGUS experts call almost every candidate at the inspection
#: limit class 4: in NGC 628's catalog (class mode, 9.9 Mpc) the inspected candidates with -6.0 <
#: M_V < -5.5 are 1 / 3 / 19 / 77% class 1 / 2 / 3 / 4, those half a magnitude brighter 14 / 23 /
#: 23 / 39%, and class 1 falls from 19% to 7% over the faintest magnitude inspected in NGC 1566
#: too. A cluster that faint holds a few hundred solar masses and looks like the one or two stars
#: that dominate its light; a compact one (class 1) does so first, while an asymmetric cluster or
#: an association still shows its extent. NGC 628's class-1 labels thin out 0.24 mag brighter
#: (apparent V50 23.57) than NGC 1566's (23.81), its other classes 0.04-0.19 mag fainter.
#: Chosen on a grid with simulated NGC 628 galaxies (seeds 0-1, 3000 px, 2,000 candidates),
#: against the two faintest half magnitudes' class shares and the per-class M_V medians: one
#: share for every class (0.8, half at -6.2) left class 1's median 0.14-0.27 mag too faint and the
#: -6.5 to -6.0 bin 49-54% class 4; these give faintest bin 3-4 / 4-8 / 10-14 / 79%, next bin
#: 6-11 / 18-19 / 22-25 / 49-50%, class-1 median M_V -6.89 and -7.03 (real -7.04). Class 4's pair
#: only sends class 4 to class 4. At M_V = -7, where NGC 1566's faintest inspected half magnitude
#: begins, it is 7.6% for class 1 and 0.6% for classes 2 and 3.
FAINT_WASHOUT: tuple[tuple[float, ...], tuple[float, ...], float] = (
    (1.0, 0.5, 0.5, 1.0),
    (-6.5, -6.1, -6.1, -6.1),
    0.2,
)

# Probability that the image shows the true class, for an easy (0) and a
# hopeless (1) candidate.
_SHOWN_EASY, _SHOWN_HARD = 0.97, 0.75
# Off-diagonal confusion, each row normalised: where a confused eye goes.
_OFF = EXPERT_CONFUSION * (1 - np.eye(4))
_OFF /= _OFF.sum(axis=1, keepdims=True)
# An expert agrees with the shown class with probability sqrt(diagonal), so that
# two experts agree about as often as the diagonal of Fig. 3 says.
_OWN = np.sqrt(np.diag(EXPERT_CONFUSION)) - 0.02


def faint_washout(m_v: np.ndarray) -> np.ndarray:
    """Probability ``(N, 4)`` that the experts' shared view of a candidate of measured absolute V
    ``m_v`` is class 4, per true class 1-4 (:data:`FAINT_WASHOUT`)."""
    tops, halves, width = FAINT_WASHOUT
    m_v = np.asarray(m_v, dtype=float)[:, None]
    with np.errstate(over="ignore"):
        return np.asarray(tops, float)[None, :] / (1.0 + np.exp((np.asarray(halves, float)[None, :] - m_v) / width))


def _confuse(classes: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep each class with probability ``keep``, else replace it by one drawn from its row of Fig. 3."""
    return _confuse_rows(classes, keep, _OFF[classes - 1], rng)


def _mode_and_tie_votes(votes: np.ndarray, tie_votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode per row and how many of the further votes were cast to settle it."""
    counts = np.stack([(votes == c).sum(axis=1) for c in (1, 2, 3, 4)], axis=1).astype(float)
    used = np.zeros(len(votes), dtype=np.int64)
    for extra in tie_votes.T:
        top = counts.max(axis=1, keepdims=True)
        tied = (counts == top).sum(axis=1) > 1
        if not tied.any():
            break
        add = np.zeros_like(counts)
        add[np.flatnonzero(tied), extra[tied] - 1] = 1.0
        counts += add
        used += tied
    # Any tie the further votes did not settle goes to the lower class, as argmax does.
    return 1 + np.argmax(counts, axis=1), used


def vote_mode(votes: np.ndarray, tie_votes: np.ndarray) -> np.ndarray:
    """Most frequent class per row of ``votes`` (N, K); ties broken by the further votes.

    Parameters
    ----------
    votes : int array (N, K)
        Classes 1-4 (0 = no vote, ignored).
    tie_votes : int array (N, T)
        Further votes, used one at a time while the top classes are tied.
    """
    return _mode_and_tie_votes(votes, tie_votes)[0]


@dataclass(frozen=True)
class ExpertPool:
    """A team of simulated LEGUS classifiers, each with their own skill and personal bias.

    Attributes
    ----------
    skill : float array (P,)
        Factor on the probability of voting what the image shows (see :data:`POOL_SKILL_RANGE`).
    lean : float array (P,)
        Personal bias of each expert's mistakes along the class sequence 1-4
        (see :data:`POOL_LEAN_RANGE`): when expert e does not vote what they
        see, class j is picked from the shown class k's row of Fig. 3 weighted
        by ``exp(lean_e * (j - k))``; > 0 leans towards less cluster-like
        classes (stricter), < 0 towards more cluster-like ones.
    """

    skill: np.ndarray
    lean: np.ndarray

    def __len__(self) -> int:
        return len(self.skill)

    @property
    def confused(self) -> np.ndarray:
        """``(P, 4, 4)``: row k of expert e is where their vote goes when it is not the shown class k."""
        steps = np.arange(4)[None, :] - np.arange(4)[:, None]
        off = _OFF[None] * np.exp(self.lean[:, None, None] * steps[None])
        return off / off.sum(axis=2, keepdims=True)

    def own(self, shown: np.ndarray, member: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        """Probability that ``member`` votes the class ``shown`` on a candidate of ``difficulty``."""
        return np.clip(_OWN[shown - 1] * self.skill[member] * (1.08 - 0.16 * difficulty), 0.0, 1.0)


def draw_pool(
    rng: np.random.Generator,
    pool_size: int = POOL_SIZE,
    skill_range: tuple[float, float] = POOL_SKILL_RANGE,
    lean_range: tuple[float, float] = POOL_LEAN_RANGE,
) -> ExpertPool:
    """Draw a pool of experts: skill and lean each uniform in their range, independently."""
    return ExpertPool(rng.uniform(*skill_range, pool_size), rng.uniform(*lean_range, pool_size))


def draw_team(rng: np.random.Generator, pool: ExpertPool, team_size: int = TEAM_SIZE) -> np.ndarray:
    """Pool indices of the ``team_size`` distinct experts who classify one galaxy."""
    return rng.choice(len(pool), size=min(team_size, len(pool)), replace=False)


def consensus(votes: np.ndarray, n_experts: int = N_EXPERTS) -> tuple[np.ndarray, np.ndarray]:
    """The catalog's class mode and class mean of :func:`simulate_pool_votes` votes.

    The mode is that of the first ``n_experts`` votes, ties broken by the
    further votes in order (:func:`vote_mode`); the mean is over every vote
    cast, tie-breakers included (LEGUS averages all its classifiers). Rows
    without any vote get mode and mean 0.
    """
    votes = np.asarray(votes, dtype=np.int64)
    cast = (votes > 0).sum(axis=1)
    mode = np.where(cast > 0, vote_mode(votes[:, :n_experts], votes[:, n_experts:]), 0)
    mean = np.divide(votes.sum(axis=1), cast, out=np.zeros(len(votes)), where=cast > 0)
    return mode, mean


def _confuse_rows(
    classes: np.ndarray, keep: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Keep each class with probability ``keep``, else replace it by one drawn from its row of
    confusion probabilities ``rows`` (``classes.shape + (4,)``)."""
    other = 1 + np.sum(rng.random(classes.shape)[..., None] > np.cumsum(rows, axis=-1), axis=-1)
    return np.where(rng.random(classes.shape) < keep, classes, np.minimum(other, 4))


def simulate_pool_votes(
    true_class: np.ndarray,
    rng: np.random.Generator,
    *,
    pool_size: int = POOL_SIZE,
    n_experts: int = N_EXPERTS,
    n_tie_breakers: int = N_TIE_BREAKERS,
    difficulty: np.ndarray | None = None,
    washout: np.ndarray | None = None,
    skill_range: tuple[float, float] = POOL_SKILL_RANGE,
    lean_range: tuple[float, float] = POOL_LEAN_RANGE,
    pool: ExpertPool | None = None,
    team: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, ExpertPool]:
    """Votes of experts drawn from a pool of individuals of different skill and bias, with tie-breakers.

    Each candidate is classified by ``n_experts`` distinct pool members (of
    ``team`` when given: LEGUS galaxies were each classified by a few of the
    team); when their votes tie, up to ``n_tie_breakers`` further members
    vote, one at a time, until the tie is broken (as LEGUS did). Expert e
    votes what the image shows with probability ``sqrt(diag(Fig. 3)) *
    skill_e`` (:data:`POOL_SKILL_RANGE`), otherwise a class from their own
    confusion row (:attr:`ExpertPool.confused`, their personal bias), so some
    experts are markedly more reliable than others and each errs in their own
    direction, as in a real team. ``skill_range=(1, 1)`` and
    ``lean_range=(0, 0)`` give a team of identical experts.

    Parameters
    ----------
    washout : float array (N, 4), optional
        Probability that the shared view is class 4, per true class 1-4
        (:func:`faint_washout` of each candidate's M_V); none when omitted.
    pool : ExpertPool, optional
        The experts; drawn with :func:`draw_pool` (``pool_size``, ``skill_range``, ``lean_range``) when omitted.
    team : int array, optional
        Pool indices of the experts who may classify these candidates (all when omitted).

    Returns
    -------
    votes : int array (N, n_experts + n_tie_breakers)
        Class 1-4 of each vote cast; 0 where a tie-breaker was not needed.
    experts : int array (N, n_experts + n_tie_breakers)
        Pool index of the expert behind each vote; -1 where no vote was cast.
    pool : ExpertPool
    """
    true_class = np.asarray(true_class, dtype=int)
    if np.any((true_class < 1) | (true_class > 4)):
        raise ValueError("true classes must be 1-4")
    if pool is None:
        pool = draw_pool(rng, pool_size, skill_range, lean_range)
    members = np.arange(len(pool)) if team is None else np.asarray(team, dtype=int)
    n, width = len(true_class), n_experts + n_tie_breakers
    if len(members) < width:
        raise ValueError("the pool (or team) must hold at least n_experts + n_tie_breakers experts")
    d = np.full(n, 0.5) if difficulty is None else np.clip(np.asarray(difficulty, float), 0, 1)
    shown = _confuse(true_class, _SHOWN_EASY + (_SHOWN_HARD - _SHOWN_EASY) * d, rng)
    if washout is not None:
        chance = np.asarray(washout, dtype=float)[np.arange(n), true_class - 1]
        shown = np.where(rng.random(n) < chance, 4, shown)
    experts = members[np.argsort(rng.random((n, len(members))), axis=1)[:, :width]]
    own = pool.own(shown[:, None], experts, d[:, None])
    rows = pool.confused[experts, np.repeat(shown[:, None] - 1, width, axis=1)]
    votes = _confuse_rows(np.repeat(shown[:, None], width, axis=1), own, rows, rng)
    counts = np.stack([(votes[:, :n_experts] == c).sum(axis=1) for c in (1, 2, 3, 4)], axis=1)
    for k in range(n_experts, width):
        top = counts.max(axis=1, keepdims=True)
        tied = (counts == top).sum(axis=1) > 1
        votes[~tied, k] = 0
        experts[~tied, k] = -1
        counts[np.flatnonzero(tied), votes[tied, k] - 1] += 1
    return votes, experts, pool


def bayes_posterior(
    votes: np.ndarray,
    experts: np.ndarray,
    pool: ExpertPool,
    difficulty: np.ndarray,
    class_prior: np.ndarray,
    washout: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior of the true class given the votes under this simulator's own model, ``(N, 4)``.

    Knows everything the simulation drew except the truth: each expert's skill
    and bias, each candidate's difficulty and the shared-view mechanism (all
    experts see the same, possibly wrong, class). Its most probable class is
    the best any aggregation of these votes can do (the Bayes classifier), the
    ceiling for the mode, Dawid-Skene or GLAD on :func:`simulate_pool_votes` votes.

    Parameters
    ----------
    votes, experts : int arrays (N, W)
        As :func:`simulate_pool_votes` returns them (0 / -1 where no vote was cast).
    pool : ExpertPool
    difficulty : float array (N,)
    class_prior : float array (4,)
        Frequency of the true classes.
    washout : float array (N, 4), optional
        As given to :func:`simulate_pool_votes`.
    """
    votes = np.asarray(votes, dtype=int)
    d = np.clip(np.asarray(difficulty, dtype=float), 0, 1)
    n, classes = len(votes), np.arange(4)
    keep = _SHOWN_EASY + (_SHOWN_HARD - _SHOWN_EASY) * d
    # P(shown s | true t): (N, t, s)
    shown = (1 - keep)[:, None, None] * _OFF[None]
    shown[:, classes, classes] = keep[:, None]
    if washout is not None:
        w = np.asarray(washout, dtype=float)  # (N, t)
        shown = (1 - w)[:, :, None] * shown
        shown[:, :, 3] += w
    confused = pool.confused
    # P(all votes | shown s): (N, s)
    likelihood = np.ones((n, 4))
    for k in range(votes.shape[1]):
        cast = np.flatnonzero(votes[:, k] > 0)
        if not len(cast):
            continue
        v, member = votes[cast, k] - 1, experts[cast, k]
        own = pool.own(classes[None, :] + 1, member[:, None], d[cast][:, None])  # (n, s)
        p_vote = (1 - own) * confused[member[:, None], classes[None, :], v[:, None]]  # (n, s)
        p_vote[np.arange(len(v)), v] = own[np.arange(len(v)), v]
        likelihood[cast] *= p_vote
    posterior = np.asarray(class_prior, dtype=float)[None, :] * np.einsum("nts,ns->nt", shown, likelihood)
    return posterior / posterior.sum(axis=1, keepdims=True)
