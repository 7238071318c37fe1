"""A LEGUS galaxy: its five band mosaics and its candidate catalog, read together.

:func:`read_galaxy` opens a galaxy directory as downloaded from MAST (five
mosaics and a catalog, with its readme when there is one), or a catalog file
with the mosaics given explicitly, and checks that the two fit: every
candidate must lie on the image. :meth:`LegusGalaxy.cutouts` then cuts the
StarcNet stamps of all candidates from the memory-mapped mosaics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from starcnet_core.catalogs import Catalog, read_catalog
from starcnet_core.cutouts import CutoutResult, extract_stamps
from starcnet_core.errors import UserInputError
from starcnet_core.mosaics import MOSAIC_SUFFIXES, MosaicSet, field_from_filename, open_mosaics

__all__ = ["LegusGalaxy", "read_galaxy", "find_catalog"]

_CATALOG_SUFFIXES = (".tab", ".csv", ".ecsv", ".txt", ".dat", ".cat")


@dataclass
class LegusGalaxy:
    """One field's mosaics and candidates.

    Attributes
    ----------
    field : str
        Field name, e.g. ``"ngc628-c"``.
    mosaics : MosaicSet
    catalog : Catalog
    """

    field: str
    mosaics: MosaicSet
    catalog: Catalog

    def cutouts(self, size: int = 32) -> CutoutResult:
        """Stamps of every candidate, ``(N, 5, size, size)`` e-/s, centred as the published code."""
        return extract_stamps(self.mosaics.arrays(), self.catalog.table["x"], self.catalog.table["y"], size)


def find_catalog(directory: Path) -> Path:
    """The candidate catalog of a galaxy directory.

    A LEGUS ``*multiband*.tab`` is preferred (the ``avgapcor`` one when there are
    several); otherwise the only table file. Readmes and descriptions are not
    catalogs.
    """
    files = [
        p
        for p in sorted(directory.iterdir())
        if p.is_file()
        and p.suffix.lower() in _CATALOG_SUFFIXES
        and not re.search(r"readme|description|truth", p.name, re.IGNORECASE)
    ]
    for pattern in (r"multiband.*avgapcor.*\.tab$", r"multiband.*\.tab$", r"\.tab$"):
        matches = [p for p in files if re.search(pattern, p.name, re.IGNORECASE)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            files = matches
            break
    if len(files) == 1:
        return files[0]
    if not files:
        raise UserInputError(f"{directory}: no candidate catalog (.tab, .csv, .ecsv) in the directory")
    raise UserInputError(
        f"{directory}: several possible catalogs ({', '.join(p.name for p in files)}); choose one with --catalog"
    )


def read_galaxy(
    path: str | Path,
    *,
    catalog: str | Path | None = None,
    mosaics: str | Path | Sequence[str | Path] | None = None,
    readme: str | Path | None = None,
    label_column: str | None = None,
    label_source: str | None = None,
    zero_based: bool = False,
) -> LegusGalaxy:
    """Read a galaxy's mosaics and catalog.

    Parameters
    ----------
    path : str or Path
        A galaxy directory (mosaics and catalog), or a catalog file whose
        mosaics are in ``mosaics`` (default: the catalog's directory).
    catalog : str or Path, optional
        Catalog file, when ``path`` is a directory holding several tables.
    mosaics : path or sequence of paths, optional
        Directory of the mosaics, or five FITS paths.
    readme, label_column, label_source, zero_based
        Passed to :func:`starcnet_core.catalogs.read_catalog`.

    Returns
    -------
    LegusGalaxy

    Raises
    ------
    UserInputError
        Any problem with the mosaics or catalog, or candidates off the image.
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory")
    if path.is_dir():
        catalog_path = Path(catalog) if catalog is not None else find_catalog(path)
        mosaic_source = mosaics if mosaics is not None else path
    else:
        if path.suffix.lower() in MOSAIC_SUFFIXES and catalog is None:
            raise UserInputError(f"{path}: a mosaic, not a catalog; give the galaxy directory or the catalog")
        catalog_path = path
        mosaic_source = mosaics if mosaics is not None else path.parent
    mosaic_set = open_mosaics(mosaic_source)
    table = read_catalog(
        catalog_path,
        readme,
        label_column=label_column,
        label_source=label_source,
        zero_based=zero_based,
        wcs=mosaic_set.wcs,
    )
    _check_on_image(table, mosaic_set)
    field = field_from_filename(catalog_path.name) or mosaic_set.field
    return LegusGalaxy(field=field, mosaics=mosaic_set, catalog=table)


def _check_on_image(catalog: Catalog, mosaics: MosaicSet) -> None:
    """Raise UserInputError when candidates lie outside the image (1-based pixel centres)."""
    ny, nx = mosaics.shape
    x, y = np.asarray(catalog.table["x"]), np.asarray(catalog.table["y"])
    outside = (x < 0.5) | (y < 0.5) | (x > nx + 0.5) | (y > ny + 0.5)
    if np.any(outside):
        first = int(np.flatnonzero(outside)[0])
        raise UserInputError(
            f"{catalog.path}: {int(outside.sum())} candidate(s) outside the {nx}x{ny}-pixel image, "
            f"e.g. id {catalog.table['id'][first]} at x={x[first]:.1f}, y={y[first]:.1f} "
            "(wrong mosaics, or 0-based positions: see zero_based)"
        )
