"""A JSON-ready summary of a galaxy, or of a catalog alone: what was found, what can be cut, which labels.

:func:`summarize_catalog` reports a catalog read without mosaics: its layout
and why, the number of candidates, the counts per class of each label source
and of every class-like column (and which of them the user must choose
among), the ranges of positions, photometry, CI and SED-fit results, and what
cutting stamps would need. :func:`summarize_galaxy` adds the field, each
band's file, filter and instrument, the image shape and pixel scale, and the
number of candidates usable for cutouts with the excluded ones by reason. It
is what ``python -m starcnet_core inspect`` prints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from starcnet_core.io.bands import BAND_FILTERS, BANDS
from starcnet_core.io.catalogs import Catalog
from starcnet_core.io.cutouts import REASONS, extract_stamps
from starcnet_core.io.galaxy import LegusGalaxy
from starcnet_core.io.legus_columns import LabelChoice
from starcnet_core.io.mosaics import field_from_filename

__all__ = ["summarize_galaxy", "summarize_catalog"]

_CHUNK = 4096
# Catalog quantities whose ranges are reported, besides the magnitudes.
_RANGES = ("x", "y", "ra", "dec", "ci", "age", "mass", "ebv")


def _choice(choice: LabelChoice) -> dict[str, Any]:
    return {"column": choice.column, "name": choice.name, "counts": dict(choice.counts)}


def _range(values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {"finite": 0, "min": None, "max": None}
    return {"finite": int(len(finite)), "min": float(finite.min()), "max": float(finite.max())}


def summarize_catalog(catalog: Catalog) -> dict[str, Any]:
    """Summarise a catalog, read without mosaics, as plain JSON types.

    Parameters
    ----------
    catalog : Catalog

    Returns
    -------
    dict
        ``catalog`` (file), ``layout`` (what was decided, e.g. ``"legus-34:
        classes in 34, no mean"``), ``layout_evidence`` (why), ``position_frame``
        (``"pointing"`` or ``"mosaic"`` for catalogs that list both, else None),
        ``candidates``, ``labels`` (source -> class -> count, class "0"
        meaning not classified), ``class_columns`` (every class-like column
        found from the values: column, name, value counts), ``label_choices``
        (those of them the user must choose among with ``--label-column``;
        empty when the label was decided), ``ranges`` (quantity -> finite
        count, min, max), ``photometry`` (band -> detected count, min and max
        Vega mag), ``nflt`` (value -> count), ``needs`` (what cutting stamps
        needs: bands and filters, the field, the pixel extent).
    """
    table = catalog.table
    names = table.colnames
    labels = {
        source: {str(c): int(n) for c, n in enumerate(np.bincount(values, minlength=5))}
        for source, values in catalog.labels.items()
    }
    photometry = {}
    for band in BANDS:
        if f"mag_{band}" in names:
            detected = _range(np.asarray(table[f"mag_{band}"], dtype=float))
            photometry[band] = {
                "detected": detected["finite"],
                "min": detected["min"],
                "max": detected["max"],
            }
    nflt = {}
    if "nflt" in names:
        values, counts = np.unique(np.asarray(table["nflt"], dtype=float), return_counts=True)
        nflt = {f"{v:g}": int(n) for v, n in zip(values, counts, strict=True)}
    x, y = _range(np.asarray(table["x"], dtype=float)), _range(np.asarray(table["y"], dtype=float))
    field = field_from_filename(catalog.path.name) if catalog.path is not None else None
    return {
        "catalog": str(catalog.path),
        "layout": catalog.layout,
        "layout_evidence": list(catalog.layout_evidence),
        "position_frame": catalog.frame,
        "candidates": len(catalog),
        "labels": labels,
        "class_columns": [_choice(c) for c in catalog.class_columns],
        "label_choices": [_choice(c) for c in catalog.label_choices],
        "ranges": {name: _range(np.asarray(table[name], dtype=float)) for name in _RANGES if name in names},
        "photometry": photometry,
        "nflt": nflt,
        "needs": {
            "mosaics": {band: "/".join(filters) for band, filters in BAND_FILTERS.items()},
            "field": field,
            "min_shape": [int(np.ceil(y["max"] - 0.5)), int(np.ceil(x["max"] - 0.5))],
            "text": (
                f"five aligned mosaics ({', '.join('/'.join(f) for f in BAND_FILTERS.values())})"
                + (f" of {field}" if field else "")
                + f" on the catalog's pixel grid, covering x {x['min']:.0f}-{x['max']:.0f} and "
                f"y {y['min']:.0f}-{y['max']:.0f} (1-based), e.g. the MAST LEGUS *_drc.fits(.gz) files; "
                "give their directory with --mosaics"
            ),
        },
    }


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
        What :func:`summarize_catalog` gives (less ``needs``), and ``field``,
        ``bands`` (band -> file, filter, instrument), ``shape`` ``[ny, nx]``,
        ``pixel_scale_arcsec``, ``usable``, ``excluded`` (reason -> count,
        ``"outside"`` for candidates off the mosaics), ``stamp_size``.
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
    catalog = summarize_catalog(galaxy.catalog)
    del catalog["needs"]
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
        **catalog,
        "usable": usable,
        "excluded": excluded,
        "stamp_size": size,
    }
