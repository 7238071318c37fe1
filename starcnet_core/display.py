"""Images for people: stretches, the paper's RGB composite, and a downsampled whole field.

Experts judged LEGUS candidates from a three-colour composite of the five
bands (Pérez et al. 2021, Fig. 2; the mix is :data:`starcnet_core.io.bands.RGB_WEIGHTS`)
shown with an adjustable stretch and display range. The stretches and
intervals are astropy's (:mod:`astropy.visualization`); this module only
chooses them, mixes the bands and turns the result into 8-bit images for a
browser. A display range is either a central percentage of the pixels
(``99.5``: astropy's ``PercentileInterval``) or a ``(lower, upper)`` pair of
percentiles (``(1.0, 99.9)``: ``AsymmetricPercentileInterval``).

:func:`mix_rgb` is the one channel mix of the app, the CLI overlay and the
field views, ACS bands rescaled by :data:`~starcnet_core.io.bands.ACS_DISPLAY_SCALE`
first (:func:`display_scales`). Arrays keep the FITS order (row 0 is the
bottom of the sky); :func:`sky_up` turns an image for viewers that draw row 0
at the top, so that every view shows north-ish up as DS9 does, and
:func:`compass` gives the directions of north and east on the pixel grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import astropy.units as u
import numpy as np
from astropy.nddata import block_reduce
from astropy.visualization import (
    AsinhStretch,
    AsymmetricPercentileInterval,
    BaseStretch,
    LinearStretch,
    LogStretch,
    MinMaxInterval,
    PercentileInterval,
    ZScaleInterval,
)
from astropy.wcs import WCS

from starcnet_core.io.bands import ACS_DISPLAY_SCALE, BANDS, RGB_WEIGHTS

__all__ = [
    "STRETCHES",
    "Percentile",
    "check_percentile",
    "stretch_image",
    "to_uint8",
    "display_scales",
    "mix_rgb",
    "rgb_composite",
    "grey_stamps",
    "field_image",
    "sky_up",
    "compass",
]

#: Names of the stretches offered to experts.
STRETCHES: tuple[str, ...] = ("asinh", "log", "linear", "zscale")

# asinh's softening a=0.1 and log's a=1000 are astropy's defaults for display.
_STRETCH_FUNCTIONS: dict[str, BaseStretch] = {
    "asinh": AsinhStretch(0.1),
    "log": LogStretch(1000.0),
    "linear": LinearStretch(),
    "zscale": LinearStretch(),
}


#: A display range: central percentage of the pixels, or (lower, upper) percentiles.
Percentile = float | tuple[float, float]


def check_percentile(percentile: Percentile) -> Percentile:
    """``percentile`` if it is a valid display range, else a ``ValueError`` saying why."""
    if isinstance(percentile, tuple | list):
        lower, upper = (float(p) for p in percentile)
        if not 0.0 <= lower < upper <= 100.0:
            raise ValueError(f"percentiles must satisfy 0 <= lower < upper <= 100, not {lower}, {upper}")
        return lower, upper
    if not 0.0 < float(percentile) <= 100.0:
        raise ValueError(f"the central percentage must be in (0, 100], not {percentile}")
    return float(percentile)


def _limits(values: np.ndarray, stretch: str, percentile: Percentile) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    percentile = check_percentile(percentile)
    if isinstance(percentile, tuple):
        lower, upper = percentile
    else:
        lower, upper = (100.0 - percentile) / 2.0, 100.0 - (100.0 - percentile) / 2.0
    if stretch == "zscale":
        low, high = ZScaleInterval().get_limits(finite)
    elif lower <= 0.0 and upper >= 100.0:
        low, high = MinMaxInterval().get_limits(finite)
    elif isinstance(percentile, tuple):
        low, high = AsymmetricPercentileInterval(lower, upper).get_limits(finite)
    else:
        low, high = PercentileInterval(percentile).get_limits(finite)
    if not high > low:  # a flat image: show it mid-grey rather than dividing by zero
        return float(low) - 0.5, float(low) + 0.5
    return float(low), float(high)


def stretch_image(
    image: np.ndarray,
    stretch: str = "asinh",
    *,
    percentile: Percentile = 99.5,
    limits: tuple[float, float] | None = None,
) -> np.ndarray:
    """Scale an image to [0, 1] with one of :data:`STRETCHES`.

    Parameters
    ----------
    image : ndarray
        Any shape, e.g. a stamp in e-/s; NaN pixels become 0.
    stretch : str
        ``"asinh"``, ``"log"``, ``"linear"`` or ``"zscale"`` (linear between
        the IRAF zscale limits).
    percentile : float or (float, float)
        Central percentage of pixels mapped inside [0, 1], or the (lower,
        upper) percentiles mapped to 0 and 1 (not used by zscale).
    limits : (float, float), optional
        Fixed lower and upper values (same unit as ``image``) instead.

    Returns
    -------
    ndarray
        float32, same shape, values in [0, 1].
    """
    if stretch not in _STRETCH_FUNCTIONS:
        raise ValueError(f"unknown stretch {stretch!r}; choose one of {', '.join(STRETCHES)}")
    values = np.asarray(image, dtype=np.float32)
    low, high = limits if limits is not None else _limits(values, stretch, percentile)
    scaled = np.clip((np.nan_to_num(values, nan=low) - low) / (high - low), 0.0, 1.0)
    return _STRETCH_FUNCTIONS[stretch](scaled, clip=True).astype(np.float32)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 8-bit integers (0-255) for image display."""
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def display_scales(filters: Mapping[str, str], instruments: Mapping[str, str | None]) -> dict[str, float]:
    """Factor applied to each band before the RGB mix: ACS bands to WFC3's scale, others 1.

    Parameters
    ----------
    filters, instruments : mapping
        Band -> HST filter (``"F435W"``) and band -> instrument (``"ACS"``,
        ``"WFC3"`` or None), as :class:`starcnet_core.io.mosaics.MosaicSet` and
        the database's galaxy rows hold them.

    Returns
    -------
    dict
        Band -> factor, only for the bands that are rescaled.
    """
    return {
        band: ACS_DISPLAY_SCALE[name]
        for band, name in filters.items()
        if (instruments.get(band) or "").upper() == "ACS" and name in ACS_DISPLAY_SCALE
    }


