"""Light profiles of simulated sources: elliptical EFF (Elson, Fall & Freeman 1987).

``I(r) ∝ (1 + r²/a²)^(-eta)`` with r the elliptical radius; Ryon et al.
(2017) fit LEGUS clusters with it. A core radius ``a = 0`` is a point source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eff_core_radius", "eff_images"]


def eff_core_radius(reff: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """EFF core radius ``a`` giving half-light radius ``reff`` (same units), for eta > 1."""
    return reff / np.sqrt(2.0 ** (1.0 / (eta - 1.0)) - 1.0)


def eff_images(a: np.ndarray, eta: np.ndarray, q: np.ndarray, theta: np.ndarray, size: int) -> np.ndarray:
    """Unit-sum EFF images centred on pixel ``size // 2``: ``(M, size, size)`` float64.

    Parameters
    ----------
    a : array (M,)
        Core radius along the major axis, pixels; 0 gives a single-pixel point.
    eta : array (M,)
        Power-law index (> 1 for a finite total flux; truncated at the patch edge anyway).
    q : array (M,)
        Minor/major axis ratio, 0-1.
    theta : array (M,)
        Major-axis angle from +x, radians.
    size : int
        Patch side, pixels.
    """
    coords = np.arange(size, dtype=np.float64) - size // 2
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    x, y = coords[None, None, :], coords[None, :, None]
    u = x * c + y * s
    v = (-x * s + y * c) / q[:, None, None]
    # A floor on the core radius keeps a sub-pixel core from aliasing to one
    # pixel's value; point sources are handled separately below.
    core = np.maximum(a, 0.35)[:, None, None]
    images = (1.0 + (u * u + v * v) / core**2) ** (-eta[:, None, None])
    point = a <= 0
    if np.any(point):
        images[point] = 0.0
        images[point, size // 2, size // 2] = 1.0
    return images / images.sum(axis=(1, 2), keepdims=True)
