"""Inference: class scores of StarcNet for a batch of stamps.

:func:`predict_stamps` subtracts the model's per-band mean, runs the network
in batches under ``torch.inference_mode`` and returns :class:`Predictions`:
softmax scores of the four classes and the summaries the review queue orders
by. Optional test-time augmentation averages the scores over the 8 rotations
and reflections of each stamp.

The network runs on the backend :func:`~starcnet_core.nn.backends.select_backend`
resolves for ``precision``: ``fp32`` (the published network, bit-reproducible),
``fp32-openvino`` (the same network compiled by OpenVINO), ``bf16`` or
``int8`` (each checked against fp32 on held-out stamps before use; bf16 and
int8 leave their near-ties to fp32), or
``auto`` (the default: the fastest backend that passed its check on this
machine, chosen by a timed probe and recorded). :attr:`Predictions.precision`
says which one produced the scores. ``benchmarks/bench_inference.py``
measures every backend against the published loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from astropy.table import Table

from starcnet_core.errors import UserInputError
from starcnet_core.nn.backends import PRECISIONS, band_mean_tensor, bf16_is_fast, select_backend
from starcnet_core.nn.checkpoint import LoadedModel
from starcnet_core.nn.mc_dropout import mc_dropout_bald
from starcnet_core.scores import score_summaries

__all__ = ["Predictions", "predict_stamps", "PRECISIONS", "bf16_is_fast", "dihedral_views"]


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
    precision : str
        The backend that computed the scores: ``fp32``, ``fp32-openvino``, ``bf16`` or ``int8``.
    engine : str
        What ran that backend: ``torch`` or ``openvino`` (``int8`` runs on either).
    bald : numpy.ndarray or None
        BALD score of each stamp (nats) when MC-dropout passes were asked for, else None.
    in_fp32 : numpy.ndarray or None
        For ``bf16`` and ``int8``: which stamps were near-ties that fp32 scored
        instead (bool), else None.
    """

    scores: np.ndarray
    precision: str = "fp32"
    engine: str = "torch"
    bald: np.ndarray | None = None
    in_fp32: np.ndarray | None = None

    @property
    def summaries(self) -> dict[str, np.ndarray]:
        """:func:`starcnet_core.scores.score_summaries` of the scores."""
        return score_summaries(self.scores)

    @property
    def classes(self) -> np.ndarray:
        return self.summaries["predicted_class"]

    @property
    def confidence(self) -> np.ndarray:
        return self.summaries["confidence"]

    @property
    def margin(self) -> np.ndarray:
        return self.summaries["margin"]

    @property
    def entropy(self) -> np.ndarray:
        return self.summaries["entropy"]

    def to_table(self) -> Table:
        """One row per stamp: ``pred_class``, ``p1``..``pK``, ``confidence``, ``margin``, ``entropy``, ``precision``, ``engine``.

        ``precision`` and ``engine`` are those that scored the row (:meth:`row_precision`).
        """
        summaries = self.summaries
        table = Table({"pred_class": summaries["predicted_class"]})
        for k in range(self.scores.shape[1]):
            table[f"p{k + 1}"] = self.scores[:, k]
        for name in ("confidence", "margin", "entropy"):
            table[name] = summaries[name]
        table["precision"], table["engine"] = self.row_precision()
        return table

    def row_precision(self) -> tuple[np.ndarray, np.ndarray]:
        """The precision and the engine that scored each row (str arrays).

        The backend's own, except ``fp32`` on ``torch`` for the near-ties of a
        reduced precision (:attr:`in_fp32`).
        """
        in_fp32 = np.zeros(len(self.scores), bool) if self.in_fp32 is None else self.in_fp32
        return np.where(in_fp32, "fp32", self.precision), np.where(in_fp32, "torch", self.engine)


def dihedral_views(batch: torch.Tensor) -> list[torch.Tensor]:
    """The 8 rotations (0, 90, 180, 270 degrees) of ``batch`` and of its left-right mirror."""
    mirrored = torch.flip(batch, dims=(-1,))
    return [torch.rot90(view, k, dims=(-2, -1)) for view in (batch, mirrored) for k in range(4)]


