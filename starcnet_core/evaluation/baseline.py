"""The bagged decision-tree baseline of Grasha et al. (2019), as re-trained in the paper (section 6).

A scikit-learn ``BaggingClassifier`` of 100 decision trees (Gini impurity,
unlimited depth) on the raw pixels of the central 15x15 pixels of the
F336W, F555W and F814W bands (StarcNet bands U, V and I): a 1x675 vector per
candidate. The training set is augmented by 90, 180 and 270 degree rotations.
:class:`BaggedTreeBaseline` is an estimator (``fit``, ``predict_proba``,
``predict``) on stamps, so that it is evaluated exactly like StarcNet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import BaggingClassifier
from sklearn.tree import DecisionTreeClassifier

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS

__all__ = ["BaggedTreeBaseline", "patch_features"]


def patch_features(
    stamps: np.ndarray, *, bands: Sequence[str] = BANDS, use: Sequence[str] = ("U", "V", "I"), patch: int = 15
) -> np.ndarray:
    """Raw central ``patch`` x ``patch`` pixels of the bands ``use``, flattened: ``(N, len(use) * patch**2)``.

    Parameters
    ----------
    stamps : numpy.ndarray
        ``(N, len(bands), S, S)`` stamps in e-/s.
    bands : sequence of str
        Band order of the stamps.
    use : sequence of str
        Bands fed to the trees (Grasha et al.: F336W, F555W, F814W = U, V, I).
    patch : int
        Side of the central patch in pixels.
    """
    missing = [b for b in use if b not in bands]
    if missing:
        raise UserInputError(
            f"the baseline needs band(s) {', '.join(missing)}; stamps have {', '.join(bands)}"
        )
    size = stamps.shape[-1]
    if patch > size:
        raise UserInputError(f"a {patch}x{patch} patch does not fit in {size}x{size} stamps")
    start = (size - patch) // 2
    channels = [list(bands).index(b) for b in use]
    cut = np.asarray(stamps[:, channels, start : start + patch, start : start + patch], dtype=np.float32)
    return cut.reshape(len(cut), -1)


class BaggedTreeBaseline:
    """Bagged decision trees on central raw pixels, with rotation augmentation.

    Parameters
    ----------
    n_estimators : int
        Trees in the bag (100).
    patch : int
        Side of the central patch in pixels (15).
    use : sequence of str
        Bands fed to the trees (U, V, I).
    rotations : sequence of int
        Quarter turns added to the training set (1, 2, 3: 90, 180, 270 degrees).
    seed : int
        Seeds the bootstrap samples and the trees.
    n_jobs : int, optional
        Parallel jobs of scikit-learn.
    """

    classes_: np.ndarray

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        patch: int = 15,
        use: Sequence[str] = ("U", "V", "I"),
        rotations: Sequence[int] = (1, 2, 3),
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.patch, self.use, self.rotations = patch, tuple(use), tuple(rotations)
        self.classifier = BaggingClassifier(
            DecisionTreeClassifier(criterion="gini"),
            n_estimators=n_estimators,
            random_state=seed,
            n_jobs=n_jobs,
        )

    def _features(self, stamps: np.ndarray, bands: Sequence[str]) -> np.ndarray:
        return patch_features(stamps, bands=bands, use=self.use, patch=self.patch)

    def fit(self, stamps: np.ndarray, labels: np.ndarray, bands: Sequence[str] = BANDS) -> BaggedTreeBaseline:
        """Fit on ``stamps`` ``(N, bands, S, S)`` (e-/s) with classes ``labels`` (1-4) plus their rotations."""
        labels = np.asarray(labels)
        if len(labels) == 0:
            raise UserInputError("no training stamps for the baseline")
        stamps = np.asarray(stamps, dtype=np.float32)
        views = [stamps] + [np.rot90(stamps, k, axes=(-2, -1)) for k in self.rotations]
        features = np.concatenate([self._features(v, bands) for v in views])
        self.classifier.fit(features, np.tile(labels, len(views)))
        self.classes_ = self.classifier.classes_
        return self

    def predict_proba(
        self, stamps: np.ndarray, bands: Sequence[str] = BANDS, classes: Sequence[int] = (1, 2, 3, 4)
    ) -> np.ndarray:
        """Vote fractions ``(N, len(classes))``; a class absent from training scores 0."""
        proba = self.classifier.predict_proba(self._features(np.asarray(stamps), bands))
        out = np.zeros((len(proba), len(classes)))
        for k, cls in enumerate(self.classes_):
            out[:, list(classes).index(int(cls))] = proba[:, k]
        return out

    def predict(self, stamps: np.ndarray, bands: Sequence[str] = BANDS) -> np.ndarray:
        """Most voted class (1-4) per stamp."""
        return np.asarray(self.classes_)[
            self.classifier.predict_proba(self._features(np.asarray(stamps), bands)).argmax(axis=1)
        ]
