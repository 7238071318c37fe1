"""Pieces both simulator modes share: neighbours, noise-free photometry, difficulty.

A candidate's surroundings — crowding stars drawn from the local stellar
density, the host's background — and the numbers a catalog reports about it
(aperture concentration index, magnitudes with photometric errors) are made
the same way whether the candidate is placed on a whole mosaic
(:mod:`starcnet_core.sim.galaxy`) or on its own local patch
(:mod:`starcnet_core.sim.survey`).
"""

from __future__ import annotations

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import EXPTIME_S, READ_NOISE_E, distance_modulus

__all__ = ["PATCH_MARGIN", "concentration_index", "observed_magnitudes", "filters_detected", "difficulty"]

#: Pixels rendered around a stamp on each side, so that light from just
#: outside it (neighbours, wings) is there and the FFT wrap-around is not.
PATCH_MARGIN = 8

_APERTURE_PX = 3.0
# LEGUS counts a filter as a detection when the photometric error is below 0.3 mag.
_DETECTION_ERROR_MAG = 0.3


def concentration_index(v_patches: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """LEGUS concentration index mag(1 px) - mag(3 px) in V, from noiseless source patches.

    Parameters
    ----------
    v_patches : array (N, P, P)
        The candidate's own light only, e-/s.
    cx, cy : arrays (N,)
        Source centre in patch pixels (0-based).
    """
    size = v_patches.shape[-1]
    grid = np.arange(size)
    r2 = (grid[None, None, :] - cx[:, None, None]) ** 2 + (grid[None, :, None] - cy[:, None, None]) ** 2
    f1 = np.sum(v_patches * (r2 <= 1.0), axis=(1, 2))
    f3 = np.sum(v_patches * (r2 <= _APERTURE_PX**2), axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = 2.5 * np.log10(f3 / f1)
    return np.where(np.isfinite(ci), ci, 0.0)


def observed_magnitudes(
    mag: np.ndarray, zeropoints: np.ndarray, background: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Catalog magnitudes and errors for true magnitudes, from a 3-px aperture's noise.

    Parameters
    ----------
    mag : array (N, 5)
        True Vega magnitudes.
    zeropoints : array (5,)
        Vega zeropoints, mag for 1 e-/s.
    background : array (N, 5)
        Local background under the source, e-/s per pixel.
    rng : numpy.random.Generator

    Returns
    -------
    mag_obs, mag_err : arrays (N, 5)
        99.999 (LEGUS "not detected") where the signal-to-noise ratio is below 1.
    """
    t = np.array([EXPTIME_S[b] for b in BANDS])
    electrons = 10.0 ** (-0.4 * (mag - zeropoints)) * t
    npix = np.pi * _APERTURE_PX**2
    noise = np.sqrt(electrons + npix * (background * t + READ_NOISE_E**2))
    snr = electrons / noise
    err = 1.0857 / np.maximum(snr, 1e-3)
    obs = mag + rng.normal(0.0, 1.0, mag.shape) * np.minimum(err, 1.0)
    detected = snr >= 1.0
    return np.where(detected, obs, 99.999), np.where(detected, err, 99.999)


def filters_detected(mag_err: np.ndarray) -> np.ndarray:
    """LEGUS ``Nflt``: filters in which each candidate is detected (error < 0.3 mag), from (N, 5) errors."""
    return np.sum(np.asarray(mag_err) < _DETECTION_ERROR_MAG, axis=1)


def difficulty(
    mag_v: np.ndarray, distance_mpc: float, flux_v: np.ndarray, background_v: np.ndarray
) -> np.ndarray:
    """How hard a candidate is to classify by eye: 0 (bright, on a dark sky) to 1.

    Faint candidates (absolute V near the -6 mag inspection limit) and those on
    bright, structured background (arms, crowded regions) are hard (the
    paper's Appendix A, Fig. 13a).

    Parameters
    ----------
    mag_v : array (N,)
        Apparent V magnitude.
    distance_mpc : float
    flux_v : array (N,)
        The candidate's V flux, e-/s.
    background_v : array (N,)
        Local V background, e-/s per pixel.
    """
    faint = (mag_v - distance_modulus(distance_mpc) + 10.0) / 4.0
    # Background within the 3-px aperture relative to the source.
    contrast = np.pi * _APERTURE_PX**2 * background_v / np.maximum(flux_v, 1e-6)
    return np.clip(faint + 0.6 * np.clip(contrast, 0, 1), 0.0, 1.0)
