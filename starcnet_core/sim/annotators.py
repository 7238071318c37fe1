"""Simulated human classifiers: votes, their mode (ties broken by further votes) and mean.

Experts looking at one candidate share what the image shows: with a
probability that falls as the source gets harder (fainter, more crowded) they
all see something other than its true class, drawn from the paper's
classifier-vs-classifier confusion (Fig. 3, left). Each expert then votes for
what they see with a class-dependent probability, or for a confused class.
The defaults give ~57% agreement between two experts and ~75-80% between the
three-expert mode and the truth, as in the paper.
"""

from __future__ import annotations

import numpy as np

from starcnet_core.sim.calibration import EXPERT_CONFUSION

__all__ = ["bayes_posterior", "simulate_pool_votes", "simulate_votes", "vote_mode"]

#: Spread of individual skill in a pool of experts: each expert's probability of
#: voting what they see is the pool's times a factor drawn uniformly in this range
#: (LEGUS had more than ten classifiers with "personal biases", paper section 2.1).
POOL_SKILL_RANGE: tuple[float, float] = (0.6, 1.5)

# Probability that the image shows the true class, for an easy (0) and a
# hopeless (1) candidate.
_SHOWN_EASY, _SHOWN_HARD = 0.97, 0.75
# Off-diagonal confusion, each row normalised: where a confused eye goes.
_OFF = EXPERT_CONFUSION * (1 - np.eye(4))
_OFF /= _OFF.sum(axis=1, keepdims=True)
# An expert agrees with the shown class with probability sqrt(diagonal), so that
# two experts agree about as often as the diagonal of Fig. 3 says.
_OWN = np.sqrt(np.diag(EXPERT_CONFUSION)) - 0.02


