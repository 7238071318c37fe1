"""A JSON-ready summary of a galaxy: what was found, what can be cut, which labels.

:func:`summarize_galaxy` reports the field, each band's file, filter and
instrument, the image shape and pixel scale, the number of candidates and of
those usable for cutouts, the excluded ones by reason, and the counts per
class of each label source. It is what ``python -m starcnet_core inspect``
prints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from starcnet_core.io.cutouts import REASONS, extract_stamps
from starcnet_core.io.galaxy import LegusGalaxy

__all__ = ["summarize_galaxy"]

_CHUNK = 4096


def summarize_galaxy(galaxy: LegusGalaxy, size: int = 32) -> dict[str, Any]:
    """Summarise a galaxy as plain JSON types.

    Parameters
    ----------
    galaxy : LegusGalaxy
    size : int
        Stamp side, pixels, for the usable / excluded counts.

    Returns
    -------
    dict
        ``field``, ``bands`` (band -> file, filter, instrument), ``shape``
        ``[ny, nx]``, ``pixel_scale_arcsec``, ``catalog``, ``catalog_layout``,
        ``position_frame`` (``"pointing"`` or ``"mosaic"`` for catalogs that
        list both, else None), ``candidates``, ``usable``, ``excluded`` (reason -> count),
        ``stamp_size``, ``labels`` (source -> class -> count, class "0"
        meaning not classified).
    """
    mosaics = galaxy.mosaics
    x, y = np.asarray(galaxy.catalog.table["x"]), np.asarray(galaxy.catalog.table["y"])
    excluded = dict.fromkeys(REASONS, 0)
    usable = 0
    # In chunks: only the reasons are kept, so memory stays bounded for any catalog.
    for start in range(0, len(x), _CHUNK):
        cut = extract_stamps(mosaics.arrays(), x[start : start + _CHUNK], y[start : start + _CHUNK], size)
        usable += int(np.count_nonzero(cut.usable))
        for reason, count in cut.excluded_counts().items():
            excluded[reason] += count
    labels = {
        source: {str(c): int(n) for c, n in enumerate(np.bincount(values, minlength=5))}
        for source, values in galaxy.catalog.labels.items()
    }
    return {
        "field": galaxy.field,
        "bands": {
            band: {"file": str(image.path), "filter": image.filter, "instrument": image.instrument}
            for band, image in mosaics.bands.items()
        },
        "shape": [int(n) for n in mosaics.shape],
        "pixel_scale_arcsec": None
        if mosaics.pixel_scale_arcsec is None
        else round(mosaics.pixel_scale_arcsec, 5),
        "catalog": str(galaxy.catalog.path),
        "catalog_layout": galaxy.catalog.layout,
        "position_frame": galaxy.catalog.frame,
        "candidates": len(galaxy.catalog),
        "usable": usable,
        "excluded": excluded,
        "stamp_size": size,
        "labels": labels,
    }
