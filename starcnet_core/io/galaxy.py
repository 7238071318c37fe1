"""A LEGUS galaxy: its five band mosaics and its candidate catalog, read together.

:func:`read_galaxy` opens a galaxy directory as downloaded from MAST (five
mosaics and a catalog, with its readme when there is one, also in sub-folders
as unpacked archives leave them), or a catalog file with the mosaics given
explicitly, and checks that the two fit: most candidates must lie on the
image (those outside, as in a catalog spanning two pointings, are cut with the
reason ``"outside"``; a catalog mostly off the image is an error naming the
likely cause). With no mosaics at all, :func:`read_galaxy_catalog` reads the
catalog alone. :func:`find_catalog` says which file of a directory is the catalog. :meth:`LegusGalaxy.cutouts` then cuts the
StarcNet stamps of all candidates from the memory-mapped mosaics.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from starcnet_core.errors import UserInputError
from starcnet_core.io.catalogs import Catalog, read_catalog
from starcnet_core.io.cutouts import CutoutResult, extract_stamps, on_image
from starcnet_core.io.mosaics import (
    GZIP_SUFFIXES,
    MOSAIC_SUFFIXES,
    MosaicSet,
    field_from_filename,
    galaxy_files,
    has_mosaic_files,
    is_mosaic_field,
    open_mosaics,
)

__all__ = [
    "LegusGalaxy",
    "read_galaxy",
    "read_galaxy_catalog",
    "has_mosaics",
    "find_catalog",
    "MOSTLY_OUTSIDE",
]

#: Fraction of candidates off the mosaics above which the catalog and mosaics do not belong together.
MOSTLY_OUTSIDE = 0.5

_TEXT_SUFFIXES = (".tab", ".csv", ".ecsv", ".txt", ".dat", ".cat")
_FITS_SUFFIXES = (*MOSAIC_SUFFIXES, *GZIP_SUFFIXES)
# Tiers of catalog files, most specific first: within the first tier that has any, one must be chosen.
_TIERS = (
    ("LEGUS multiband avgapcor .tab", r"multiband.*avgapcor.*\.tab$"),
    ("LEGUS multiband .tab", r"multiband.*\.tab$"),
    (".tab", r"\.tab$"),
    ("table with named columns", r"\.(ecsv|csv|fits?|fts|fits\.gz)$"),
    ("text table", r"\.(txt|dat|cat)$"),
)


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


def _is_fits_table(path: Path) -> bool:
    """Whether a FITS file holds a table rather than an image (headers only are read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        try:
            with fits.open(path, memmap=True, mode="readonly") as hdul:
                for hdu in hdul:
                    if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
                        return True
                    if hdu.header.get("NAXIS", 0) >= 2:
                        return False
        except (OSError, ValueError, TypeError, IndexError):
            return False
    return False


def find_catalog(directory: Path) -> Path:
    """The candidate catalog of a galaxy directory (or, when it holds none, of its sub-folders, two levels down).

    A LEGUS ``*multiband*avgapcor*.tab`` is preferred, then another
    ``*multiband*.tab``, any ``.tab``, a table with named columns (FITS table,
    ECSV, CSV), then other text tables (``.txt``, ``.dat``, ``.cat``). Readmes,
    descriptions and the simulator's truth files are not catalogs; FITS images
    (the mosaics) are not either.

    Raises
    ------
    UserInputError
        No catalog, or several of the same kind (each is named; choose one).
    """
    directory = Path(directory)
    files = []
    for path in galaxy_files(directory):
        name = path.name.lower()
        if re.search(r"readme|description|truth", name):
            continue
        if name.endswith(_TEXT_SUFFIXES) or (name.endswith(_FITS_SUFFIXES) and _is_fits_table(path)):
            files.append(path)
    # The directory's own tables first; its sub-folders' when it has none.
    own = [p for p in files if p.parent == directory]
    files = own or files
    for kind, pattern in _TIERS:
        matches = [p for p in files if re.search(pattern, p.name, re.IGNORECASE)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(str(p.relative_to(directory)) for p in matches)
            raise UserInputError(
                f"{directory}: several possible catalogs ({len(matches)}, each a {kind}): {shown}; "
                "name the one to use (--catalog on the command line, the catalog file name when importing in the app)"
            )
    raise UserInputError(
        f"{directory}: no candidate catalog (a LEGUS .tab, or a FITS, ECSV or CSV table) "
        "in the directory or its sub-folders"
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
    frame: str = "auto",
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
        Passed to :func:`starcnet_core.io.catalogs.read_catalog`.
    frame : {"auto", "pointing", "mosaic"}
        For catalogs listing positions on the pointing and on the mosaic frame
        (NGC 1313): which pair to use. ``"auto"``: the pair the mosaics' WCS
        confirms, else the mosaic frame when the mosaics are a LEGUS mosaic
        field (``..._sci.fits``), else the pointing's.

    Returns
    -------
    LegusGalaxy

    Raises
    ------
    UserInputError
        Any problem with the mosaics or catalog, or most candidates off the image.
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory")
    if path.is_dir():
        catalog_path = Path(catalog) if catalog is not None else find_catalog(path)
        mosaic_source = mosaics if mosaics is not None else path
    else:
        if path.name.lower().endswith((*MOSAIC_SUFFIXES, *GZIP_SUFFIXES)) and catalog is None:
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
        frame=frame,
        mosaic_field=is_mosaic_field(mosaic_set),
    )
    _check_coverage(table, mosaic_set)
    field = field_from_filename(catalog_path.name) or mosaic_set.field
    return LegusGalaxy(field=field, mosaics=mosaic_set, catalog=table)


def has_mosaics(path: str | Path) -> bool:
    """Whether a galaxy directory, or the directory of a catalog file, holds any mosaic file."""
    path = Path(path)
    return has_mosaic_files(path if path.is_dir() else path.parent)


def read_galaxy_catalog(
    path: str | Path,
    *,
    catalog: str | Path | None = None,
    readme: str | Path | None = None,
    label_column: str | None = None,
    label_source: str | None = None,
    zero_based: bool = False,
    frame: str = "auto",
) -> Catalog:
    """Read the catalog of a galaxy directory, or a catalog file, without mosaics.

    For checking a catalog before its mosaics are downloaded: positions stay
    as the catalog gives them (``frame="auto"`` takes the pointing's where
    two pairs are listed), and candidates given only by RA/Dec cannot be
    placed. Parameters as :func:`read_galaxy`.
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory")
    catalog_path = (Path(catalog) if catalog is not None else find_catalog(path)) if path.is_dir() else path
    return read_catalog(
        catalog_path,
        readme,
        label_column=label_column,
        label_source=label_source,
        zero_based=zero_based,
        frame=frame,
    )


def _check_coverage(catalog: Catalog, mosaics: MosaicSet) -> None:
    """Raise UserInputError, naming the likely cause, when most candidates lie off the image.

    A few candidates off the image (a catalog spanning two pointings, a field
    edge) are fine: their stamps are cut with reason ``"outside"``.
    """
    table = catalog.table
    x, y = np.asarray(table["x"], dtype=float), np.asarray(table["y"], dtype=float)
    on = on_image(x, y, mosaics.shape)
    if np.count_nonzero(~on) <= MOSTLY_OUTSIDE * len(on):
        return
    ny, nx = mosaics.shape
    first = int(np.flatnonzero(~on)[0])
    message = (
        f"{catalog.path}: {int(np.count_nonzero(~on))} of {len(on)} candidates lie outside the "
        f"{nx}x{ny}-pixel mosaics (e.g. id {table['id'][first]} at x={x[first]:.1f}, y={y[first]:.1f}): "
    )
    raise UserInputError(message + _likely_cause(catalog, mosaics))


def _likely_cause(catalog: Catalog, mosaics: MosaicSet) -> str:
    """Why a catalog's positions miss the mosaics, from what the other positions and the WCS say."""
    table, names = catalog.table, catalog.table.colnames
    other = {
        "pointing": ("x_mosaic", "y_mosaic", "mosaic"),
        "mosaic": ("x_pointing", "y_pointing", "pointing"),
    }
    if catalog.frame in other:
        xname, yname, frame = other[catalog.frame]
        on = on_image(
            np.asarray(table[xname], dtype=float), np.asarray(table[yname], dtype=float), mosaics.shape
        )
        if np.mean(on) > 1 - MOSTLY_OUTSIDE:
            return (
                f"these are positions on the {catalog.frame} frame, and the catalog's {frame}-frame "
                f"positions fit these mosaics: use --frame {frame}"
            )
    catalog_field = field_from_filename(Path(catalog.path).name)
    fields = (
        f" (the catalog is of {catalog_field}, the mosaics of {mosaics.field})"
        if catalog_field and catalog_field != mosaics.field.lower()
        else ""
    )
    if mosaics.wcs is not None and {"ra", "dec"} <= set(names):
        ra, dec = np.asarray(table["ra"], dtype=float), np.asarray(table["dec"], dtype=float)
        px, py = mosaics.wcs.world_to_pixel_values(ra, dec)
        if np.mean(on_image(np.asarray(px) + 1.0, np.asarray(py) + 1.0, mosaics.shape)) > 1 - MOSTLY_OUTSIDE:
            return (
                "their RA/Dec are on these mosaics but their x, y are not: the x, y are on another pixel "
                "frame (a pointing's rather than the mosaic's, see --frame), or offset or flipped"
            )
        centre = mosaics.wcs.pixel_to_world_values((mosaics.shape[1] - 1) / 2, (mosaics.shape[0] - 1) / 2)
        return (
            f"their RA/Dec (around {np.nanmedian(ra):.4f}, {np.nanmedian(dec):.4f} deg) are not on these mosaics "
            f"either (centred on {float(centre[0]):.4f}, {float(centre[1]):.4f}): the mosaics are of another "
            f"field{fields}"
        )
    return (
        f"wrong mosaics for this catalog{fields}, positions on another frame (pointing vs mosaic, "
        "see --frame), or 0-based or swapped x, y"
    )
