"""Overlay image of a field with its candidates circled by predicted class.

As the published StarcNet visualisation (Pérez et al. 2021, Fig. 7): the
paper's RGB composite of the five bands (:func:`starcnet_core.display.mix_rgb`,
the mixer of the app's views too: ACS bands rescaled, clipped to [0, 1]) with a circle around each candidate, red / green / blue / yellow
for classes 1 / 2 / 3 / 4 and opacity given by the predicted class's score.
Large mosaics are subsampled to at most ``max_side`` pixels a side first, so
only the rows that are shown are read from the memory-mapped files. North is
up (row 0 at the bottom), as DS9 shows the mosaics.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

# The object-oriented Figure API renders with Agg and never touches pyplot's global state.
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from starcnet_core.atomic_write import atomic_path
from starcnet_core.display import display_scales, mix_rgb
from starcnet_core.io.bands import BANDS, CLASS_NAMES
from starcnet_core.io.mosaics import MosaicSet

__all__ = ["OVERLAY_COLORS", "field_rgb", "write_overlay"]

#: Circle colour per predicted class, as the published visualisation.
OVERLAY_COLORS: dict[int, tuple[float, float, float]] = {
    1: (1.0, 0.0, 0.0),
    2: (0.0, 1.0, 0.0),
    3: (0.0, 0.4, 1.0),
    4: (1.0, 1.0, 0.0),
}


def field_rgb(mosaics: MosaicSet, max_side: int = 2000) -> tuple[np.ndarray, int]:
    """The paper's RGB composite of ``mosaics``, subsampled to at most ``max_side`` pixels.

    Returns
    -------
    rgb : numpy.ndarray
        ``(ny / step, nx / step, 3)`` float32 in [0, 1]; NaN pixels are black.
    step : int
        Subsampling step in mosaic pixels.
    """
    step = max(1, math.ceil(max(mosaics.shape) / max_side))
    images = mosaics.bands.values()
    scales = display_scales({i.band: i.filter for i in images}, {i.band: i.instrument for i in images})
    mixed = mix_rgb([mosaics.bands[b].data[::step, ::step] for b in BANDS], BANDS, scales)
    rgb = np.nan_to_num(np.clip(mixed, 0.0, 1.0), nan=0.0)
    return rgb.astype(np.float32), step


def write_overlay(
    path: str | os.PathLike,
    mosaics: MosaicSet,
    x: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    max_side: int = 2000,
    radius_px: float = 10.0,
) -> Path:
    """Write a PNG of the field with candidates circled by predicted class (atomically).

    Parameters
    ----------
    path : path-like
        Output ``.png``.
    mosaics : MosaicSet
    x, y : numpy.ndarray
        Candidate positions, mosaic pixels, 1-based (as in LEGUS catalogs).
    classes : numpy.ndarray
        Predicted class 1-4.
    scores : numpy.ndarray, optional
        ``(N, 4)`` softmax scores; the predicted class's score sets the circle opacity.
    max_side : int
        Longest side of the image in pixels.
    radius_px : float
        Circle radius in output-image pixels.
    """
    rgb, step = field_rgb(mosaics, max_side)
    classes = np.asarray(classes, dtype=int)
    alpha = (
        np.ones(len(classes)) if scores is None else np.asarray(scores)[np.arange(len(classes)), classes - 1]
    )
    colors = np.array(
        [(*OVERLAY_COLORS.get(int(c), (1.0, 1.0, 1.0)), a) for c, a in zip(classes, alpha, strict=True)]
    )
    ny, nx = rgb.shape[:2]
    dpi = 100
    figure = Figure(figsize=(nx / dpi, ny / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(rgb, origin="lower", interpolation="nearest")
    # 1-based mosaic pixel -> 0-based subsampled image coordinate.
    points = (radius_px * 72 / dpi) ** 2 * 4
    axes.scatter(
        (np.asarray(x) - 1) / step,
        (np.asarray(y) - 1) / step,
        s=points,
        facecolors="none",
        edgecolors=colors,
        linewidths=2,
    )
    axes.set_xlim(-0.5, nx - 0.5)
    axes.set_ylim(-0.5, ny - 0.5)
    axes.set_axis_off()
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="none",
            markeredgecolor=color,
            label=f"{k} {CLASS_NAMES[k]}",
        )
        for k, color in OVERLAY_COLORS.items()
    ]
    axes.legend(handles=handles, loc="upper right", framealpha=0.7, fontsize=max(6, min(nx, ny) // 60))
    target = Path(path)
    with atomic_path(target) as staging:
        figure.savefig(staging, dpi=dpi, format="png")
    return target
