"""Saving and loading StarcNet networks with everything needed to use them.

A checkpoint holds the network weights, its :class:`~starcnet_core.nn.model.StarcNetConfig`,
the per-band mean (e-/s) subtracted from input stamps, the band order, the
class names and provenance (fingerprint of the training labels, metrics).
:func:`save_checkpoint` writes it atomically (to a temporary file in the same
directory, fsynced, then renamed), so a crash never leaves a half-written
checkpoint under the final name. :func:`load_model` reads it back as a
:class:`LoadedModel` in eval mode.

:func:`load_model` also accepts the published ``starcnet.pth`` (Pérez et al.
2021): a bare state dict with one flat attribute per layer (``conv1``,
``bn1``, ... ``fc1``, ``bn13`` for pathway 1, the same prefixed ``a`` and
``aa`` for pathways 2 and 3, ``fc2`` for the final layer).
:func:`from_published_state` and :func:`to_published_state` translate between
that layout and :class:`~starcnet_core.nn.model.StarcNet`'s. Every file is read
with ``torch.load(weights_only=True)``, so a pickle that would run code is
refused rather than executed.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from starcnet_core.atomic_write import atomic_path
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS, CLASS_NAMES
from starcnet_core.nn.model import StarcNet, StarcNetConfig

__all__ = [
    "LoadedModel",
    "save_checkpoint",
    "calibration_sample",
    "CALIBRATION_STAMPS",
    "load_model",
    "from_published_state",
    "to_published_state",
    "PUBLISHED_BAND_MEAN_FILES",
]

_FORMAT = "starcnet-studio-checkpoint-1"
#: Training stamps stored with a checkpoint for int8 calibration (5 x 32 x 32 float32: 1.3 MB for 64).
CALIBRATION_STAMPS = 64

#: Names of the published per-band mean file looked for next to a published ``.pth``.
PUBLISHED_BAND_MEAN_FILES = ("band_mean.npy", "mean.npy")

# The published network names its seven conv modules by their position in an
# older, longer design; module i of a pathway is conv/bn _PUBLISHED_CONVS[i].
_PUBLISHED_CONVS = (1, 3, 4, 7, 8, 11, 12)
_PUBLISHED_PREFIXES = ("", "a", "aa")
_PUBLISHED_FC_NORM = 13


def _published_names(config: StarcNetConfig) -> dict[str, str]:
    """Our module name -> published module name, for the paper's configuration only."""
    if config.depth != len(_PUBLISHED_CONVS) or len(config.crops) + 1 != len(_PUBLISHED_PREFIXES):
        raise UserInputError(
            "the published StarcNet layout exists only for the paper's network "
            f"(3 pathways of {len(_PUBLISHED_CONVS)} conv modules)"
        )
    names = {"head": "fc2"}
    for p, prefix in enumerate(_PUBLISHED_PREFIXES):
        # Sequential indices shift by one after the max-pool.
        for i, number in enumerate(_PUBLISHED_CONVS):
            index = i if i < config.pool_after else i + 1
            names[f"pathways.{p}.features.{index}.0"] = f"{prefix}conv{number}"
            names[f"pathways.{p}.features.{index}.1"] = f"{prefix}bn{number}"
        names[f"pathways.{p}.fc"] = f"{prefix}fc1"
        names[f"pathways.{p}.fc_norm"] = f"{prefix}bn{_PUBLISHED_FC_NORM}"
    return names


