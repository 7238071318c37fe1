"""Pieces both simulator modes share: LEGUS's cuts, the aperture correction, difficulty.

A candidate is measured the same way whether it is placed on a whole mosaic
(:mod:`starcnet_core.sim.galaxy`) or on its own local patch
(:mod:`starcnet_core.sim.survey`), and the same LEGUS cuts decide whether it
is in the catalog and whether it was classified.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import (
    EFF_ETA,
    FIELD_DETECTION_DEPTH,
    INSPECTION_LIMITS,
    LOG_REFF_PC,
    M_V_LIMIT,
    PEAK_CI_MAX,
    REFF_RENDER_SHIFT_DEX,
    distance_modulus,
    pc_per_pixel,
)
from starcnet_core.sim.photometry import DETECTION_ERROR_MAG, NOT_DETECTED, Photometry, aperture_correction
from starcnet_core.sim.population import DRAWN_PAST_DETECTION, detection_completeness
from starcnet_core.sim.profiles import eff_core_radius
from starcnet_core.sim.render import Components, render_patches

__all__ = [
    "PATCH_MARGIN",
    "detected_by_legus",
    "detection_depth",
    "in_legus_catalog",
    "inspected_by_legus",
    "faintest_inspected",
    "sed_magnitudes",
    "isolated_clusters",
    "typical_aperture_correction",
    "difficulty",
]

#: Pixels rendered around a stamp on each side, so that light from just
#: outside it (neighbours, wings) is there and the sky annulus fits.
PATCH_MARGIN = 8

_INSPECTED_NFLT = 4
_PATCH = 64
_CONTRAST_RADIUS_PX = 3.0


def in_legus_catalog(phot: Photometry, ci_cut: float) -> np.ndarray:
    """Candidates LEGUS's automatic catalog keeps.

    CI at or above the field's cut (not a star) and at most
    :data:`~starcnet_core.sim.calibration.PEAK_CI_MAX` (a light peak a source
    detection finds), detected in V and in B or I.
    """
    good = phot.mag_err <= DETECTION_ERROR_MAG
    b, v, i = (BANDS.index(x) for x in ("B", "V", "I"))
    with np.errstate(invalid="ignore"):
        return (phot.ci >= ci_cut) & (phot.ci <= PEAK_CI_MAX) & good[:, v] & (good[:, b] | good[:, i])


def detection_depth(field: str | None) -> float:
    """How much deeper (mag) a field's source detection reaches than NGC 1566's
    (:data:`~starcnet_core.sim.calibration.FIELD_DETECTION_DEPTH`; 0 for other fields)."""
    return FIELD_DETECTION_DEPTH.get(field, 0.0)


def detected_by_legus(
    measured_v: np.ndarray,
    true_class: np.ndarray,
    drawn_v: np.ndarray,
    rng: np.random.Generator,
    depth: float = 0.0,
) -> np.ndarray:
    """Candidates LEGUS's source detection found: its completeness at their measured V.

    The limit is the exposures' (the same apparent V at every distance, deeper by ``depth``),
    deeper for compact class 4 (:data:`~starcnet_core.sim.calibration.CLASS_DETECTION`),
    and acts on the light as measured: a candidate measured brighter than it
    was drawn is found more often, as on a real image. ``measured_v``: the
    catalog's V (99.999 where not detected); ``drawn_v``: the apparent V each was drawn with, whose moved completeness
    (:data:`~starcnet_core.sim.population.DRAWN_PAST_DETECTION`) the draw already applied;
    ``depth``: the field's :func:`detection_depth`, as given to the draw.
    """
    measured = detection_completeness(measured_v, true_class, depth)
    drawn = detection_completeness(drawn_v, true_class, depth + DRAWN_PAST_DETECTION)
    return rng.random(len(measured)) * drawn < measured


def faintest_inspected(field: str | None) -> float:
    """Absolute V below which a field's candidates are (practically) never classified."""
    if field in INSPECTION_LIMITS:
        m50, width = INSPECTION_LIMITS[field]
        return m50 + 5.0 * width  # 0.7% classified there
    return M_V_LIMIT


def inspected_by_legus(
    phot: Photometry, m_v: np.ndarray, field: str | None = None, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Candidates classified by eye: ``Nflt >= 4`` and measured M_V <= -6.

    A field of :data:`~starcnet_core.sim.calibration.INSPECTION_LIMITS` (NGC
    628) classified with a probability that falls off around its own limit
    instead, drawn from ``rng``.
    """
    enough = phot.nflt >= _INSPECTED_NFLT
    if field not in INSPECTION_LIMITS:
        return enough & (m_v <= M_V_LIMIT)
    if rng is None:
        raise ValueError(f"{field}: its soft inspection limit needs a random generator")
    m50, width = INSPECTION_LIMITS[field]
    with np.errstate(over="ignore"):
        chance = 1.0 / (1.0 + np.exp((m_v - m50) / width))
    return enough & (rng.random(len(m_v)) < chance)


def sed_magnitudes(phot: Photometry, true_mag: np.ndarray) -> np.ndarray:
    """Magnitudes for the SED-fit draw: measured, and the drawn value where a band was not detected."""
    return np.where(phot.mag >= NOT_DETECTED, true_mag, phot.mag)


def isolated_clusters(reff_px: np.ndarray, eta: np.ndarray, fwhm: tuple[float, ...] | None = None) -> np.ndarray:
    """Noiseless round EFF clusters of unit flux per band, centred on their patches ``(N, bands, P, P)``.

    ``reff_px``: half-light radii as rendered (pixels); ``fwhm``: the PSF per band
    (default WFC3/UVIS nominal).
    """
    reff_px = np.asarray(reff_px, float)
    eta = np.asarray(eta, float)
    n = len(reff_px)
    cluster = Components(
        np.arange(n),
        np.zeros(n),
        np.zeros(n),
        np.ones((n, len(BANDS))),
        eff_core_radius(reff_px, eta),
        eta,
        np.ones(n),
        np.zeros(n),
        np.zeros(n, bool),
    )
    psf = None if fwhm is None else np.tile(np.asarray(fwhm, float), (n, 1))
    return render_patches(cluster, n, _PATCH, psf).astype(float)


@lru_cache(maxsize=64)
def typical_aperture_correction(distance_mpc: float, fwhm: tuple[float, ...] | None = None) -> np.ndarray:
    """Per-band average aperture correction of a field, mag: a median-size, round cluster at its distance.

    LEGUS measures one correction per band on isolated bright clusters and
    applies it to every candidate (``avgapcor`` in the catalog name), so
    stars come out slightly too bright and large sources too faint, as in the real catalogs.
    ``fwhm``: the field's nominal PSF per band (default WFC3/UVIS), as LEGUS
    measures the correction on the field's own images.
    """
    reff = 10.0 ** (LOG_REFF_PC[0] + REFF_RENDER_SHIFT_DEX) / pc_per_pixel(distance_mpc)
    return aperture_correction(isolated_clusters(np.array([reff]), np.array([EFF_ETA[0]]), fwhm)[0])


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
        Measured apparent V magnitude.
    distance_mpc : float
    flux_v : array (N,)
        The candidate's V flux, e-/s.
    background_v : array (N,)
        Local V background, e-/s per pixel.
    """
    faint = (mag_v - distance_modulus(distance_mpc) + 10.0) / 4.0
    # Background within 3 px relative to the source (the experts judge the core).
    contrast = np.pi * _CONTRAST_RADIUS_PX**2 * background_v / np.maximum(flux_v, 1e-6)
    return np.clip(faint + 0.6 * np.clip(contrast, 0, 1), 0.0, 1.0)
