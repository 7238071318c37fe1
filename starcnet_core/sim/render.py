"""Render source components into noiseless multi-band patches (e-/s).

A scene is a flat list of components, each belonging to one patch: a
position relative to the patch centre (sub-pixel, pixels), a flux per band
(e-/s), an EFF shape and whether it is seen through the telescope (convolved
with the band PSF) or lands on the detector directly (hot pixels, cosmic
rays). Galaxy mode and survey mode both draw their sources through
:func:`render_patches`, so stamps of the survey and cutouts of a simulated
galaxy are made alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starcnet_core.sim.profiles import eff_images
from starcnet_core.sim.psf import band_otfs

__all__ = ["Components", "render_patches"]

_CHUNK = 512


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
        EFF shape (see :func:`starcnet_core.sim.profiles.eff_images`).
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


def render_patches(components: Components, n_patches: int, size: int) -> np.ndarray:
    """Noiseless patches ``(n_patches, n_bands, size, size)`` float32, e-/s.

    Each component's profile is made at the patch centre, moved to its
    sub-pixel position by a Fourier phase shift, summed per patch and
    convolved with each band's PSF in the Fourier domain. Artifacts are
    moved by whole pixels only, so that a hot pixel stays one pixel.
    """
    n_bands = components.flux.shape[1]
    otf = band_otfs(size)[:n_bands].astype(np.complex64)
    centre = size // 2
    ky = np.fft.fftfreq(size)[None, :]
    kx = np.fft.rfftfreq(size)[None, :]
    out = np.zeros((n_patches, n_bands, size, size), np.float32)
    # Sorted by patch, each chunk's sums per patch are contiguous runs (reduceat).
    order = np.argsort(components.patch, kind="stable")
    for start in range(0, len(order), _CHUNK):
        part = components.take(order[start : start + _CHUNK])
        point = part.a <= 0
        # Extended profiles are made centred on the patch centre, so their
        # spectra carry that shift; a point source's spectrum is the phase ramp
        # alone, which takes it to the centre as well. Artifacts move by whole pixels.
        dx = np.where(part.sharp, np.round(part.dx), part.dx) + np.where(point, centre, 0)
        dy = np.where(part.sharp, np.round(part.dy), part.dy) + np.where(point, centre, 0)
        # The shift's phase ramp is separable in x and y.
        ramp_y = np.exp(-2j * np.pi * ky * dy[:, None]).astype(np.complex64)
        ramp_x = np.exp(-2j * np.pi * kx * dx[:, None]).astype(np.complex64)
        spectra = ramp_y[:, :, None] * ramp_x[:, None, :]
        extended = np.flatnonzero(~point)
        if len(extended):
            images = eff_images(
                part.a[extended], part.eta[extended], part.q[extended], part.theta[extended], size
            )
            spectra[extended] *= np.fft.rfft2(images).astype(np.complex64)
        contrib = spectra[:, None] * part.flux[:, :, None, None].astype(np.float32)
        # Light through the telescope is blurred by the band's PSF; detector artifacts are not.
        np.multiply(contrib, otf[None], out=contrib, where=~part.sharp[:, None, None, None])
        patch = part.patch
        starts = np.flatnonzero(np.r_[True, patch[1:] != patch[:-1]])
        if len(starts) < len(patch):
            contrib = np.add.reduceat(contrib, starts, axis=0)
        out[patch[starts]] += np.fft.irfft2(contrib, s=(size, size))
    return out
