"""MC dropout of StarcNet: stochastic passes of its last layers, and the BALD score they give.

The pathways' dropout (p = 0.5 in the paper's network) is the network's only
random layer, and everything before it is deterministic. So the passes of
MC dropout (Gal & Ghahramani 2016) need the expensive part, the convolutions
and the fully connected layers, once per stamp: each pass only draws the
dropout masks on the pathways' pre-dropout features (the ``(B, n_pathways *
fc_width)`` concatenation of :meth:`~starcnet_core.nn.model.Pathway.hidden`,
which in evaluation mode is exactly what the final layer sees) and applies
the final layer. Every inference backend returns those features with its
logits (:class:`~starcnet_core.nn.backends.Backend`), so
:func:`~starcnet_core.nn.predict.predict_stamps` computes BALD from the same
convolution pass that gives the scores, and quick fine-tuning computes them
from cached convolution maps (:func:`starcnet_core.training.finetune.head_bald`).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from starcnet_core.calibration import apply_temperature
from starcnet_core.errors import UserInputError
from starcnet_core.nn.model import StarcNet
from starcnet_core.scores import mutual_information

__all__ = ["BALD_PASSES", "mc_dropout_probabilities", "mc_dropout_bald"]

#: MC-dropout passes behind each stored BALD score.
BALD_PASSES = 20


def mc_dropout_probabilities(
    model: StarcNet,
    hidden: np.ndarray | torch.Tensor,
    *,
    n_samples: int = BALD_PASSES,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 512,
) -> np.ndarray:
    """Class scores ``(n_samples, N, n_classes)`` of passes with the pathways' dropout active.

    Parameters
    ----------
    model : StarcNet
        Its dropout rate and final layer are used; the model itself is not
        switched to training mode.
    hidden : array
        ``(N, n_pathways * fc_width)`` pre-dropout pathway features.
    n_samples : int
        Passes (at least 1). A network without dropout gives identical passes.
    temperature : float
        The network's calibration temperature; scores are ``softmax(logits / temperature)``.
    seed : int
        The masks are drawn from this seed (without touching the global
        random state), in batches of ``batch_size`` rows: the same seed, rows
        and batch size give the same passes.
    """
    if n_samples < 1:
        raise UserInputError("MC dropout needs at least one pass")
    hidden = torch.as_tensor(
        np.asarray(hidden.cpu() if isinstance(hidden, torch.Tensor) else hidden, np.float32)
    )
    widths = [path.fc.out_features for path in model.pathways]
    if hidden.ndim != 2 or hidden.shape[1] != sum(widths):
        raise ValueError(f"expected (N, {sum(widths)}) pre-dropout features, got shape {tuple(hidden.shape)}")
    # the final layer is tiny: on the CPU, so that the masks are drawn the same wherever the network runs
    head = model.head if model.head.weight.device.type == "cpu" else copy.deepcopy(model.head).cpu()
    out = np.empty((n_samples, len(hidden), model.config.n_classes), np.float64)
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        for start in range(0, len(hidden), batch_size):
            parts = torch.split(hidden[start : start + batch_size], widths, dim=1)
            for s in range(n_samples):
                dropped = torch.cat(
                    [
                        F.dropout(part, path.dropout.p, training=True)
                        for path, part in zip(model.pathways, parts, strict=True)
                    ],
                    1,
                )
                out[s, start : start + len(dropped)] = apply_temperature(head(dropped).numpy(), temperature)
    return out


def mc_dropout_bald(
    model: StarcNet,
    hidden: np.ndarray | torch.Tensor,
    *,
    n_samples: int = BALD_PASSES,
    temperature: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """BALD score ``(N,)`` (nats, >= 0) of pre-dropout features: the mutual information of MC-dropout passes.

    :func:`~starcnet_core.scores.mutual_information` of ``max(2, n_samples)``
    passes of :func:`mc_dropout_probabilities`; deterministic for a given ``seed``.
    """
    if len(hidden) == 0:
        return np.zeros(0)
    passes = mc_dropout_probabilities(
        model, hidden, n_samples=max(2, n_samples), temperature=temperature, seed=seed
    )
    # the mutual information is >= 0; rounding can leave -1e-17
    return np.maximum(mutual_information(passes), 0.0)
