"""Tiny LEGUS-format galaxies written by tests: five FITS mosaics and a 35-column catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from starcnet_core.io.legus_columns import STANDARD_35, readme_text

WFC3_FILTERS = {"NUV": "F275W", "U": "F336W", "B": "F438W", "V": "F555W", "I": "F814W"}
ACS_BANDS = {"B": "F435W", "V": "F606W", "I": "F814W"}


def tiny_wcs(shape: tuple[int, int], scale_arcsec: float = 0.0396) -> WCS:
    """A TAN WCS centred on the image, ``scale_arcsec`` per pixel."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [24.174, 15.784]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-scale_arcsec / 3600, scale_arcsec / 3600]
    return wcs


def write_mosaic(path: Path, data: np.ndarray, filter_name: str, instrument: str, wcs: WCS | None) -> Path:
    """One band mosaic as LEGUS writes it: image in the primary HDU, e-/s."""
    header = wcs.to_header() if wcs is not None else fits.Header()
    header["FILTER"] = filter_name
    header["INSTRUME"] = instrument
    header["BUNIT"] = "ELECTRONS/S"
    fits.PrimaryHDU(data.astype(np.float32), header=header).writeto(path, overwrite=True)
    return path


def write_mosaics(
    directory: Path,
    shape: tuple[int, int] = (64, 80),
    *,
    field: str = "ngc9999",
    acs: bool = False,
    seed: int = 0,
) -> dict[str, Path]:
    """Five mosaics of random sky (1 +- 0.1 e-/s, never 0) named as MAST names them."""
    rng = np.random.default_rng(seed)
    wcs = tiny_wcs(shape)
    paths = {}
    for band, filter_name in WFC3_FILTERS.items():
        filter_name = ACS_BANDS.get(band, filter_name) if acs else filter_name
        inst = "acs" if acs and band in ACS_BANDS else "uvis"
        data = 1.0 + 0.1 * rng.random(shape)
        name = f"hlsp_legus_hst_{inst}_{field}_{filter_name.lower()}_v1_drc.fits"
        paths[band] = write_mosaic(
            directory / name, data, filter_name, "ACS" if inst == "acs" else "WFC3", wcs
        )
    return paths


def catalog_rows(x, y, classes, means=None) -> np.ndarray:
    """35-column LEGUS rows at 1-based x, y with class mode (and mean)."""
    n = len(x)
    rows = np.zeros((n, 35))
    rows[:, 0] = np.arange(1, n + 1)
    rows[:, 1], rows[:, 2] = x, y
    rows[:, 3], rows[:, 4] = 24.17, 15.78
    rows[:, 5:15] = 22.5
    rows[:, 5] = 99.999  # NUV not detected
    rows[:, 15] = 1.6
    rows[:, 33] = classes
    rows[:, 34] = classes if means is None else means
    return rows


def write_tab(path: Path, rows: np.ndarray, *, readme: bool = True) -> Path:
    """A whitespace LEGUS ``.tab`` (and its ``.readme``)."""
    np.savetxt(path, rows, fmt="%12.5f")
    if readme:
        path.with_suffix(".readme").write_text(readme_text(STANDARD_35, "# test catalog"))
    return path


def write_galaxy(directory: Path, x, y, classes, *, field: str = "ngc9999", shape=(64, 80)) -> Path:
    """A full tiny galaxy directory: five mosaics, a ``.tab`` and its ``.readme``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_mosaics(directory, shape, field=field)
    name = f"hlsp_legus_hst_uvis_{field}_multiband_v1_padagb-mwext-avgapcor.tab"
    write_tab(directory / name, catalog_rows(x, y, classes))
    return directory
