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
  smooth wings beyond 12 px are drawn at pixel resolution.
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
from starcnet_core.sim.psf import SUBPIXEL_STEPS, SUPERSAMPLE, fine_kernels, point_source_table

__all__ = ["Components", "render_patches"]

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


def _shifted_add(target: np.ndarray, image: np.ndarray, shift_x: int, shift_y: int) -> None:
    """``target += image`` moved by whole pixels (both ``(B, P, P)``), what falls off the edge dropped."""
    size = image.shape[-1]
    xs, xe = max(shift_x, 0), min(size + shift_x, size)
    ys, ye = max(shift_y, 0), min(size + shift_y, size)
    if xe > xs and ye > ys:
        target[:, ys:ye, xs:xe] += image[:, ys - shift_y : ye - shift_y, xs - shift_x : xe - shift_x]


def _points(out: np.ndarray, part: Components, size: int) -> None:
    """Add point sources (PSF, or one pixel for hot pixels) into ``out`` (n_patches, B, P, P)."""
    table = point_source_table(size)[: out.shape[1]]
    steps = SUBPIXEL_STEPS
    # Whole pixels and the nearest 1/16 px step of each offset.
    sub_x = np.round(part.dx * steps).astype(np.int64)
    sub_y = np.round(part.dy * steps).astype(np.int64)
    whole_x, frac_x = np.divmod(sub_x, steps)
    whole_y, frac_y = np.divmod(sub_y, steps)
    flux = part.flux.astype(np.float32)[:, :, None, None]
    centre = size // 2
    for k in range(len(part)):
        if part.sharp[k]:
            x, y = centre + int(np.round(part.dx[k])), centre + int(np.round(part.dy[k]))
            if 0 <= x < size and 0 <= y < size:
                out[part.patch[k], :, y, x] += flux[k, :, 0, 0]
            continue
        image = table[:, frac_y[k], frac_x[k]] * flux[k]
        _shifted_add(out[part.patch[k]], image, int(whole_x[k]), int(whole_y[k]))


@lru_cache(maxsize=4)
def _kernel_spectra(inner_fine: int, n_bands: int) -> tuple[np.ndarray, tuple[int, int]]:
    """rfft2 of the fine-grid PSFs, padded for the full linear convolution of ``inner_fine`` images."""
    kernels = fine_kernels()[:n_bands]
    shape = (inner_fine + kernels.shape[-1] - 1,) * 2
    return rfft2(kernels.astype(np.float32), s=shape), shape


def _extended(out: np.ndarray, part: Components, size: int) -> None:
    """Add extended components (EFF through the PSF, or cosmic-ray streaks) into ``out``.

    The profile's inner box (the PSF kernel's width, centred on the patch)
    is drawn on the fine grid and blurred there; the full linear convolution
    of that box covers exactly the patch. Beyond the box the profile is a
    smooth power-law wing, drawn at pixel resolution and not blurred.
    """
    n_bands = out.shape[1]
    s = SUPERSAMPLE
    half = fine_kernels().shape[-1] // (2 * s)  # kernel half-width, pixels
    inner = min(size, 2 * half)
    margin = (size - inner) // 2
    spectra, shape = _kernel_spectra(inner * s, n_bands)
    in_box = np.zeros((size, size), bool)
    in_box[margin : margin + inner, margin : margin + inner] = True
    # The convolved box spans patch fine pixels [start, start + len): crop or place it.
    start_fine = (margin - half) * s
    src = slice(max(0, -start_fine), min(shape[0], size * s - start_fine))
    dst = slice(max(0, start_fine), max(0, start_fine) + src.stop - src.start)
    for start in range(0, len(part), _CHUNK):
        chunk = part.take(np.arange(start, min(start + _CHUNK, len(part))))
        m = len(chunk)
        shape_args = (chunk.a, chunk.eta, chunk.q, chunk.theta)
        core = eff_images(*shape_args, inner, chunk.dx, chunk.dy, supersample=s, normalise=False)
        wing = eff_images(*shape_args, size, chunk.dx, chunk.dy, normalise=False) * ~in_box
        total = core.sum(axis=(1, 2)) / s**2 + wing.sum(axis=(1, 2))
        core = (core / (s**2 * total[:, None, None])).astype(np.float32)
        wing = (wing / total[:, None, None]).astype(np.float32)
        blurred = np.zeros((m, n_bands, size * s, size * s), np.float32)
        seen = np.flatnonzero(~chunk.sharp)
        if len(seen):
            full = irfft2(rfft2(core[seen], s=shape)[:, None] * spectra[None], s=shape)
            blurred[seen, :, dst, dst] = full[..., src, src]
        sharp = np.flatnonzero(chunk.sharp)
        box = slice(margin * s, (margin + inner) * s)
        blurred[sharp, :, box, box] = core[sharp, None]
        pixels = blurred.reshape(m, n_bands, size, s, size, s).sum(axis=(3, 5)) + wing[:, None]
        # Round-off of the float32 transforms (~1e-7 of the peak) is not light.
        np.maximum(pixels, 0.0, out=pixels)
        np.add.at(out, chunk.patch, pixels * chunk.flux[:, :, None, None].astype(np.float32))


def render_patches(components: Components, n_patches: int, size: int) -> np.ndarray:
    """Noiseless patches ``(n_patches, n_bands, size, size)`` float32, e-/s.

    Parameters
    ----------
    components : Components
        ``dx, dy`` relative to the centre of pixel ``size // 2`` of patch ``patch``.
    n_patches : int
    size : int
        Patch side, pixels.
    """
    n_bands = components.flux.shape[1]
    out = np.zeros((n_patches, n_bands, size, size), np.float32)
    point = components.a <= 0
    _points(out, components.take(np.flatnonzero(point)), size)
    _extended(out, components.take(np.flatnonzero(~point)), size)
    return out
