"""Multi-band stamps cut around catalog positions, centred as the published StarcNet.

:func:`extract_stamps` cuts ``(N, B, size, size)`` stamps from B aligned 2-D
images (typically memory-mapped mosaics, see :mod:`starcnet_core.io.mosaics`) at
the catalog's 1-based x, y taken as given, exactly as the published StarcNet
code does: rows ``int(y) - size//2 : int(y) + size//2`` and columns
``int(x) - size//2 : int(x) + size//2`` of the array. Every row of the
catalog gets a stamp; those that cannot be used are NaN-filled and carry a
reason (``"outside"``, ``"edge"``, ``"nan"`` or ``"zero_coverage"``) so that
nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from starcnet_core.errors import UserInputError

__all__ = ["CutoutResult", "extract_stamps", "stamp_origins", "on_image", "REASONS", "ZERO_COVERAGE_FRACTION"]

#: Reasons a candidate cannot be cut, in the order they are tested.
REASONS: tuple[str, ...] = ("outside", "edge", "nan", "zero_coverage")

#: A stamp is "zero_coverage" when, in some band, at least this fraction of its
#: pixels is exactly 0: drizzled mosaics write 0 where no exposure covered the
#: sky (field edges, chip gaps, a band with a smaller footprint), while sky noise
#: in e-/s practically never hits 0 exactly on many pixels.
ZERO_COVERAGE_FRACTION = 0.05

# Candidates are cut in blocks small enough for the CPU cache, so the checks on a
# block run while its pixels are still in cache.
_BLOCK = 256


@dataclass
class CutoutResult:
    """Stamps for every catalog row, with which ones are usable and why not.

    Attributes
    ----------
    stamps : numpy.ndarray
        ``(N, B, size, size)`` float32, e-/s; rows that are not usable are NaN.
    usable : numpy.ndarray
        ``(N,)`` bool.
    reason : numpy.ndarray
        ``(N,)`` str: ``""`` when usable, else one of :data:`REASONS`.
    """

    stamps: np.ndarray
    usable: np.ndarray
    reason: np.ndarray

    def excluded_counts(self) -> dict[str, int]:
        """Number of unusable candidates for each reason in :data:`REASONS`."""
        return {reason: int(np.count_nonzero(self.reason == reason)) for reason in REASONS}


def stamp_origins(x: np.ndarray, y: np.ndarray, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """First array row and column of each stamp, as the published code computes them.

    Parameters
    ----------
    x, y : array_like
        Catalog positions, pixels, 1-based as LEGUS writes them (used as given).
    size : int
        Stamp side, pixels.

    Returns
    -------
    row0, col0 : numpy.ndarray
        int64 ``int(y) - size//2`` and ``int(x) - size//2`` (truncation toward
        zero, as Python's ``int``).
    """
    half = size // 2
    row0 = np.trunc(np.asarray(y, dtype=np.float64)).astype(np.int64) - half
    col0 = np.trunc(np.asarray(x, dtype=np.float64)).astype(np.int64) - half
    return row0, col0


def on_image(x, y, shape: tuple[int, int]) -> np.ndarray:  # noqa: ANN001 - array-likes
    """Whether 1-based positions lie on an image of ``shape`` ``(ny, nx)`` (pixel 1 covers 0.5-1.5).

    Non-finite positions are not on the image. Candidates that are not have
    the reason ``"outside"`` in :func:`extract_stamps`.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ny, nx = shape
    return np.isfinite(x) & np.isfinite(y) & (x >= 0.5) & (y >= 0.5) & (x <= nx + 0.5) & (y <= ny + 0.5)


def extract_stamps(images: Sequence[np.ndarray], x, y, size: int = 32) -> CutoutResult:
    """Cut ``size`` x ``size`` stamps in every band around each position.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        B aligned 2-D images of one shape, e-/s, in band order; memory-mapped
        arrays are read only where stamps lie.
    x, y : array_like
        ``(N,)`` catalog positions, pixels, 1-based (LEGUS convention), used
        exactly as the published StarcNet code uses them.
    size : int
        Stamp side in pixels (even; 32 for StarcNet).

    Returns
    -------
    CutoutResult
        Stamps for all N rows; unusable rows are NaN-filled with a reason:
        ``"outside"`` (the position is not on the image: a catalog spanning
        more than these mosaics, or not finite), ``"edge"`` (on the image, but
        the stamp leaves it),
        ``"nan"`` (a NaN or infinite pixel), ``"zero_coverage"`` (see
        :data:`ZERO_COVERAGE_FRACTION`).
    """
    if size < 2 or size % 2:
        raise UserInputError(f"stamp size must be an even number of pixels >= 2, got {size}")
    if len(images) == 0:
        raise UserInputError("no images to cut stamps from")
    shape = images[0].shape
    for image in images:
        if image.ndim != 2 or image.shape != shape:
            raise UserInputError(f"images must be 2-D and of one shape; got {[i.shape for i in images]}")
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise UserInputError(f"x and y differ in length ({x.size} and {y.size})")
    finite = np.isfinite(x) & np.isfinite(y)
    on = on_image(x, y, shape)
    row0, col0 = stamp_origins(np.where(finite, x, 0.0), np.where(finite, y, 0.0), size)
    inside = finite & (row0 >= 0) & (col0 >= 0) & (row0 + size <= shape[0]) & (col0 + size <= shape[1])
    # Stamps off the image are cut at a clipped origin and blanked afterwards, so
    # every block is one contiguous slice of the output (no scattered writes).
    row0 = np.clip(row0, 0, shape[0] - size)
    col0 = np.clip(col0, 0, shape[1] - size)

    n = x.size
    if shape[0] < size or shape[1] < size:
        # No stamp fits on so small an image: every candidate is at an edge.
        stamps = np.full((n, len(images), size, size), np.nan, dtype=np.float32)
        reason = np.where(on, "edge", "outside").astype("<U13")
        return CutoutResult(stamps=stamps, usable=np.zeros(n, dtype=bool), reason=reason)
    stamps = np.empty((n, len(images), size, size), dtype=np.float32)
    windows = [sliding_window_view(image, (size, size)) for image in images]
    bad_value = np.zeros(n, dtype=bool)
    zero = np.zeros(n, dtype=bool)
    min_zeros = ZERO_COVERAGE_FRACTION * size * size
    for start in range(0, n, _BLOCK):
        block = slice(start, min(start + _BLOCK, n))
        cut = stamps[block]
        for b, window in enumerate(windows):
            cut[:, b] = window[row0[block], col0[block]]
        # A sum is NaN or infinite when any term is: one fast pass instead of isfinite.
        bad_value[block] = ~np.isfinite(cut.reshape(cut.shape[0], -1).sum(axis=1))
        is_zero = cut == 0
        if is_zero.any():
            zeros_per_band = np.count_nonzero(is_zero.reshape(cut.shape[0], len(images), -1), axis=2)
            zero[block] = (zeros_per_band >= min_zeros).any(axis=1)

    reason = np.full(n, "", dtype="<U13")
    reason[zero & inside] = "zero_coverage"
    reason[bad_value & inside] = "nan"
    reason[~inside] = "edge"
    reason[~on] = "outside"
    usable = reason == ""
    stamps[~usable] = np.nan
    return CutoutResult(stamps=stamps, usable=usable, reason=reason)