def _confuse(classes: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep each class with probability ``keep``, else replace it by a confused one."""
    cum = np.cumsum(_OFF[classes - 1], axis=-1)
    other = 1 + np.sum(rng.random(classes.shape)[..., None] > cum, axis=-1)
    return np.where(rng.random(classes.shape) < keep, classes, np.minimum(other, 4))


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


def simulate_votes(
    true_class: np.ndarray,
    rng: np.random.Generator,
    n_experts: int = 3,
    difficulty: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Votes of ``n_experts`` simulated classifiers on each candidate.

    Parameters
    ----------
    true_class : int array (N,)
        True classes 1-4.
    rng : numpy.random.Generator
    n_experts : int
        Experts per candidate (LEGUS: at least 3).
    difficulty : float array (N,), optional
        0 (bright, isolated) to 1 (at the detection limit, crowded); 0.5 when omitted.

    Returns
    -------
    votes : int array (N, n_experts)
        Each expert's class.
    mode : int array (N,)
        The class mode, ties broken by further votes.
    mean : float array (N,)
        The mean of every vote cast: the experts' and the tie-breakers' (LEGUS
        averages all its classifiers, the extra ones included).
    """
    true_class = np.asarray(true_class, dtype=int)
    if n_experts < 1:
        raise ValueError("n_experts must be at least 1")
    if np.any((true_class < 1) | (true_class > 4)):
        raise ValueError("true classes must be 1-4")
    d = np.full(len(true_class), 0.5) if difficulty is None else np.clip(np.asarray(difficulty, float), 0, 1)
    shown = _confuse(true_class, _SHOWN_EASY + (_SHOWN_HARD - _SHOWN_EASY) * d, rng)
    own = np.clip(_OWN[shown - 1] * (1.08 - 0.16 * d), 0.0, 1.0)
    votes = _confuse(np.repeat(shown[:, None], n_experts, axis=1), own[:, None], rng)
    tie_votes = _confuse(np.repeat(shown[:, None], 8, axis=1), own[:, None], rng)
    mode, used = _mode_and_tie_votes(votes, tie_votes)
    cast = np.arange(tie_votes.shape[1])[None, :] < used[:, None]
    mean = (votes.sum(axis=1) + np.sum(tie_votes * cast, axis=1)) / (n_experts + used)
    return votes, mode, mean


def simulate_pool_votes(
    true_class: np.ndarray,
    rng: np.random.Generator,
    *,
    pool_size: int = 12,
    n_experts: int = 3,
    n_tie_breakers: int = 2,
    difficulty: np.ndarray | None = None,
    skill_range: tuple[float, float] = POOL_SKILL_RANGE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Votes of experts drawn from a pool of individuals of different skill, with tie-breakers.

    Each candidate is classified by ``n_experts`` distinct pool members; when
    their votes tie, up to ``n_tie_breakers`` further members vote, one at a
    time, until the tie is broken (as LEGUS did). Expert e votes what the image
    shows with probability ``sqrt(diag(Fig. 3)) * skill_e`` (see
    :data:`POOL_SKILL_RANGE`), so some experts are markedly more reliable than
    others, as in a real team. ``skill_range=(1, 1)`` gives a team of
    identical experts.

    Returns
    -------
    votes : int array (N, n_experts + n_tie_breakers)
        Class 1-4 of each vote cast; 0 where a tie-breaker was not needed.
    experts : int array (N, n_experts + n_tie_breakers)
        Pool index of the expert behind each vote; -1 where no vote was cast.
    skill : float array (pool_size,)
        Each pool member's skill factor.
    """
    true_class = np.asarray(true_class, dtype=int)
    n, width = len(true_class), n_experts + n_tie_breakers
    if pool_size < width:
        raise ValueError("the pool must hold at least n_experts + n_tie_breakers experts")
    skill = rng.uniform(*skill_range, pool_size)
    d = np.full(n, 0.5) if difficulty is None else np.clip(np.asarray(difficulty, float), 0, 1)
    shown = _confuse(true_class, _SHOWN_EASY + (_SHOWN_HARD - _SHOWN_EASY) * d, rng)
    experts = np.argsort(rng.random((n, pool_size)), axis=1)[:, :width]
    own = np.clip(_OWN[shown - 1][:, None] * skill[experts] * (1.08 - 0.16 * d)[:, None], 0.0, 1.0)
    votes = _confuse(np.repeat(shown[:, None], width, axis=1), own, rng)
    counts = np.stack([(votes[:, :n_experts] == c).sum(axis=1) for c in (1, 2, 3, 4)], axis=1)
    for k in range(n_experts, width):
        top = counts.max(axis=1, keepdims=True)
        tied = (counts == top).sum(axis=1) > 1
        votes[~tied, k] = 0
        experts[~tied, k] = -1
        counts[np.flatnonzero(tied), votes[tied, k] - 1] += 1
    return votes, experts, skill


def bayes_posterior(
    votes: np.ndarray,
    experts: np.ndarray,
    skill: np.ndarray,
    difficulty: np.ndarray,
    class_prior: np.ndarray,
) -> np.ndarray:
    """Posterior of the true class given the votes under this simulator's own model, ``(N, 4)``.

    Knows everything the simulation drew except the truth: each expert's skill,
    each candidate's difficulty and the shared-view mechanism (all experts see
    the same, possibly wrong, class). Its most probable class is the best any
    aggregation of these votes can do (the Bayes classifier), the ceiling for
    the mode, Dawid-Skene or GLAD on :func:`simulate_pool_votes` votes.

    Parameters
    ----------
    votes, experts : int arrays (N, W)
        As :func:`simulate_pool_votes` returns them (0 / -1 where no vote was cast).
    skill : float array (pool_size,)
    difficulty : float array (N,)
    class_prior : float array (4,)
        Frequency of the true classes.
    """
    votes = np.asarray(votes, dtype=int)
    d = np.clip(np.asarray(difficulty, dtype=float), 0, 1)
    n, classes = len(votes), np.arange(4)
    keep = _SHOWN_EASY + (_SHOWN_HARD - _SHOWN_EASY) * d
    # P(shown s | true t): (N, t, s)
    shown = (1 - keep)[:, None, None] * _OFF[None]
    shown[:, classes, classes] = keep[:, None]
    # P(all votes | shown s): (N, s)
    likelihood = np.ones((n, 4))
    for k in range(votes.shape[1]):
        cast = votes[:, k] > 0
        if not cast.any():
            continue
        v = votes[cast, k] - 1
        own = np.clip(
            _OWN[None, :] * skill[experts[cast, k]][:, None] * (1.08 - 0.16 * d[cast])[:, None], 0.0, 1.0
        )
        p_vote = (1 - own) * _OFF[:, v].T
        p_vote[np.arange(len(v)), v] = own[np.arange(len(v)), v]
        likelihood[cast] *= p_vote
    posterior = np.asarray(class_prior, dtype=float)[None, :] * np.einsum("nts,ns->nt", shown, likelihood)
    return posterior / posterior.sum(axis=1, keepdims=True)
