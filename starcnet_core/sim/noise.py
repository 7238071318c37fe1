"""Detector noise: Poisson photon noise and read noise, returned in e-/s.

The noiseless image (e-/s) times the exposure time is the expected number of
electrons; the observed count is Poisson around it plus Gaussian read noise,
divided back by the exposure time, as in a drizzled ``_drc`` mosaic.
"""

from __future__ import annotations

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import EXPTIME_S, READ_NOISE_E

__all__ = ["add_noise"]

_BLOCK = 1 << 18


def add_noise(
    image: np.ndarray, band: str, rng: np.random.Generator, out: np.ndarray | None = None
) -> np.ndarray:
    """A noisy copy of a noiseless image in e-/s (float32), for one band.

    Parameters
    ----------
    image : numpy.ndarray
        Expected signal, e-/s per pixel (negative values are treated as 0).
    band : str
        One of :data:`starcnet_core.io.bands.BANDS`, for its exposure time.
    rng : numpy.random.Generator
    out : numpy.ndarray, optional
        float32 array of the image's shape to write into; may be ``image`` itself.
    """
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}")
    exptime = np.float32(EXPTIME_S[band])
    if out is None:
        out = np.empty(image.shape, np.float32)
    source, target = np.ravel(image), out.reshape(-1)
    if not np.shares_memory(target, out):
        raise ValueError("out must be a contiguous float32 array")
    # In blocks: the temporaries stay in cache, and ``out`` may be ``image``.
    for start in range(0, source.size, _BLOCK):
        expected = np.maximum(source[start : start + _BLOCK], 0) * exptime
        electrons = rng.poisson(expected).astype(np.float32)
        electrons += rng.standard_normal(len(expected), dtype=np.float32) * np.float32(READ_NOISE_E)
        target[start : start + _BLOCK] = electrons / exptime
    return out
