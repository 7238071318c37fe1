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
    otf = band_otfs(size)[:n_bands]
    ky = np.fft.fftfreq(size)[:, None]
    kx = np.fft.rfftfreq(size)[None, :]
    blurred = np.zeros((n_patches, n_bands, size, size // 2 + 1), np.complex128)
    direct = np.zeros_like(blurred)
    for start in range(0, len(components), _CHUNK):
        part = slice(start, start + _CHUNK)
        sharp = components.sharp[part]
        dx = np.where(sharp, np.round(components.dx[part]), components.dx[part])
        dy = np.where(sharp, np.round(components.dy[part]), components.dy[part])
        images = eff_images(
            components.a[part], components.eta[part], components.q[part], components.theta[part], size
        )
        # Profiles are centred on pixel size // 2: shift them to the origin
        # before the transform so that the phase ramp alone places them.
        spectra = np.fft.rfft2(np.fft.ifftshift(images, axes=(-2, -1)))
        spectra *= np.exp(-2j * np.pi * (kx * dx[:, None, None] + ky * dy[:, None, None]))
        contrib = spectra[:, None] * components.flux[part][:, :, None, None]
        patch = components.patch[part]
        np.add.at(blurred, patch[~sharp], contrib[~sharp])
        np.add.at(direct, patch[sharp], contrib[sharp])
    spectra = blurred * otf[None] + direct
    out = np.fft.irfft2(spectra, s=(size, size))
    out = np.fft.fftshift(out, axes=(-2, -1))
    return out.astype(np.float32)
