"""Inference: class scores of StarcNet for a batch of stamps.

:func:`predict_stamps` subtracts the model's per-band mean, runs the network
in batches under ``torch.inference_mode`` and returns :class:`Predictions`:
softmax scores of the four classes and the summaries the review queue orders
by. Optional test-time augmentation averages the scores over the 8 rotations
and reflections of each stamp.

Speed on CPUs: with ``precision="auto"`` (the default) the convolution
stacks, which hold more than 99% of the arithmetic, run in bfloat16 in
channels-last layout whenever oneDNN has native bf16 kernels (AVX512-BF16 or
AMX CPUs, and CUDA): weights cast once per call, GroupNorm on the bf16 maps
with float32 statistics and affine parameters, LeakyReLU in place. The
32768-input fully connected layers, the normalisation after them and the final
layer stay in float32, so only the convolution stack is rounded.
``benchmarks/bench_inference.py`` measures the gain and the agreement of
classes with the plain float32 network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from astropy.table import Table
from torch import nn

from starcnet_core.errors import UserInputError
from starcnet_core.nn.checkpoint import LoadedModel
from starcnet_core.nn.model import StarcNet
from starcnet_core.scores import score_summaries

__all__ = ["Predictions", "predict_stamps", "PRECISIONS", "bf16_is_fast", "dihedral_views"]

#: Accepted ``precision`` values of :func:`predict_stamps`.
PRECISIONS = ("auto", "fp32", "bf16")


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
        """One row per stamp: ``pred_class``, ``p1``..``pK``, ``confidence``, ``margin``, ``entropy``."""
        summaries = self.summaries
        table = Table({"pred_class": summaries["predicted_class"]})
        for k in range(self.scores.shape[1]):
            table[f"p{k + 1}"] = self.scores[:, k]
        for name in ("confidence", "margin", "entropy"):
            table[name] = summaries[name]
        return table


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """Whether ``device`` has native bfloat16 matrix kernels (else bf16 would be emulated, slower)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def dihedral_views(batch: torch.Tensor) -> list[torch.Tensor]:
    """The 8 rotations (0, 90, 180, 270 degrees) of ``batch`` and of its left-right mirror."""
    mirrored = torch.flip(batch, dims=(-1,))
    return [torch.rot90(view, k, dims=(-2, -1)) for view in (batch, mirrored) for k in range(4)]


def _bf16_stacks(model: StarcNet) -> list[list[tuple | nn.Module]]:
    """Each pathway's layers with convolution weights cast once to bf16, channels-last.

    Casting here, once per call, rather than under autocast (which casts every
    weight again for every batch) and running GroupNorm on the bf16 maps with
    its float32 affine parameters removes the layout and dtype copies that
    otherwise cost a third of the time next to the convolutions.
    """
    stacks = []
    for path in model.pathways:
        layers: list[tuple | nn.Module] = []
        for layer in path.features:
            if not isinstance(layer, nn.Sequential):
                layers.append(layer)
                continue
            conv, norm, act = layer
            weight = conv.weight.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
            layers.append((weight, conv.bias.to(torch.bfloat16), conv.padding, norm, act.negative_slope))
        stacks.append(layers)
    return stacks


def _bf16_logits(model: StarcNet, stacks: list, batch: torch.Tensor) -> torch.Tensor:
    features = []
    for path, layers, view in zip(model.pathways, stacks, model.pathway_inputs(batch), strict=True):
        maps = view.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        for layer in layers:
            if isinstance(layer, nn.Module):
                maps = layer(maps)
                continue
            weight, bias, padding, norm, slope = layer
            maps = F.conv2d(maps, weight, bias, padding=padding)
            maps = F.leaky_relu_(F.group_norm(maps, norm.num_groups, norm.weight, norm.bias, norm.eps), slope)
        features.append(path.embed(maps.float()))
    return model.head(torch.cat(features, dim=1))


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
) -> Predictions:
    """Class scores of ``stamps`` under ``loaded``.

    Parameters
    ----------
    loaded : LoadedModel
    stamps : numpy.ndarray
        ``(N, bands, S, S)`` in e-/s, band order ``loaded.bands``.
    batch_size : int
        Stamps per forward pass; 128 keeps the bf16 activations of each of
        two CPU threads' share of a batch in cache (measured faster than 256).
    tta : bool
        Average the softmax scores over the 8 rotations/reflections (8x the work).
    precision : {"auto", "fp32", "bf16"}
        ``auto`` uses bf16 convolutions where the device runs them natively.
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch.

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
    bf16 = precision == "bf16" or (precision == "auto" and bf16_is_fast(device))
    mean = torch.as_tensor(np.asarray(loaded.band_mean, dtype=np.float32).reshape(1, -1, 1, 1), device=device)
    out = []
    with torch.inference_mode():
        stacks = _bf16_stacks(model) if bf16 else None
        for start in range(0, len(stamps), batch_size):
            # A copy: the stamps may be a read-only memory map.
            batch = torch.from_numpy(np.array(stamps[start : start + batch_size])).to(device) - mean
            views = dihedral_views(batch) if tta else [batch]
            logits = [_bf16_logits(model, stacks, v) if bf16 else model(v) for v in views]
            scores = torch.stack([torch.softmax(x.float() / loaded.temperature, dim=1) for x in logits])
            out.append(scores.mean(dim=0).cpu().numpy())
            if progress is not None:
                progress(min(start + batch_size, len(stamps)), len(stamps))
    return Predictions(np.concatenate(out).astype(np.float64))
