"""Catalog photometry measured on the noisy images, as the LEGUS pipeline measures it.

Adamo et al. (2017), section 3: the candidates' positions are known; each
band is measured with photutils in a 4 px radius aperture, with the sky the
median in an annulus of 7-8 px (its scatter the MAD standard deviation, robust,
like IRAF's clipped mode, to neighbours in the annulus); an average aperture correction
(measured on isolated clusters, the same for every source of a field) turns
the 4 px flux into a total magnitude; errors come from the source's Poisson
noise and the sky's scatter in the annulus, as IRAF ``phot`` computes them.
A band whose sky-subtracted flux is not positive is not detected (99.999);
``Nflt`` counts the bands measured to better than 0.3 mag. The concentration
index is mag(1 px) - mag(3 px) in V, exact apertures, same sky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

from starcnet_core.io.bands import BANDS

__all__ = [
    "APERTURE_PX",
    "SKY_ANNULUS_PX",
    "NOT_DETECTED",
    "DETECTION_ERROR_MAG",
    "Photometry",
    "aperture_fluxes",
    "tile_patches",
    "aperture_correction",
    "measure_photometry",
    "filters_detected",
]

#: LEGUS photometric aperture radius, pixels.
APERTURE_PX = 4.0
#: Inner and outer radius of the sky annulus, pixels.
SKY_ANNULUS_PX = (7.0, 8.0)
#: The LEGUS catalog value for a band without a detection (magnitude and error).
NOT_DETECTED = 99.999
#: A band counts in ``Nflt`` when its magnitude error is at most this (Adamo et al. 2017).
DETECTION_ERROR_MAG = 0.3
_CI_RADII = (1.0, 3.0)
_MAG_ERR = 2.5 / np.log(10.0)


@dataclass
class Photometry:
    """Measured catalog photometry of N candidates.

    Attributes
    ----------
    mag, mag_err : arrays (N, n_bands)
        Aperture-corrected Vega magnitudes and their errors; :data:`NOT_DETECTED` where not detected.
    ci : array (N,)
        V-band concentration index, mag; NaN where either aperture's flux is not positive.
    nflt : int array (N,)
        Bands with an error of at most :data:`DETECTION_ERROR_MAG`.
    """

    mag: np.ndarray
    mag_err: np.ndarray
    ci: np.ndarray
    nflt: np.ndarray

    def take(self, index: np.ndarray) -> Photometry:
        """The rows at ``index``."""
        return Photometry(self.mag[index], self.mag_err[index], self.ci[index], self.nflt[index])

    @classmethod
    def concatenate(cls, parts: list[Photometry]) -> Photometry:
        """Rows of several measurements, in order."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


def aperture_fluxes(image: np.ndarray, positions: np.ndarray, radii: tuple[float, ...]) -> np.ndarray:
    """Sums in exact circular apertures ``(N, len(radii))`` around 0-based ``(x, y)`` positions."""
    apertures = [CircularAperture(positions, r=r) for r in radii]
    table = aperture_photometry(image, apertures, method="exact")
    return np.column_stack([np.asarray(table[f"aperture_sum_{k}"], float) for k in range(len(radii))])


def tile_patches(patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lay ``(N, B, P, P)`` patches side by side: one ``(B, rows * P, cols * P)`` image and each patch's origin.

    Measuring many separate patches as one image lets photutils do them in one call;
    apertures and sky annuli that fit inside a patch see only that patch.
    """
    n, n_bands, size = patches.shape[:3]
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = -(-n // cols)
    image = np.zeros((n_bands, rows * size, cols * size), patches.dtype)
    r, c = np.divmod(np.arange(n), cols)
    view = image.reshape(n_bands, rows, size, cols, size)
    view[:, r, :, c, :] = patches
    return image, np.column_stack([c * size, r * size]).astype(float)


def aperture_correction(patch: np.ndarray) -> np.ndarray:
    """Aperture correction per band, mag (negative): total minus the measured 4 px magnitude.

    The 4 px flux is measured as on the images, less the sky from the 7-8 px
    annulus, which holds some of the source's own wings; the correction
    restores both, as LEGUS's correction derived from isolated clusters does.

    Parameters
    ----------
    patch : array (n_bands, P, P)
        An isolated noiseless source centred on pixel ``P // 2``, on no background.
    """
    centre = np.array([[patch.shape[-1] // 2] * 2], float)
    annulus = CircularAnnulus(centre, *SKY_ANNULUS_PX)
    corrections = []
    for band in patch:
        wings = float(np.asarray(ApertureStats(band, annulus).median).ravel()[0])
        inner = aperture_fluxes(band, centre, (APERTURE_PX,))[0, 0] - wings * np.pi * APERTURE_PX**2
        corrections.append(-2.5 * np.log10(band.sum() / inner))
    return np.array(corrections)


def filters_detected(mag_err: np.ndarray) -> np.ndarray:
    """LEGUS ``Nflt`` from (N, n_bands) magnitude errors."""
    return np.sum(np.asarray(mag_err) <= DETECTION_ERROR_MAG, axis=1)


def measure_photometry(
    images: np.ndarray,
    positions: np.ndarray,
    zeropoints: np.ndarray,
    exptime: np.ndarray,
    apcor: np.ndarray,
) -> Photometry:
    """Measure candidates on noisy images, LEGUS style.

    Parameters
    ----------
    images : array (n_bands, H, W)
        Noisy images, e-/s, in :data:`~starcnet_core.io.bands.BANDS` order.
    positions : array (N, 2)
        0-based x, y of the candidates.
    zeropoints : array (n_bands,)
        Vega zeropoints, mag for 1 e-/s.
    exptime : array (n_bands,)
        Exposure times, s (for the source's Poisson noise).
    apcor : array (n_bands,)
        Aperture corrections, mag, added to the 4 px magnitudes.
    """
    positions = np.asarray(positions, float)
    n = len(positions)
    annulus = CircularAnnulus(positions, *SKY_ANNULUS_PX)
    area = np.pi * APERTURE_PX**2
    mag = np.full((n, len(images)), NOT_DETECTED)
    err = np.full((n, len(images)), NOT_DETECTED)
    ci = np.full(n, np.nan)
    v = BANDS.index("V")
    for b, image in enumerate(images):
        stats = ApertureStats(image, annulus)
        sky = np.asarray(stats.median, float)
        sky_std = np.asarray(stats.mad_std, float)
        n_sky = np.asarray(stats.sum_aper_area.value, float)
        radii = (APERTURE_PX, *_CI_RADII) if b == v else (APERTURE_PX,)
        sums = aperture_fluxes(image, positions, radii)
        flux = sums[:, 0] - sky * area
        variance = np.maximum(flux, 0.0) / exptime[b] + area * sky_std**2 * (1.0 + area / n_sky)
        detected = flux > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mag[:, b] = np.where(detected, zeropoints[b] - 2.5 * np.log10(flux) + apcor[b], NOT_DETECTED)
            err[:, b] = np.where(detected, _MAG_ERR * np.sqrt(variance) / flux, NOT_DETECTED)
            if b == v:
                f1 = sums[:, 1] - sky * np.pi * _CI_RADII[0] ** 2
                f3 = sums[:, 2] - sky * np.pi * _CI_RADII[1] ** 2
                ci = np.where((f1 > 0) & (f3 > 0), 2.5 * np.log10(f3 / f1), np.nan)
    return Photometry(mag, err, ci, filters_detected(err))
