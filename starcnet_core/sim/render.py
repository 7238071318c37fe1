"""Render source components into noiseless multi-band patches (e-/s), in real space.

A scene is a flat list of components, each belonging to one patch: a
position relative to the patch centre (sub-pixel, pixels), a flux per band
(e-/s), an EFF shape and whether it is seen through the telescope (blurred by
the band PSF) or lands on the detector directly (hot pixels, cosmic rays).

* Point sources through the telescope are the analytic PSF integrated over
  each pixel, at their sub-pixel position to 1/16 px
  (:func:`~starcnet_core.sim.psf.point_source_table`).
* Extended sources are drawn at their sub-pixel centre on a grid three times
  finer than the pixels, blurred there by the PSF sampled on the same grid
  (a linear, zero-padded convolution of two non-negative images) and summed
  into pixels: the same PSF-times-pixel response as the point sources. Their
  smooth wings beyond 12 px are drawn at pixel resolution. The sum into
  pixels is done in Fourier space (a pixel's box times the PSF, then the
  spectrum folded to the pixel grid), so the inverse transforms are on the
  pixel grid, nine times smaller, with the same result.
* Hot pixels are one pixel; cosmic rays are EFF streaks summed into pixels, not blurred.

No profile is moved by a Fourier phase shift, so nothing rings and no pixel
is negative. Galaxy mode and survey mode both draw their sources through
:func:`render_patches`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.fft import irfft2, rfft2

from starcnet_core.sim.profiles import eff_images
from starcnet_core.sim.psf import NOMINAL_FWHM, SUBPIXEL_STEPS, SUPERSAMPLE, fine_kernels, point_source_table

__all__ = ["Components", "render_patches", "add_points_to_image"]

_CHUNK = 16


@dataclass
class Components:
    """Source components of a scene, one row each (M rows).

    Attributes
    ----------
    patch : int array (M,)
        Index of the patch each component is drawn into.
    dx, dy : float arrays (M,)
        Offset from the patch centre pixel, pixels.
    flux : float array (M, n_bands)
        Total flux per band, e-/s.
    a, eta, q, theta : float arrays (M,)
        EFF shape (see :func:`starcnet_core.sim.profiles.eff_images`); ``a = 0`` is a point.
    sharp : bool array (M,)
        True for detector artifacts, which are not blurred by the PSF.
    """

    patch: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    flux: np.ndarray
    a: np.ndarray
    eta: np.ndarray
    q: np.ndarray
    theta: np.ndarray
    sharp: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[Components]) -> Components:
        """Join component lists (patch indices are kept as given)."""
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__})

    def take(self, index: np.ndarray) -> Components:
        """The components at the given row indices."""
        return Components(**{f: getattr(self, f)[index] for f in self.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.patch)


def _add_to_patches(view: np.ndarray, patch: np.ndarray, values: np.ndarray) -> None:
    """``view[patch[k]] += values[k]`` for every k, also where patches repeat."""
    if len(np.unique(patch)) == len(patch):
        view[patch] += values
    else:
        np.add.at(view, patch, values)


def _points(out: np.ndarray, part: Components, size: int, fwhm: tuple[float, ...] = NOMINAL_FWHM) -> None:
    """Add point sources (PSF, or one pixel for hot pixels) into ``out`` (n_patches, B, P, P).

    Sources that move the table image by the same whole pixels are added
    together, as one slice of ``out``.
    """
    n_bands = out.shape[1]
    table = point_source_table(size, fwhm)[:n_bands]
    steps = SUBPIXEL_STEPS
    flux = part.flux.astype(np.float32)
    centre = size // 2
    sharp = np.flatnonzero(part.sharp)
    if len(sharp):
        x = centre + np.round(part.dx[sharp]).astype(np.int64)
        y = centre + np.round(part.dy[sharp]).astype(np.int64)
        on = (x >= 0) & (x < size) & (y >= 0) & (y < size)
        np.add.at(out, (part.patch[sharp][on], slice(None), y[on], x[on]), flux[sharp][on])
    seen = np.flatnonzero(~part.sharp)
    # Whole pixels and the nearest 1/16 px step of each offset.
    whole_x, frac_x = np.divmod(np.round(part.dx[seen] * steps).astype(np.int64), steps)
    whole_y, frac_y = np.divmod(np.round(part.dy[seen] * steps).astype(np.int64), steps)
    visible = (np.abs(whole_x) < size) & (np.abs(whole_y) < size)
    seen, whole_x, whole_y, frac_x, frac_y = (v[visible] for v in (seen, whole_x, whole_y, frac_x, frac_y))
    key = (whole_y + size) * (3 * size) + (whole_x + size)
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    for group in np.split(order, bounds) if len(order) else []:
        shift_x, shift_y = int(whole_x[group[0]]), int(whole_y[group[0]])
        xs, xe = max(shift_x, 0), min(size + shift_x, size)
        ys, ye = max(shift_y, 0), min(size + shift_y, size)
        rows = slice(ys - shift_y, ye - shift_y)
        cols = slice(xs - shift_x, xe - shift_x)
        images = np.moveaxis(table[:, frac_y[group], frac_x[group], rows, cols], 0, 1)
        rows_k = seen[group]
        _add_to_patches(out[:, :, ys:ye, xs:xe], part.patch[rows_k], images * flux[rows_k][:, :, None, None])


@lru_cache(maxsize=32)
def _kernel_spectra(
    inner_fine: int, n_bands: int, fwhm: tuple[float, ...] = NOMINAL_FWHM
) -> tuple[np.ndarray, np.ndarray, int]:
    """Spectra of the fine-grid PSFs times a pixel's box, for the linear convolution of ``inner_fine`` images.

    Returns the distinct kernels' rfft2 ``(U, L, L // 2 + 1)`` (bands with the
    same FWHM share one), each band's row in it, and the padded length ``L``
    (the full linear convolution's size on the fine grid, a whole number of pixels).
    The box sums the fine samples ``3X .. 3X + 2`` into pixel ``X``, so that
    sampling the convolution at every third fine pixel gives pixel values.
    """
    kernels = fine_kernels(fwhm)[:n_bands]
    _, first, index = np.unique(kernels.reshape(n_bands, -1), axis=0, return_index=True, return_inverse=True)
    size = inner_fine + kernels.shape[-1] - 1
    s = SUPERSAMPLE
    box_y = np.exp(2j * np.pi * np.arange(size)[:, None] * np.arange(s)[None, :] / size).sum(axis=1)
    box_x = box_y[: size // 2 + 1]
    spectra = rfft2(kernels[first], s=(size, size)) * box_y[None, :, None] * box_x[None, None, :]
    return spectra.astype(np.complex64), np.ravel(index), size


def _fold_to_pixels(spectrum: np.ndarray, size: int) -> np.ndarray:
    """Pixel images from fine-grid rfft2 spectra ``(..., L, L // 2 + 1)``: every third fine sample.

    Sampling a length-L sequence at a stride of s sums its spectrum's s
    aliases (``X[k] + X[k + L/s] + ...``); the aliases beyond the rfft's half
    along x are the conjugates at the mirrored frequency. The inverse
    transform is then s² times smaller than on the fine grid, and exact.
    """
    s = SUPERSAMPLE
    n = size // s
    folded = spectrum.reshape(*spectrum.shape[:-2], s, n, spectrum.shape[-1]).sum(axis=-3)
    kx = np.arange(n // 2 + 1)
    flip_y = (-np.arange(n)) % n
    out = np.zeros((*folded.shape[:-1], len(kx)), folded.dtype)
    for j in range(s):
        q = kx + j * n
        direct = q <= size // 2
        if direct.any():
            out[..., direct] += folded[..., q[direct]]
        if not direct.all():
            out[..., ~direct] += np.conj(folded[..., flip_y, :][..., size - q[~direct]])
    return irfft2(out, s=(n, n)) / s**2


def _extended(out: np.ndarray, part: Components, size: int, fwhm: tuple[float, ...] = NOMINAL_FWHM) -> None:
    """Add extended components (EFF through the PSF, or cosmic-ray streaks) into ``out``.

    The profile's inner box (the PSF kernel's width, centred on the patch)
    is drawn on the fine grid and blurred there; the full linear convolution
    of that box covers exactly the patch. Beyond the box the profile is a
    smooth power-law wing, drawn at pixel resolution and not blurred.
    """
    n_bands = out.shape[1]
    s = SUPERSAMPLE
    half = fine_kernels(fwhm).shape[-1] // (2 * s)  # kernel half-width, pixels
    inner = min(size, 2 * half)
    margin = (size - inner) // 2
    spectra, band_row, shape = _kernel_spectra(inner * s, n_bands, fwhm)
    in_box = np.zeros((size, size), bool)
    in_box[margin : margin + inner, margin : margin + inner] = True
    # The convolved box spans patch pixels [start, start + shape / s): crop or place it.
    start = margin - half
    length = shape // s
    src = slice(max(0, -start), min(length, size - start))
    dst = slice(max(0, start), max(0, start) + src.stop - src.start)
    box = slice(margin, margin + inner)
    for first in range(0, len(part), _CHUNK):
        chunk = part.take(np.arange(first, min(first + _CHUNK, len(part))))
        shape_args = (chunk.a, chunk.eta, chunk.q, chunk.theta)
        core = eff_images(*shape_args, inner, chunk.dx, chunk.dy, supersample=s, normalise=False)
        wing = eff_images(*shape_args, size, chunk.dx, chunk.dy, normalise=False) * ~in_box
        total = core.sum(axis=(1, 2)) / s**2 + wing.sum(axis=(1, 2))
        core = (core / (s**2 * total[:, None, None])).astype(np.float32)
        pixels = np.repeat((wing / total[:, None, None]).astype(np.float32)[:, None], n_bands, axis=1)
        seen = np.flatnonzero(~chunk.sharp)
        if len(seen):
            spectrum = rfft2(core[seen], s=(shape, shape))[:, None] * spectra[None]
            blurred = _fold_to_pixels(spectrum, shape)[:, band_row]
            pixels[seen, :, dst, dst] += blurred[..., src, src]
        sharp = np.flatnonzero(chunk.sharp)
        if len(sharp):
            summed = core[sharp].reshape(len(sharp), inner, s, inner, s).sum(axis=(2, 4))
            pixels[sharp, :, box, box] += summed[:, None]
        # Round-off of the float32 transforms (~1e-7 of the peak) is not light.
        np.maximum(pixels, 0.0, out=pixels)
        pixels *= chunk.flux[:, :, None, None].astype(np.float32)
        _add_to_patches(out, chunk.patch, pixels)


def _psf_groups(fwhm: np.ndarray | None, owner: np.ndarray) -> list[tuple[tuple[float, ...], np.ndarray]]:
    """(FWHM tuple, rows) for each distinct PSF among the rows' owners (``fwhm[owner]``)."""
    if fwhm is None:
        return [(NOMINAL_FWHM, np.arange(len(owner)))]
    fwhm = np.asarray(fwhm, float)
    distinct, index = np.unique(fwhm, axis=0, return_inverse=True)
    index = np.ravel(index)[owner]
    return [(tuple(float(w) for w in distinct[k]), np.flatnonzero(index == k)) for k in range(len(distinct))]


def render_patches(
    components: Components, n_patches: int, size: int, psf: np.ndarray | None = None
) -> np.ndarray:
    """Noiseless patches ``(n_patches, n_bands, size, size)`` float32, e-/s.

    Parameters
    ----------
    components : Components
        ``dx, dy`` relative to the centre of pixel ``size // 2`` of patch ``patch``.
    n_patches : int
    size : int
        Patch side, pixels.
    psf : array (n_patches, 5), optional
        FWHM per band of each patch's PSF, pixels (:func:`starcnet_core.sim.psf.psf_widths`);
        default the WFC3/UVIS nominal PSF everywhere.
    """
    n_bands = components.flux.shape[1]
    out = np.zeros((n_patches, n_bands, size, size), np.float32)
    for fwhm, rows in _psf_groups(psf, components.patch):
        part = components.take(rows)
        point = part.a <= 0
        _points(out, part.take(np.flatnonzero(point)), size, fwhm)
        _extended(out, part.take(np.flatnonzero(~point)), size, fwhm)
    return out


def add_points_to_image(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    flux: np.ndarray,
    size: int,
    psf: np.ndarray | None = None,
) -> None:
    """Add point sources through the PSF straight into an image ``(n_bands, H, W)``, e-/s.

    The same pixels as rendering each source on its own ``size`` patch
    centred on pixel ``floor(x), floor(y)`` and adding the patch to the
    image, without the patches: a mosaic's tens of thousands of field stars
    each add one table image.

    Parameters
    ----------
    image : float32 array (n_bands, H, W)
        Modified in place.
    x, y : arrays (N,)
        0-based positions, pixels.
    flux : array (N, n_bands)
        Total flux per band, e-/s.
    size : int
        Side of the patch the PSF is drawn on (its reach), pixels.
    psf : array (N, 5), optional
        FWHM per band at each source, pixels; default the WFC3/UVIS nominal PSF.
    """
    if psf is not None:
        for fwhm, rows in _psf_groups(psf, np.arange(len(x))):
            _add_points(image, x[rows], y[rows], np.asarray(flux)[rows], size, fwhm)
    else:
        _add_points(image, x, y, flux, size, NOMINAL_FWHM)


def _add_points(
    image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray, size: int, fwhm: tuple[float, ...]
) -> None:
    n_bands, height, width = image.shape
    table = point_source_table(size, fwhm)[:n_bands]
    steps = SUBPIXEL_STEPS
    half = size // 2
    base_x, base_y = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    whole_x, frac_x = np.divmod(np.round((x - base_x) * steps).astype(np.int64), steps)
    whole_y, frac_y = np.divmod(np.round((y - base_y) * steps).astype(np.int64), steps)
    flux = np.asarray(flux, np.float32)
    for k in range(len(base_x)):
        # Table pixels that stay on the source's own patch, then on the image.
        t_x0, t_x1 = max(0, -whole_x[k]), min(size, size - whole_x[k])
        t_y0, t_y1 = max(0, -whole_y[k]), min(size, size - whole_y[k])
        x0, y0 = base_x[k] + whole_x[k] - half, base_y[k] + whole_y[k] - half
        t_x0, t_x1 = max(t_x0, -x0), min(t_x1, width - x0)
        t_y0, t_y1 = max(t_y0, -y0), min(t_y1, height - y0)
        if t_x1 > t_x0 and t_y1 > t_y0:
            psf = table[:, frac_y[k], frac_x[k], t_y0:t_y1, t_x0:t_x1]
            image[:, y0 + t_y0 : y0 + t_y1, x0 + t_x0 : x0 + t_x1] += psf * flux[k][:, None, None]
