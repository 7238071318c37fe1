"""Saving and loading StarcNet networks with everything needed to use them.

A checkpoint holds the network weights, its :class:`~starcnet_core.model.StarcNetConfig`,
the per-band mean (e-/s) subtracted from input stamps, the band order, the
class names and provenance (fingerprint of the training labels, metrics).
:func:`save_checkpoint` writes it atomically (to a temporary file in the same
directory, fsynced, then renamed), so a crash never leaves a half-written
checkpoint under the final name. :func:`load_model` reads it back as a
:class:`LoadedModel` in eval mode.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from starcnet_core.bands import BANDS, CLASS_NAMES
from starcnet_core.errors import UserInputError
from starcnet_core.model import StarcNet, StarcNetConfig

__all__ = ["LoadedModel", "save_checkpoint", "load_model"]

_FORMAT = "starcnet-studio-checkpoint-1"


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
    """

    model: StarcNet
    config: StarcNetConfig
    band_mean: np.ndarray
    bands: tuple[str, ...] = BANDS
    class_names: tuple[str, ...] = tuple(CLASS_NAMES.values())
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: StarcNet, band_mean: np.ndarray, bands: Sequence[str] = BANDS) -> LoadedModel:
        """Wrap a network already in memory (e.g. just trained)."""
        return cls(model.eval(), model.config, np.asarray(band_mean, dtype=np.float32), tuple(bands))


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
) -> Path:
    """Write ``model`` and its input description to ``path`` atomically; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "band_mean": np.asarray(band_mean, dtype=np.float32).tolist(),
        "bands": list(bands),
        "class_names": list(class_names),
        "meta": {"label_fingerprint": label_fingerprint, "metrics": metrics or {}, "extra": extra or {}},
    }
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Read a checkpoint written by :func:`save_checkpoint` as a :class:`LoadedModel` in eval mode."""
    source = Path(path)
    if not source.is_file():
        raise UserInputError(f"{source}: no such checkpoint")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt file
        raise UserInputError(f"{source}: not a readable checkpoint ({type(error).__name__})") from error
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise UserInputError(f"{source}: not a StarcNet Studio checkpoint")
    config = StarcNetConfig.from_dict(payload["config"])
    model = StarcNet(config)
    model.load_state_dict(payload["state_dict"])
    return LoadedModel(
        model.eval(),
        config,
        np.asarray(payload["band_mean"], dtype=np.float32),
        tuple(payload["bands"]),
        tuple(payload["class_names"]),
        dict(payload.get("meta", {})),
    )
