"""Per-band point-spread functions: analytic Moffat profiles, integrated over the pixels.

The WFC3/UVIS and ACS/WFC PSFs on the drizzled 0.0396"/px grid are close to a
Moffat profile ``(1 + r²/alpha²)^(-beta)`` with FWHM 1.8-2.3 px (per band in
:data:`starcnet_core.sim.calibration.PSF_FWHM_PX`); its power-law wings hold
the light outside 1 px that makes a point source's concentration index about
1.2-1.3 mag, as LEGUS measures for stars. Everything here is evaluated in real
space from the analytic profile, so a rendered point source is non-negative
everywhere and has no ringing:

* :func:`point_source_table` — the PSF integrated over each pixel for a source
  at sub-pixel offsets in steps of 1/16 px (sampled 16 x 16 per pixel);
* :func:`fine_kernels` — the PSF sampled on a grid ``SUPERSAMPLE`` times finer
  than the pixels, to blur extended profiles drawn on that grid;
* :func:`psf_widths` — the FWHM per band at each source: the instrument's
  nominal width (WFC3/UVIS or ACS/WFC, :data:`~starcnet_core.sim.calibration.PSF_FWHM_PX`,
  :data:`~starcnet_core.sim.calibration.ACS_PSF_SCALE`) times a factor that
  varies across a field (focus, breathing, position on the detector;
  log-normal of width :data:`~starcnet_core.sim.calibration.PSF_WIDTH_SCATTER`),
  in steps of :data:`PSF_STEP` so that sources share tables;
* :func:`psf_field` — that factor as a smooth random map over a mosaic.

Both tables take the per-band FWHM as a tuple (default: WFC3/UVIS nominal).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import ACS_PSF_SCALE, MOFFAT_BETA, PSF_FWHM_PX, PSF_WIDTH_SCATTER

__all__ = [
    "SUBPIXEL_STEPS",
    "SUPERSAMPLE",
    "PSF_STEP",
    "NOMINAL_FWHM",
    "moffat",
    "point_source_table",
    "fine_kernels",
    "nominal_fwhm",
    "psf_widths",
    "psf_field",
]

#: Sub-pixel positions of a point source are resolved to 1/SUBPIXEL_STEPS px.
SUBPIXEL_STEPS = 16
#: Extended profiles are drawn and blurred on a grid this many times finer than the pixels.
SUPERSAMPLE = 3
# Kernel half-width for extended profiles, pixels: the Moffat wings beyond hold < 0.2% of the light.
_KERNEL_HALF_PX = 12
#: PSF widths are rounded to this step in ln(FWHM) (3%): sources within a step share one table.
PSF_STEP = 0.03
#: WFC3/UVIS nominal FWHM per band, the tables' default.
NOMINAL_FWHM: tuple[float, ...] = tuple(PSF_FWHM_PX[b] for b in BANDS)


def _alpha(fwhm_px: float, beta: float) -> float:
    return fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def moffat(r2: np.ndarray, fwhm_px: float, beta: float = MOFFAT_BETA) -> np.ndarray:
    """Moffat surface brightness of unit total flux at squared radii ``r2`` (pixels²), per pixel².

    Parameters
    ----------
    r2 : numpy.ndarray
        Squared distance from the centre, pixels².
    fwhm_px : float
        Full width at half maximum, pixels.
    beta : float
        Power index of the wings (> 1).
    """
    alpha = _alpha(fwhm_px, beta)
    return (beta - 1.0) / (np.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)


def nominal_fwhm(filters: dict[str, tuple[str, str]] | None = None) -> np.ndarray:
    """Nominal FWHM per band (pixels) for a field's instruments: ACS/WFC bands are wider.

    Parameters
    ----------
    filters : dict, optional
        Band -> (instrument, filter); default all WFC3/UVIS.
    """
    return np.array(
        [
            PSF_FWHM_PX[b] * (ACS_PSF_SCALE if filters is not None and filters[b][0] == "ACS" else 1.0)
            for b in BANDS
        ]
    )


def psf_widths(
    z: np.ndarray, filters: dict[str, tuple[str, str]] | None = None, scatter: float | None = None
) -> np.ndarray:
    """FWHM per band ``(N, 5)`` at sources whose PSF-width deviate is ``z`` (standard normal).

    ``FWHM = nominal * exp(scatter * z)``, with ``ln FWHM`` rounded to
    :data:`PSF_STEP` so that sources share tables; the factor is the same in
    every band (a focus change widens all bands together).
    """
    scatter = PSF_WIDTH_SCATTER if scatter is None else scatter
    factor = np.exp(np.round(scatter * np.asarray(z, float) / PSF_STEP) * PSF_STEP)
    return np.round(nominal_fwhm(filters)[None, :] * factor[:, None], 4)


def psf_field(size: int, rng: np.random.Generator, waves: int = 6):
    """A smooth standard-normal map ``z(x, y)`` of the PSF-width deviate over a ``size`` mosaic.

    A sum of ``waves`` random plane waves with periods of 0.5-2 mosaic sides:
    the PSF changes slowly across the field, and every position's deviate is
    N(0, 1) over fields (so :func:`psf_widths` sees the calibrated scatter).
    Returns a function of 0-based pixel positions ``(x, y)``.
    """
    period = size * rng.uniform(0.5, 2.0, waves)
    angle = rng.uniform(0, 2 * np.pi, waves)
    phase = rng.uniform(0, 2 * np.pi, waves)
    kx, ky = 2 * np.pi * np.cos(angle) / period, 2 * np.pi * np.sin(angle) / period

    def z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        arg = np.asarray(x, float)[..., None] * kx + np.asarray(y, float)[..., None] * ky + phase
        return np.sqrt(2.0 / waves) * np.cos(arg).sum(axis=-1)

    return z


@lru_cache(maxsize=24)
def point_source_table(size: int, fwhm: tuple[float, ...] = NOMINAL_FWHM) -> np.ndarray:
    """Pixel-integrated PSFs ``(n_bands, S, S, size, size)`` float32, ``S`` = :data:`SUBPIXEL_STEPS`.

    Entry ``[b, j, i]`` is a unit point source at ``(i / S, j / S)`` px from
    the centre of pixel ``size // 2`` (x, y), integrated over every pixel of a
    ``size`` x ``size`` patch by 16 x 16 samples per pixel.
    """
    steps = SUBPIXEL_STEPS
    centre = size // 2
    # Fine samples m = -steps .. steps * size - 1; sample m lies at pixel m // steps.
    m = np.arange(-steps, steps * size)
    u = (m + 0.5) / steps - 0.5 - centre
    r2 = u[None, :] ** 2 + u[:, None] ** 2
    table = np.empty((len(fwhm), steps, steps, size, size), np.float32)
    # Block sums from the integral image: pixel X at offset i sums fine samples
    # [X * steps - i, (X + 1) * steps - i) (shifted by the leading pad of steps).
    edges = steps * np.arange(size + 1)
    for b, width in enumerate(fwhm):
        fine = moffat(r2, width) / steps**2
        integral = np.zeros((len(m) + 1, len(m) + 1))
        integral[1:, 1:] = fine.cumsum(axis=0).cumsum(axis=1)
        for j in range(steps):
            ry = integral[edges + steps - j]
            for i in range(steps):
                corners = ry[:, edges + steps - i]
                table[b, j, i] = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
    table.setflags(write=False)
    return table


@lru_cache(maxsize=32)
def fine_kernels(fwhm: tuple[float, ...] = NOMINAL_FWHM) -> np.ndarray:
    """PSFs on the fine grid ``(n_bands, K, K)`` float64, each summing to the light within the kernel.

    Fine pixels are 1 / :data:`SUPERSAMPLE` px; ``K = 2 * 12 * SUPERSAMPLE + 1``.
    """
    half = _KERNEL_HALF_PX * SUPERSAMPLE
    u = np.arange(-half, half + 1) / SUPERSAMPLE
    r2 = u[None, :] ** 2 + u[:, None] ** 2
    kernels = np.stack([moffat(r2, w) / SUPERSAMPLE**2 for w in fwhm])
    kernels.setflags(write=False)
    return kernels