def _check_stamps(loaded: LoadedModel, stamps: np.ndarray) -> np.ndarray:
    stamps = np.asarray(stamps, dtype=np.float32)
    config = loaded.config
    if stamps.ndim != 4 or len(stamps) == 0:
        raise UserInputError(f"expected a non-empty (N, bands, S, S) stamp array, got shape {stamps.shape}")
    if stamps.shape[1] != config.n_bands or stamps.shape[2:] != (config.stamp_size, config.stamp_size):
        raise UserInputError(
            f"stamps are {stamps.shape[1:]} (bands, rows, cols), but the model expects "
            f"({config.n_bands}, {config.stamp_size}, {config.stamp_size})"
        )
    bad = ~np.isfinite(stamps).all(axis=(1, 2, 3))
    if bad.any():
        first = np.flatnonzero(bad)[:5].tolist()
        raise UserInputError(f"{int(bad.sum())} stamp(s) contain NaN or infinite pixels (rows {first}...)")
    return stamps


def predict_stamps(
    loaded: LoadedModel,
    stamps: np.ndarray,
    *,
    batch_size: int = 128,
    tta: bool = False,
    precision: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    bald_passes: int = 0,
) -> Predictions:
    """Class scores of ``stamps`` under ``loaded``.

    Parameters
    ----------
    loaded : LoadedModel
    stamps : numpy.ndarray
        ``(N, bands, S, S)`` in e-/s, band order ``loaded.bands``.
    batch_size : int
        Stamps per forward pass; 128 keeps the bf16 activations of each of
        two CPU threads' share of a batch in cache (measured faster than 256);
        eager fp32 runs each batch in parts of
        :data:`~starcnet_core.nn.backends.FP32_PART`, with the same bits.
    tta : bool
        Average the softmax scores over the 8 rotations/reflections (8x the work).
        Each view's near-ties go to fp32 as without it; :attr:`Predictions.in_fp32`
        says which stamps as given were.
    precision : {"auto", "fp32", "fp32-openvino", "bf16", "int8"}
        See :func:`~starcnet_core.nn.backends.select_backend`; ``fp32`` is
        the published network, bit-reproducible for the same batches.
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch.
    bald_passes : int
        With ``n > 0``, also the BALD score of each stamp
        (:attr:`Predictions.bald`): ``n`` MC-dropout passes of the final
        layers (:func:`~starcnet_core.nn.mc_dropout.mc_dropout_bald`, seed 0,
        under the model's temperature) from the pre-dropout features of the
        same backend pass that gives the scores, so BALD costs no second pass
        of the convolutions. With ``tta``, BALD is of the stamps as given.

    Raises
    ------
    UserInputError
        Empty input, a band count or stamp size the model was not built for,
        NaN or infinite pixels, or an unknown ``precision``.
    """
    if precision not in PRECISIONS:
        raise UserInputError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    stamps = _check_stamps(loaded, stamps)
    model = loaded.model.eval()
    device = next(model.parameters()).device
    backend = select_backend(loaded, stamps, precision, device=device)
    mean = band_mean_tensor(loaded, device)
    out, hidden, in_fp32 = [], [], []
    with torch.inference_mode():
        for start in range(0, len(stamps), batch_size):
            # A copy: the stamps may be a read-only memory map.
            batch = torch.from_numpy(np.array(stamps[start : start + batch_size])).to(device) - mean
            features, near = backend.features(batch)
            if near is not None:
                in_fp32.append(near.cpu().numpy())
            if bald_passes > 0:
                hidden.append(features.cpu().numpy())
            logits = [backend.head(features)]
            if tta:  # the first view is the batch itself
                logits += [backend.logits(v).float() for v in dihedral_views(batch)[1:]]
            scores = torch.stack([torch.softmax(x / loaded.temperature, dim=1) for x in logits])
            out.append(scores.mean(dim=0).cpu().numpy())
            if progress is not None:
                progress(min(start + batch_size, len(stamps)), len(stamps))
    bald = None
    if bald_passes > 0:
        bald = mc_dropout_bald(
            model,
            np.concatenate(hidden),
            n_samples=bald_passes,
            temperature=loaded.temperature,
        )
    return Predictions(
        np.concatenate(out).astype(np.float64),
        precision=backend.precision,
        engine=backend.engine,
        bald=bald,
        in_fp32=np.concatenate(in_fp32) if in_fp32 else None,
    )
