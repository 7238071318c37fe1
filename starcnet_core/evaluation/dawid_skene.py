"""Expert-weighted consensus: the Dawid & Skene (1979) model of who is right how often.

The mode of the votes weighs a careful expert and a hasty one the same.
Dawid-Skene gives each expert a confusion matrix (the probability that they
vote class j when the candidate is of class k) and each candidate a posterior
over its true class, and fits both by expectation-maximisation, starting from
the vote counts. The raw votes are never replaced: this is a second reading
of them, shown beside the mode and selectable as a training label set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starcnet_core.errors import UserInputError

__all__ = ["DawidSkene", "dawid_skene"]

# Dirichlet pseudo-counts that keep an expert's unseen (true, voted) cells and a
# class nobody voted for away from exactly zero probability.
_CONFUSION_PRIOR = 0.5
_CLASS_PRIOR = 1.0


@dataclass(frozen=True)
class DawidSkene:
    """A fitted Dawid-Skene model.

    Attributes
    ----------
    items : numpy.ndarray
        The distinct item (candidate) ids, sorted.
    posterior : numpy.ndarray
        ``(n_items, K)`` probability of each true class 1..K.
    workers : numpy.ndarray
        The distinct worker (expert) ids, sorted.
    confusion : numpy.ndarray
        ``(n_workers, K, K)``: row k is the probability of each vote given true class k.
    labels_per_class : numpy.ndarray
        ``(n_workers, K)``: expected number of each worker's votes on items of true class k
        (the evidence behind row k of their confusion matrix).
    class_prior : numpy.ndarray
        ``(K,)`` fitted class frequencies.
    iterations : int
        EM iterations run.
    """

    items: np.ndarray
    posterior: np.ndarray
    workers: np.ndarray
    confusion: np.ndarray
    labels_per_class: np.ndarray
    class_prior: np.ndarray
    iterations: int

    @property
    def consensus(self) -> np.ndarray:
        """The most probable true class (1..K) of each item."""
        return self.posterior.argmax(axis=1) + 1

    @property
    def accuracy_per_class(self) -> np.ndarray:
        """``(n_workers, K)``: each worker's probability of voting class k for a class-k item."""
        return np.diagonal(self.confusion, axis1=1, axis2=2).copy()


def dawid_skene(
    items: np.ndarray,
    workers: np.ndarray,
    votes: np.ndarray,
    *,
    n_classes: int = 4,
    max_iter: int = 500,
    tol: float = 1e-6,
) -> DawidSkene:
    """Fit the Dawid-Skene model to votes given as parallel arrays.

    Parameters
    ----------
    items, workers : numpy.ndarray
        Item (candidate) and worker (expert) id of each vote; any integers.
    votes : numpy.ndarray
        The class voted, 1..``n_classes``.
    n_classes : int
    max_iter : int
        EM iterations at most.
    tol : float
        Stop when no posterior moves by more than this.

    Returns
    -------
    DawidSkene

    Raises
    ------
    UserInputError
        Arrays of different lengths, no votes, or a class outside 1..``n_classes``.
    """
    items, workers, votes = (np.asarray(a).ravel() for a in (items, workers, votes))
    if not len(items) == len(workers) == len(votes):
        raise UserInputError("items, workers and votes must have the same length")
    if len(votes) == 0:
        raise UserInputError("no votes to fit")
    votes = votes.astype(np.int64)
    if votes.min() < 1 or votes.max() > n_classes:
        raise UserInputError(f"votes must be classes 1..{n_classes}")
    item_ids, item = np.unique(items, return_inverse=True)
    worker_ids, worker = np.unique(workers, return_inverse=True)
    vote = votes - 1
    n_items, n_workers, k = len(item_ids), len(worker_ids), n_classes

    # start from the normalised vote counts (the soft mode)
    posterior = np.zeros((n_items, k))
    np.add.at(posterior, (item, vote), 1.0)
    posterior /= posterior.sum(axis=1, keepdims=True)
    iterations, change = 0, np.inf
    while iterations < max_iter and change >= tol:
        iterations += 1
        # M-step: class prior and each worker's confusion from the current posteriors
        prior = posterior.sum(axis=0) + _CLASS_PRIOR
        prior /= prior.sum()
        counts = np.full((n_workers, k, k), _CONFUSION_PRIOR / k)
        np.add.at(counts, (worker, slice(None), vote), posterior[item])
        confusion = counts / counts.sum(axis=2, keepdims=True)
        # E-step: posterior of each item's true class given all its votes
        log_post = np.tile(np.log(prior), (n_items, 1))
        np.add.at(log_post, item, np.log(confusion[worker, :, vote]))
        log_post -= log_post.max(axis=1, keepdims=True)
        updated = np.exp(log_post)
        updated /= updated.sum(axis=1, keepdims=True)
        change = float(np.abs(updated - posterior).max())
        posterior = updated
    per_class = np.zeros((n_workers, k))
    np.add.at(per_class, worker, posterior[item])
    return DawidSkene(item_ids, posterior, worker_ids, confusion, per_class, prior, iterations)
