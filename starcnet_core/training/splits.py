"""Train / validation / test splits of a labelled stamp set.

Three ways, as a careful comparison with the paper needs (Pérez et al. 2021,
section 4.1): ``random`` is the paper's stratified 72/8/20 split with a fixed
seed; ``galaxy`` keeps whole galaxies together (about 20% of candidates in
test galaxies), which measures how a model transfers to a galaxy it never saw;
``loo`` (leave one galaxy out) tests on one named galaxy; ``train_val`` has
no test set, for callers that hold their test set out themselves (the app's
held-out set), so that no labelled row is left unused. In every case the
validation set is :data:`VALIDATION_SHARE` (10%) of the remaining (train +
validation) candidates, stratified by class, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from starcnet_core.errors import UserInputError

__all__ = ["SPLIT_METHODS", "VALIDATION_SHARE", "Split", "make_split"]

SPLIT_METHODS: tuple[str, ...] = ("random", "galaxy", "loo", "train_val")
_TEST_FRACTION = 0.20
#: Share of the train + validation rows used for validation (choosing the best epoch).
VALIDATION_SHARE = 0.10


@dataclass(frozen=True)
class Split:
    """Row indices of the three sets (sorted, disjoint)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def as_dict(self) -> dict[str, list[int]]:
        return {name: getattr(self, name).tolist() for name in ("train", "val", "test")}


def _stratified(indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    """Split ``indices`` in two, stratified when every class has at least two members."""
    if len(indices) < 2 or round(fraction * len(indices)) == 0:
        return indices, indices[:0]
    _, counts = np.unique(labels, return_counts=True)
    n_small = round(fraction * len(indices))
    stratify = labels if counts.min() >= 2 and n_small >= len(counts) else None
    first, second = train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(first), np.sort(second)


def make_split(
    labels: np.ndarray,
    *,
    method: str = "random",
    seed: int = 0,
    galaxy: np.ndarray | None = None,
    holdout_galaxy: str | None = None,
) -> Split:
    """Split the labelled rows (label > 0) of a stamp set.

    Parameters
    ----------
    labels : numpy.ndarray
        Class per row, 0 for unlabelled rows (never in any set).
    method : {"random", "galaxy", "loo", "train_val"}
        See the module docstring.
    seed : int
        Same seed, same labels: same split.
    galaxy : numpy.ndarray, optional
        Galaxy name per row; needed by ``galaxy`` and ``loo``.
    holdout_galaxy : str, optional
        The test galaxy of ``loo``.

    Returns
    -------
    Split
    """
    labels = np.asarray(labels)
    labelled = np.flatnonzero(labels > 0)
    if len(labelled) < 3:
        raise UserInputError(f"only {len(labelled)} labelled stamps: at least 3 are needed to split")
    if method == "random":
        trainval, test = _stratified(labelled, labels[labelled], _TEST_FRACTION, seed)
    elif method == "train_val":
        trainval, test = labelled, labelled[:0]
    elif method in ("galaxy", "loo"):
        if galaxy is None:
            raise UserInputError(f"split '{method}' needs the galaxy of each stamp")
        names = np.asarray(galaxy).astype(str)[labelled]
        if method == "loo":
            if holdout_galaxy is None or holdout_galaxy not in set(names):
                raise UserInputError(
                    f"leave-one-out needs --holdout-galaxy, one of: {', '.join(sorted(set(names)))}"
                )
            in_test = names == holdout_galaxy
        else:
            if len(set(names)) < 2:
                raise UserInputError("split 'galaxy' needs stamps from at least two galaxies")
            splitter = GroupShuffleSplit(n_splits=1, test_size=_TEST_FRACTION, random_state=seed)
            _, test_rows = next(splitter.split(labelled, groups=names))
            in_test = np.zeros(len(labelled), dtype=bool)
            in_test[test_rows] = True
        trainval, test = labelled[~in_test], labelled[in_test]
    else:
        raise UserInputError(f"unknown split '{method}' (choose from {', '.join(SPLIT_METHODS)})")
    train, val = _stratified(trainval, labels[trainval], VALIDATION_SHARE, seed)
    if len(train) == 0:
        raise UserInputError("the split leaves no training stamps")
    return Split(np.sort(train), np.sort(val), np.sort(test))