def mix_rgb(
    bands: Sequence[np.ndarray], band_names: Sequence[str] = BANDS, scales: Mapping[str, float] | None = None
) -> np.ndarray:
    """The paper's channel mix, ``(..., 3)`` red, green, blue in scaled e-/s.

    Parameters
    ----------
    bands : sequence of ndarray
        One array per band (any common shape), e-/s.
    band_names : sequence of str
        Band of each array.
    scales : mapping, optional
        Band -> factor applied first (:func:`display_scales`: ACS fields).

    Returns
    -------
    ndarray
        float32, the bands' shape plus a last axis of 3.
    """
    index = {name: i for i, name in enumerate(band_names)}
    scales = scales or {}
    channels = []
    for colour in ("red", "green", "blue"):
        weights = RGB_WEIGHTS[colour]
        channels.append(
            sum(
                weight * scales.get(b, 1.0) * np.asarray(bands[index[b]], np.float32)
                for b, weight in weights.items()
            )
        )
    return np.stack(channels, axis=-1)


def rgb_composite(
    stamp: np.ndarray,
    stretch: str = "asinh",
    *,
    bands: Sequence[str] = BANDS,
    percentile: Percentile = 99.5,
    limits: tuple[float, float] | None = None,
    scales: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The paper's three-colour image of a five-band stamp.

    Red = (1.23 V + I) / 2, green = 4.52 B, blue = (21.63 NUV + 8.63 U) / 2
    (:data:`starcnet_core.io.bands.RGB_WEIGHTS`); one stretch with common limits
    for the three channels, so that colours are kept.

    Parameters
    ----------
    stamp : ndarray
        ``(5, H, W)`` in e-/s, bands in ``bands`` order.
    stretch : str
        One of :data:`STRETCHES`.
    bands : sequence of str
        Band of each plane of ``stamp``.
    percentile : float or (float, float)
        Central percentage of pixels inside the display range, or its (lower,
        upper) percentiles; one range for the three channels.
    limits : (float, float), optional
        Fixed display limits of the mixed channels instead (``(0, 1)`` with the
        linear stretch is the paper's clipped mix, as the CLI overlay draws it).
    scales : mapping, optional
        Band -> factor before the mix (:func:`display_scales`; ACS fields).

    Returns
    -------
    ndarray
        ``(H, W, 3)`` uint8.
    """
    mixed = mix_rgb(list(stamp), bands, scales)
    return to_uint8(stretch_image(mixed, stretch, percentile=percentile, limits=limits))


def grey_stamps(stamp: np.ndarray, stretch: str = "asinh", *, percentile: Percentile = 99.5) -> np.ndarray:
    """Each band of a stamp stretched on its own limits.

    Parameters
    ----------
    stamp : ndarray
        ``(B, H, W)`` in e-/s.
    stretch : str
        One of :data:`STRETCHES`.
    percentile : float or (float, float)
        Central percentage of pixels inside the display range, or its (lower,
        upper) percentiles; applied to each band's own pixels.

    Returns
    -------
    ndarray
        ``(B, H, W)`` uint8.
    """
    return np.stack([to_uint8(stretch_image(plane, stretch, percentile=percentile)) for plane in stamp])


def field_image(
    arrays: Sequence[np.ndarray],
    *,
    max_side: int = 1024,
    stretch: str = "asinh",
    bands: Sequence[str] = BANDS,
    percentile: float = 99.7,
    scales: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, int]:
    """A whole galaxy field in the paper's colours, block-averaged to at most ``max_side`` pixels.

    Parameters
    ----------
    arrays : sequence of ndarray
        The five ``(ny, nx)`` mosaics in e-/s (memory-mapped arrays are read once).
    max_side : int
        Largest side of the result (pixels).
    stretch : str
        One of :data:`STRETCHES`.
    bands : sequence of str
        Band of each array.
    percentile : float
        Central percentage of pixels inside the display range.
    scales : mapping, optional
        Band -> factor before the mix (:func:`display_scales`; ACS fields).

    Returns
    -------
    image : ndarray
        ``(ny // factor, nx // factor, 3)`` uint8, row 0 at the bottom of the sky
        (image convention: y grows upwards when drawn with origin lower).
    factor : int
        Mosaic pixels per displayed pixel along each axis; candidate (x, y)
        in 1-based mosaic pixels fall at ((x - 0.5) / factor, (y - 0.5) / factor).
    """
    ny, nx = np.shape(arrays[0])
    factor = max(1, int(np.ceil(max(ny, nx) / max_side)))
    # NaN (no coverage) would spread over a whole block: count it as empty sky.
    reduced = [
        block_reduce(np.nan_to_num(np.asarray(a, dtype=np.float32)), factor, func=np.mean)
        if factor > 1
        else np.nan_to_num(np.asarray(a, dtype=np.float32))
        for a in arrays
    ]
    mixed = mix_rgb(reduced, bands, scales)
    return to_uint8(stretch_image(mixed, stretch, percentile=percentile)), factor


def sky_up(image: np.ndarray) -> np.ndarray:
    """``image`` with its rows reversed, for viewers that draw row 0 at the top (browsers, PNG).

    Mosaics, stamps and contours keep the FITS order (row 0 = y 1, the bottom);
    every image the app shows goes through this once, so that y grows upwards
    in all of them, as in DS9 and in the plots drawn with ``origin="lower"``.
    """
    return np.ascontiguousarray(np.asarray(image)[::-1])


def compass(wcs: WCS | None, x: float, y: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Unit vectors of north and east on the pixel grid at ``(x, y)`` (1-based pixels, y up).

    Parameters
    ----------
    wcs : astropy.wcs.WCS or None
        The mosaics' celestial WCS.
    x, y : float
        Where (1-based mosaic pixels, as LEGUS catalogs).

    Returns
    -------
    ((float, float), (float, float)) or None
        ``(north, east)`` as ``(dx, dy)`` in pixels, each of length 1; None without a celestial WCS.
    """
    if wcs is None or not wcs.has_celestial:
        return None
    celestial = wcs.celestial
    here = celestial.pixel_to_world(x - 1.0, y - 1.0)
    step = 1.0 / 3600.0  # one arcsec: small enough to stay on the tangent plane
    directions = []
    for position in (
        here.directional_offset_by(0.0 * u.deg, step * u.deg),
        here.directional_offset_by(90.0 * u.deg, step * u.deg),
    ):
        px, py = celestial.world_to_pixel(position)
        dx, dy = float(px) - (x - 1.0), float(py) - (y - 1.0)
        length = float(np.hypot(dx, dy)) or 1.0
        directions.append((dx / length, dy / length))
    return directions[0], directions[1]
