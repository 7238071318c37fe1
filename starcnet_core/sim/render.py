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
    ky = np.fft.fftfreq(size)[None, :, None]
    kx = np.fft.rfftfreq(size)[None, None, :]
    half = size // 2 + 1
    blurred = np.zeros((n_patches, n_bands, size, half), np.complex64)
    direct = np.zeros_like(blurred)
    # Sorted by patch, each chunk's sums per patch are contiguous runs (reduceat).
    order = np.argsort(components.patch, kind="stable")
    for start in range(0, len(order), _CHUNK):
        part = components.take(order[start : start + _CHUNK])
        dx = np.where(part.sharp, np.round(part.dx), part.dx)
        dy = np.where(part.sharp, np.round(part.dy), part.dy)
        # A point source's spectrum is 1: only extended profiles need an image.
        spectra = np.ones((len(part), size, half), np.complex64)
        extended = np.flatnonzero(part.a > 0)
        if len(extended):
            images = eff_images(
                part.a[extended], part.eta[extended], part.q[extended], part.theta[extended], size
            )
            # Profiles are centred on pixel size // 2: move them to the origin
            # before the transform so that the phase ramp alone places them.
            spectra[extended] = np.fft.rfft2(np.fft.ifftshift(images, axes=(-2, -1)))
        # The shift's phase ramp is separable in x and y.
        spectra *= np.exp(-2j * np.pi * ky * dy[:, None, None]).astype(np.complex64)
        spectra *= np.exp(-2j * np.pi * kx * dx[:, None, None]).astype(np.complex64)
        contrib = spectra[:, None] * part.flux[:, :, None, None].astype(np.float32)
        for target, rows in ((blurred, ~part.sharp), (direct, part.sharp)):
            if not rows.any():
                continue
            patch = part.patch[rows]
            starts = np.flatnonzero(np.r_[True, patch[1:] != patch[:-1]])
            target[patch[starts]] += np.add.reduceat(contrib[rows], starts, axis=0)
    spectra = blurred * otf[None] + direct
    out = np.fft.irfft2(spectra, s=(size, size))
    out = np.fft.fftshift(out, axes=(-2, -1))
    return out.astype(np.float32)
