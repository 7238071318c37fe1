"""Catalog photometry measured on the noisy images, as the LEGUS pipeline measures it.

Adamo et al. (2017), section 3: the candidates' positions are known; each
band is measured as photutils measures it in a 4 px radius aperture, with the sky the
median in an annulus of 7-8 px (its scatter the MAD standard deviation, robust,
like IRAF's clipped mode, to neighbours in the annulus); an average aperture correction
(measured on isolated clusters, the same for every source of a field) turns
the 4 px flux into a total magnitude; errors come from the source's Poisson
noise and the sky's scatter in the annulus, as IRAF ``phot`` computes them.
A band whose sky-subtracted flux is not positive is not detected (99.999);
``Nflt`` counts the bands measured to better than 0.3 mag. The concentration
index is mag(1 px) - mag(3 px) in V, exact apertures, same sky.

All candidates are measured at once: each one's pixels within 9 px are
gathered into one array, the exact aperture overlaps come from photutils'
own geometry routine (:func:`photutils.geometry.circular_overlap_grid`), the
sky from the pixels whose centres lie in the annulus (``ApertureStats``'
"center" values), and the sums, medians and MADs are array operations over
all candidates and bands. The results equal ``aperture_photometry`` and
``ApertureStats`` to round-off (``tests/test_sim_photometry.py``), about ten
times faster than calling them, which loop over the sources in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from photutils.geometry import circular_overlap_grid

from starcnet_core.io.bands import BANDS

__all__ = [
    "APERTURE_PX",
    "SKY_ANNULUS_PX",
    "CI_RADII_PX",
    "NOT_DETECTED",
    "MEASURE_HALF_PX",
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
#: Radii of the concentration index apertures, pixels: CI = mag(1 px) - mag(3 px) in V.
CI_RADII_PX = (1.0, 3.0)
_MAG_ERR = 2.5 / np.log(10.0)
# astropy's mad_std: the MAD times this is the standard deviation of a Gaussian.
_MAD_TO_STD = 1.482602218505602
#: Measurement windows reach this many pixels from the pixel nearest a source:
#: the sky annulus's outer radius and one more for the sub-pixel offset.
MEASURE_HALF_PX = int(np.ceil(SKY_ANNULUS_PX[1])) + 1


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


def _overlap_weights(frac: np.ndarray, radius: float, exact: bool) -> np.ndarray:
    """Aperture weights ``(N, W, W)`` of circles of ``radius`` on the windows of :func:`_windows`.

    ``frac`` (N, 2) is each centre's x, y offset from its window's central
    pixel centre, pixels. ``exact`` gives photutils' ``method="exact"``
    overlaps (its own C routine, once per source and radius); otherwise the
    ``"center"`` rule (a pixel is in the circle when its centre is),
    vectorised, which is what :class:`~photutils.aperture.ApertureStats` uses
    for medians.
    """
    w = 2 * MEASURE_HALF_PX + 1
    if exact:
        out = np.empty((len(frac), w, w))
        for k, (fx, fy) in enumerate(frac):
            xmin, ymin = -MEASURE_HALF_PX - 0.5 - fx, -MEASURE_HALF_PX - 0.5 - fy
            out[k] = circular_overlap_grid(xmin, xmin + w, ymin, ymin + w, w, w, radius, 1, 1)
        return out
    offsets = np.arange(w) - MEASURE_HALF_PX
    x = offsets[None, None, :] - frac[:, 0, None, None]
    y = offsets[None, :, None] - frac[:, 1, None, None]
    return (x * x + y * y < radius * radius).astype(float)


def _windows(images: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels ``(N, B, W, W)`` around each 0-based position, which of them lie in the image, and the offsets.

    Window k is centred on the pixel nearest to position k; pixels outside
    the image are 0 and flagged, so that apertures there see nothing, as photutils does.
    """
    n_bands, height, width = images.shape
    centre = np.round(positions).astype(np.int64)
    offsets = np.arange(-MEASURE_HALF_PX, MEASURE_HALF_PX + 1)
    rows = centre[:, 1, None] + offsets
    cols = centre[:, 0, None] + offsets
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    cut = images[:, np.clip(rows, 0, height - 1)[:, :, None], np.clip(cols, 0, width - 1)[:, None, :]]
    cut = np.moveaxis(cut, 0, 1) * inside[:, None]
    return cut, inside, positions - centre


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median over the ``mask`` pixels of each row: ``values`` (N, B, K), ``mask`` (N, K); NaN where empty.

    As :func:`numpy.median`: the mean of the two middle values for an even count.
    """
    count = mask.sum(axis=1)
    ordered = np.sort(np.where(mask[:, None, :], values, np.inf), axis=2)
    low = np.clip((count - 1) // 2, 0, None)[:, None, None]
    high = np.clip(count // 2, 0, None)[:, None, None]
    lo = np.take_along_axis(ordered, np.broadcast_to(low, (*ordered.shape[:2], 1)), axis=2)[..., 0]
    hi = np.take_along_axis(ordered, np.broadcast_to(high, (*ordered.shape[:2], 1)), axis=2)[..., 0]
    return np.where(count[:, None] > 0, 0.5 * (lo + hi), np.nan)


def aperture_fluxes(image: np.ndarray, positions: np.ndarray, radii: tuple[float, ...]) -> np.ndarray:
    """Sums in exact circular apertures ``(N, len(radii))`` around 0-based ``(x, y)`` positions.

    The same overlaps as photutils' ``aperture_photometry(method="exact")``,
    computed once per source and radius and summed as one array operation.
    Radii up to :data:`SKY_ANNULUS_PX` ``[1]`` px.
    """
    positions = np.asarray(positions, float).reshape(-1, 2)
    cut, inside, frac = _windows(np.asarray(image)[None], positions)
    return np.column_stack(
        [np.einsum("nij,nij->n", cut[:, 0], _overlap_weights(frac, r, True) * inside) for r in radii]
    )


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
    cut, inside, frac = _windows(np.asarray(patch, float), centre)
    ring = (_overlap_weights(frac, SKY_ANNULUS_PX[1], False) - _overlap_weights(frac, SKY_ANNULUS_PX[0], False)) > 0
    ring &= inside
    wings = _masked_median(cut.reshape(1, len(patch), -1), ring.reshape(1, -1))[0]
    sums = np.einsum("bij,ij->b", cut[0], (_overlap_weights(frac, APERTURE_PX, True) * inside)[0])
    inner = sums - wings * np.pi * APERTURE_PX**2
    return -2.5 * np.log10(patch.sum(axis=(1, 2)) / inner)


def filters_detected(mag_err: np.ndarray) -> np.ndarray:
    """LEGUS ``Nflt`` from (N, n_bands) magnitude errors."""
    return np.sum(np.asarray(mag_err) <= DETECTION_ERROR_MAG, axis=1)


def measure_photometry(
    images: np.ndarray,
    positions: np.ndarray,
    zeropoints: np.ndarray,
    exptime: np.ndarray,
    apcor: np.ndarray,
    apcor_err: np.ndarray | None = None,
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
    apcor_err : array (n_bands,), optional
        Uncertainty of the average aperture correction, mag, added in quadrature
        to every detected band's error (the catalog's errors are photometric
        error and aperture-correction uncertainty together); default none.
    """
    positions = np.asarray(positions, float).reshape(-1, 2)
    n, n_bands = len(positions), len(images)
    v = BANDS.index("V")
    cut, inside, frac = _windows(np.asarray(images), positions)
    cut = cut.astype(float)
    # Sky: median and MAD of the pixels whose centres lie in the 7-8 px annulus
    # (ApertureStats' "center" values), over its exact area.
    ring = (_overlap_weights(frac, SKY_ANNULUS_PX[1], False) - _overlap_weights(frac, SKY_ANNULUS_PX[0], False))
    ring = (ring > 0) & inside
    flat = ring.reshape(n, -1)
    # The ring's pixels first, in a fixed order, so that the sort sees few values.
    order = np.argsort(~flat, axis=1, kind="stable")[:, : int(flat.sum(axis=1).max(initial=1))]
    in_ring = np.take_along_axis(flat, order, axis=1)
    values = np.take_along_axis(cut.reshape(n, n_bands, -1), order[:, None, :], axis=2)
    sky = _masked_median(values, in_ring)
    sky_std = _MAD_TO_STD * _masked_median(np.abs(values - sky[:, :, None]), in_ring)
    n_sky = np.full(n, np.pi * (SKY_ANNULUS_PX[1] ** 2 - SKY_ANNULUS_PX[0] ** 2))
    clipped = ~inside.all(axis=(1, 2))
    if clipped.any():
        # Near an edge: the exact area of the ring's pixels in the image.
        outer = _overlap_weights(frac[clipped], SKY_ANNULUS_PX[1], True)
        inner = _overlap_weights(frac[clipped], SKY_ANNULUS_PX[0], True)
        n_sky[clipped] = np.sum((outer - inner) * inside[clipped], axis=(1, 2))
    area = np.pi * APERTURE_PX**2
    sums = {
        r: np.einsum("nbij,nij->nb", cut if r == APERTURE_PX else cut[:, [v]], w * inside)
        for r, w in ((r, _overlap_weights(frac, r, True)) for r in (APERTURE_PX, *CI_RADII_PX))
    }
    flux = sums[APERTURE_PX] - sky * area
    variance = np.maximum(flux, 0.0) / exptime + area * sky_std**2 * (1.0 + area / n_sky[:, None])
    detected = flux > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(detected, zeropoints - 2.5 * np.log10(flux) + apcor, NOT_DETECTED)
        floor = np.zeros(n_bands) if apcor_err is None else np.asarray(apcor_err, float)
        err = np.where(detected, np.hypot(_MAG_ERR * np.sqrt(variance) / flux, floor), NOT_DETECTED)
        f1 = sums[CI_RADII_PX[0]][:, 0] - sky[:, v] * np.pi * CI_RADII_PX[0] ** 2
        f3 = sums[CI_RADII_PX[1]][:, 0] - sky[:, v] * np.pi * CI_RADII_PX[1] ** 2
        ci = np.where((f1 > 0) & (f3 > 0), 2.5 * np.log10(f3 / f1), np.nan)
    return Photometry(mag, err, ci, filters_detected(err))
