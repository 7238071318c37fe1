"""DS9 region files marking candidates by class, to overlay on a mosaic in DS9.

:func:`write_ds9_regions` writes one circle per candidate in image
coordinates (1-based, as LEGUS and DS9 count pixels), coloured by class, with
an optional text label (e.g. the candidate id or "pred 1 / human 2"). The
file is serialised by astropy's ``regions`` package (whose pixel regions are
0-based, so the positions are shifted by one on the way in).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from regions import CirclePixelRegion, PixCoord, RegionMeta, Regions, RegionVisual

from starcnet_core.atomic_write import write_text_atomic

__all__ = ["write_ds9_regions", "CLASS_COLORS"]

#: DS9 colour per class; 0 (not classified) is white.
CLASS_COLORS: dict[int, str] = {0: "white", 1: "green", 2: "cyan", 3: "yellow", 4: "red"}


def write_ds9_regions(
    path: str | Path,
    x,
    y,
    classes,
    *,
    labels=None,
    radius: float = 8.0,
    colors: dict[int, str] | None = None,
) -> None:
    """Write a DS9 region file with one circle per candidate.

    Parameters
    ----------
    path : str or Path
    x, y : array_like
        Positions, pixels, 1-based (image coordinates as DS9 uses them).
    classes : array_like of int
        Class 0-4 of each candidate, which picks its colour.
    labels : sequence of str, optional
        Text shown next to each circle.
    radius : float
        Circle radius, pixels.
    colors : dict[int, str], optional
        Class -> DS9 colour name (default :data:`CLASS_COLORS`).
    """
    palette = {**CLASS_COLORS, **(colors or {})}
    x, y, classes = np.asarray(x, float), np.asarray(y, float), np.asarray(classes, int)
    texts = [None] * len(x) if labels is None else [str(t) for t in labels]
    if not (len(x) == len(y) == len(classes) == len(texts)):
        raise ValueError("x, y, classes and labels must have one entry per candidate")
    shapes = Regions(
        [
            CirclePixelRegion(
                PixCoord(xx - 1.0, yy - 1.0),
                radius,
                meta=RegionMeta({"text": text}) if text else RegionMeta(),
                visual=RegionVisual({"color": palette.get(int(cls), "white")}),
            )
            for xx, yy, cls, text in zip(x, y, classes, texts, strict=True)
        ]
    )
    write_text_atomic(Path(path), shapes.serialize(format="ds9"))
