"""Detector noise: Poisson photon noise and read noise, returned in e-/s.

The noiseless image (e-/s) times the exposure time is the expected number of
electrons; the observed count is Poisson around it plus Gaussian read noise,
divided back by the exposure time, as in a drizzled ``_drc`` mosaic.
"""

from __future__ import annotations

import numpy as np

from starcnet_core.bands import BANDS
from starcnet_core.sim.calibration import EXPTIME_S, READ_NOISE_E

__all__ = ["add_noise"]


def add_noise(image: np.ndarray, band: str, rng: np.random.Generator) -> np.ndarray:
    """A noisy copy of a noiseless image in e-/s (float32), for one band.

    Parameters
    ----------
    image : numpy.ndarray
        Expected signal, e-/s per pixel (negative values are treated as 0).
    band : str
        One of :data:`starcnet_core.bands.BANDS`, for its exposure time.
    rng : numpy.random.Generator
    """
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}")
    exptime = EXPTIME_S[band]
    electrons = rng.poisson(np.clip(image, 0.0, None) * exptime).astype(np.float32)
    electrons += rng.normal(0.0, READ_NOISE_E, image.shape).astype(np.float32)
    return electrons / np.float32(exptime)