def _rename(state: dict[str, torch.Tensor], names: dict[str, str]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        module, _, parameter = key.rpartition(".")
        if module not in names:
            raise UserInputError(f"unexpected parameter {key!r} in the state dict")
        out[f"{names[module]}.{parameter}"] = value
    return out


def to_published_state(model: StarcNet) -> dict[str, torch.Tensor]:
    """``model``'s weights under the published ``starcnet.pth`` key names."""
    return _rename(model.state_dict(), _published_names(model.config))


def from_published_state(state: dict[str, torch.Tensor]) -> StarcNet:
    """A paper-configuration :class:`StarcNet` holding a published-layout state dict.

    Raises
    ------
    UserInputError
        Missing or unexpected keys, or tensors of the wrong shape.
    """
    # Weights saved from nn.DataParallel carry a "module." prefix.
    state = {k.removeprefix("module."): v for k, v in state.items()}
    config = StarcNetConfig()
    names = {theirs: ours for ours, theirs in _published_names(config).items()}
    model = StarcNet(config)
    try:
        model.load_state_dict(_rename(state, names))
    except RuntimeError as error:
        raise UserInputError(f"published state dict does not fit StarcNet: {error}") from error
    return model


@dataclass
class LoadedModel:
    """A network ready for inference and what its inputs must look like.

    Attributes
    ----------
    model : StarcNet
        In eval mode.
    config : StarcNetConfig
    band_mean : numpy.ndarray
        ``(n_bands,)`` per-band mean in e-/s subtracted from stamps.
    bands : tuple of str
        Band order of the input stamps.
    class_names : tuple of str
    meta : dict
        Provenance stored with the checkpoint (label fingerprint, metrics, extra).
    temperature : float
        Logits are divided by it before the softmax (temperature scaling fitted on
        the validation set when the network was trained; 1.0: uncalibrated).
    calibration_stamps : numpy.ndarray or None
        ``(M, bands, S, S)`` training stamps in e-/s stored with the network
        (:data:`CALIBRATION_STAMPS` of them, a seeded sample of its training
        rows), on which its int8 backend calibrates its activation ranges, so
        that int8 is the same in every process; None for networks without them.
    """

    model: StarcNet
    config: StarcNetConfig
    band_mean: np.ndarray
    bands: tuple[str, ...] = BANDS
    class_names: tuple[str, ...] = tuple(CLASS_NAMES.values())
    meta: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    calibration_stamps: np.ndarray | None = None

    @classmethod
    def from_model(
        cls,
        model: StarcNet,
        band_mean: np.ndarray,
        bands: Sequence[str] = BANDS,
        temperature: float = 1.0,
        calibration_stamps: np.ndarray | None = None,
    ) -> LoadedModel:
        """Wrap a network already in memory (e.g. just trained)."""
        mean = np.asarray(band_mean, dtype=np.float32)
        stamps = None if calibration_stamps is None else np.asarray(calibration_stamps, dtype=np.float32)
        return cls(
            model.eval(),
            model.config,
            mean,
            tuple(bands),
            temperature=float(temperature),
            calibration_stamps=stamps,
        )


def save_checkpoint(
    path: str | os.PathLike,
    model: StarcNet,
    *,
    band_mean: np.ndarray,
    bands: Sequence[str] = BANDS,
    class_names: Sequence[str] = tuple(CLASS_NAMES.values()),
    label_fingerprint: str | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    temperature: float = 1.0,
    calibration_stamps: np.ndarray | None = None,
) -> Path:
    """Write ``model``, its input description and its calibration temperature to ``path`` atomically.

    ``calibration_stamps`` (e-/s, normally :func:`calibration_sample` of the
    training stamps) are stored with the weights for the int8 backend.
    Returns the path.
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise UserInputError(f"temperature must be a positive number, not {temperature!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "band_mean": np.asarray(band_mean, dtype=np.float32).tolist(),
        "bands": list(bands),
        "class_names": list(class_names),
        "temperature": float(temperature),
        "meta": {"label_fingerprint": label_fingerprint, "metrics": metrics or {}, "extra": extra or {}},
    }
    if calibration_stamps is not None:
        payload["calibration_stamps"] = torch.from_numpy(
            np.ascontiguousarray(calibration_stamps, dtype=np.float32)
        )
    with atomic_path(target) as staging:
        torch.save(payload, staging)
    return target


def _is_published_state(payload: object) -> bool:
    return (
        isinstance(payload, dict)
        and bool(payload)
        and all(isinstance(v, torch.Tensor) for v in payload.values())
        and any(str(k).removeprefix("module.").startswith("fc2.") for k in payload)
    )


def _published_band_mean(source: Path, band_mean: np.ndarray | None) -> np.ndarray:
    if band_mean is None:
        found = [source.parent / name for name in PUBLISHED_BAND_MEAN_FILES]
        found = [candidate for candidate in found if candidate.is_file()]
        if not found:
            raise UserInputError(
                f"{source}: published weights need their per-band mean; put "
                f"{PUBLISHED_BAND_MEAN_FILES[0]} next to the file or pass it explicitly"
            )
        band_mean = np.load(found[0], allow_pickle=False)
    mean = np.asarray(band_mean, dtype=np.float32).ravel()
    if mean.shape != (len(BANDS),):
        raise UserInputError(f"band mean must have {len(BANDS)} values, got {mean.shape}")
    return mean


def load_model(path: str | os.PathLike, *, band_mean: np.ndarray | None = None) -> LoadedModel:
    """Read a checkpoint as a :class:`LoadedModel` in eval mode.

    Parameters
    ----------
    path : path-like
        A file written by :func:`save_checkpoint`, or the published ``starcnet.pth``.
    band_mean : numpy.ndarray, optional
        Per-band mean (e-/s) for published weights, which do not store it; by
        default read from ``band_mean.npy`` or ``mean.npy`` next to ``path``.
        Ignored for our checkpoints, which carry their own.

    Raises
    ------
    UserInputError
        A missing, corrupt, non-weights-only or foreign file.
    """
    source = Path(path)
    if not source.is_file():
        raise UserInputError(f"{source}: no such checkpoint")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch reports both a foreign pickle and a corrupt file as UnpicklingError.
        if "unsupported global" not in str(error).lower():
            raise UserInputError(f"{source}: not a readable checkpoint ({error})") from error
        raise UserInputError(
            f"{source}: refused, the file holds Python objects other than weights "
            "(only weights-only checkpoints are loaded, since unpickling can run code)"
        ) from error
    except Exception as error:  # torch raises many types for a corrupt file
        raise UserInputError(f"{source}: not a readable checkpoint ({type(error).__name__})") from error
    if _is_published_state(payload):
        model = from_published_state(payload)
        mean = _published_band_mean(source, band_mean)
        return LoadedModel(model.eval(), model.config, mean, meta={"source": "published"})
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise UserInputError(f"{source}: not a StarcNet Studio checkpoint")
    try:
        config = StarcNetConfig.from_dict(payload["config"])
    except (KeyError, TypeError) as error:
        raise UserInputError(f"{source}: damaged checkpoint (config: {error})") from error
    try:
        model = StarcNet(config)
    except (ValueError, TypeError, RuntimeError) as error:
        raise UserInputError(f"{source}: the network cannot be built from its config ({error})") from error
    try:
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as error:
        # load_state_dict lists every mismatched tensor on lines of its own: keep the first
        first = str(error).strip().splitlines()[0].rstrip(":")
        raise UserInputError(f"{source}: damaged checkpoint ({first})") from error
    return LoadedModel(
        model.eval(),
        config,
        np.asarray(payload["band_mean"], dtype=np.float32),
        tuple(payload["bands"]),
        tuple(payload["class_names"]),
        dict(payload.get("meta", {})),
        # checkpoints written before calibration existed are uncalibrated
        float(payload.get("temperature", 1.0)),
        _calibration_stamps(payload.get("calibration_stamps"), config),
    )


def _calibration_stamps(stored: object, config: StarcNetConfig) -> np.ndarray | None:
    """The stored calibration stamps if they fit the network, else None (int8 then calibrates on scored stamps)."""
    if not isinstance(stored, torch.Tensor):
        return None
    shape = (config.n_bands, config.stamp_size, config.stamp_size)
    if stored.ndim != 4 or tuple(stored.shape[1:]) != shape or len(stored) == 0:
        return None
    stamps = stored.float().numpy()
    return stamps if np.isfinite(stamps).all() else None


def calibration_sample(
    stamps: np.ndarray, rows: np.ndarray, n: int = CALIBRATION_STAMPS, seed: int = 0
) -> np.ndarray:
    """``n`` of ``stamps[rows]`` (a seeded sample, in row order): the calibration stamps stored with a network."""
    rows = np.asarray(rows)
    chosen = np.sort(np.random.default_rng(seed).permutation(len(rows))[:n])
    return np.ascontiguousarray(np.asarray(stamps)[np.sort(rows[chosen])], dtype=np.float32)
