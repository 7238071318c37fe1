"""Per-band point-spread functions: Moffat profiles on a square patch.

The WFC3/UVIS PSF on the drizzled 0.0396"/px grid is close to a Moffat
profile with FWHM ~1.8-2.3 px (widths per band in
:data:`starcnet_core.sim.calibration.PSF_FWHM_PX`); a Moffat's wings, unlike a
Gaussian's, make a bright star's halo visible as in the real mosaics.
"""

from __future__ import annotations

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import PSF_FWHM_PX

__all__ = ["moffat_psf", "band_otfs"]

_MOFFAT_BETA = 2.5


def moffat_psf(fwhm_px: float, size: int, beta: float = _MOFFAT_BETA) -> np.ndarray:
    """A unit-sum Moffat PSF centred on pixel ``size // 2`` of a ``size`` x ``size`` patch.

    Parameters
    ----------
    fwhm_px : float
        Full width at half maximum, pixels.
    size : int
        Side of the patch, pixels.
    beta : float
        Moffat power index.
    """
    alpha = fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    coords = np.arange(size) - size // 2
    r2 = coords[None, :] ** 2 + coords[:, None] ** 2
    psf = (1.0 + r2 / alpha**2) ** (-beta)
    return psf / psf.sum()


def band_otfs(size: int, bands: tuple[str, ...] = BANDS) -> np.ndarray:
    """Optical transfer functions ``(n_bands, size, size // 2 + 1)`` (rfft2 of each PSF at the origin)."""
    psfs = np.stack([moffat_psf(PSF_FWHM_PX[b], size) for b in bands])
    return np.fft.rfft2(np.fft.ifftshift(psfs, axes=(-2, -1)))
