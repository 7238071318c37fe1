"""Inference: class scores of StarcNet for a batch of stamps.

:func:`predict_stamps` subtracts the model's per-band mean, runs the network
in batches without gradients and returns :class:`Predictions`: softmax scores
of the four classes and the summaries the review queue orders by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from astropy.table import Table

from starcnet_core.checkpoint import LoadedModel
from starcnet_core.errors import UserInputError

__all__ = ["Predictions", "predict_stamps"]


@dataclass
class Predictions:
    """Scores ``(N, K)`` (softmax) and per-candidate summaries.

    Attributes
    ----------
    scores : numpy.ndarray
    classes : numpy.ndarray
        Predicted class 1..K.
    confidence : numpy.ndarray
        Highest score.
    margin : numpy.ndarray
        Highest minus second-highest score.
    entropy : numpy.ndarray
        Shannon entropy of the scores (nats).
    """

    scores: np.ndarray

    @property
    def classes(self) -> np.ndarray:
        return self.scores.argmax(axis=1) + 1

    @property
    def confidence(self) -> np.ndarray:
        return self.scores.max(axis=1)

    @property
    def margin(self) -> np.ndarray:
        top = np.sort(self.scores, axis=1)
        return top[:, -1] - top[:, -2]

    @property
    def entropy(self) -> np.ndarray:
        return -np.sum(self.scores * np.log(np.clip(self.scores, 1e-12, None)), axis=1)

    def to_table(self) -> Table:
        """One row per stamp: ``pred_class``, ``p1``..``pK``, ``confidence``, ``margin``, ``entropy``."""
        table = Table({"pred_class": self.classes})
        for k in range(self.scores.shape[1]):
            table[f"p{k + 1}"] = self.scores[:, k]
        table["confidence"], table["margin"], table["entropy"] = self.confidence, self.margin, self.entropy
        return table


def predict_stamps(
    loaded: LoadedModel,
    stamps: np.ndarray,
    *,
    batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Predictions:
    """Class scores of ``stamps`` ``(N, bands, S, S)`` in e-/s under ``loaded``.

    Raises
    ------
    UserInputError
        Empty input, a band count or stamp size the model was not built for, or NaN pixels.
    """
    stamps = np.asarray(stamps, dtype=np.float32)
    config = loaded.config
    if stamps.ndim != 4 or len(stamps) == 0:
        raise UserInputError(f"expected a non-empty (N, bands, S, S) stamp array, got shape {stamps.shape}")
    if stamps.shape[1] != config.n_bands or stamps.shape[2:] != (config.stamp_size, config.stamp_size):
        raise UserInputError(
            f"stamps are {stamps.shape[1:]}, the model expects "
            f"({config.n_bands}, {config.stamp_size}, {config.stamp_size})"
        )
    if np.isnan(stamps).any():
        raise UserInputError(f"{int(np.isnan(stamps).any(axis=(1, 2, 3)).sum())} stamp(s) contain NaN pixels")
    mean = np.asarray(loaded.band_mean, dtype=np.float32).reshape(1, -1, 1, 1)
    loaded.model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(stamps), batch_size):
            batch = torch.from_numpy(stamps[start : start + batch_size] - mean)
            out.append(torch.softmax(loaded.model(batch), dim=1).numpy())
            if progress is not None:
                progress(min(start + batch_size, len(stamps)), len(stamps))
    return Predictions(np.concatenate(out).astype(np.float64))
