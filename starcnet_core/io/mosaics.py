"""The five LEGUS band mosaics of a field, memory-mapped and slotted by filter.

:func:`open_mosaics` takes a directory holding the MAST LEGUS mosaics
(``hlsp_legus_hst_<inst>_<field>_<filter>_v1_drc.fits`` or the mosaic fields'
``..._sci.fits``, also in sub-folders as unpacked archives leave them; weight
and context maps beside them are skipped) or five explicit paths, and returns a :class:`MosaicSet`:
one :class:`BandImage` per StarcNet band (NUV, U, B, V, I), each a
memory-mapped 2-D array in e-/s with its header, WCS and instrument. Nothing
reads the pixels here; stamps are cut later by :mod:`starcnet_core.io.cutouts`.
Gzip-compressed mosaics (``.fits.gz``) are read too: a small one into memory,
a large one decompressed once into the cache of the data directory (see
:func:`mosaic_cache_dir`), with a progress bar, and memory-mapped from there
on every later opening.
Any problem with the files (missing band, two files for one band, different
shapes or WCS, truncated or non-FITS files) raises
:class:`~starcnet_core.errors.UserInputError` naming the file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tempfile
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from tqdm import tqdm

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import (
    BANDS,
    VEGA_ZEROPOINTS,
    band_for_filter,
    filter_number,
    normalise_instrument,
)

__all__ = [
    "BandImage",
    "MosaicSet",
    "open_mosaics",
    "field_from_filename",
    "galaxy_files",
    "is_mosaic_field",
    "MOSAIC_SUFFIXES",
    "GZIP_SUFFIXES",
    "IN_MEMORY_BYTES",
    "mosaic_cache_dir",
    "decompressed_mosaic",
    "has_mosaic_files",
]

#: File name endings recognised as mosaics when a directory is given.
MOSAIC_SUFFIXES: tuple[str, ...] = (".fits", ".fit", ".fts")

#: Largest disagreement between two bands' WCS, pixels, before they count as different grids.
WCS_TOLERANCE_PIX = 0.5

#: Sub-folder levels searched below a galaxy directory (an unpacked archive adds one or two).
SEARCH_DEPTH = 2

_LEGUS_NAME = re.compile(r"hlsp_legus_hst_[a-z0-9-]+_(?P<field>.+?)_f\d{3}[wmnlp]", re.IGNORECASE)
_FILTER_KEYWORDS = ("FILTER", "FILTER1", "FILTER2")
# Drizzle by-products that share a science image's filter: weight, context, error maps.
_NOT_SCIENCE = re.compile(
    r"[_.-](wht|weight|ctx|context|con|err|rms|exp|expmap)\.f(its|it|ts)(\.gz)?$", re.IGNORECASE
)
#: File name endings of gzip-compressed mosaics.
GZIP_SUFFIXES: tuple[str, ...] = (".fits.gz", ".fit.gz", ".fts.gz")

#: Largest decompressed size (bytes) of a ``.fits.gz`` mosaic read into memory; larger ones
#: are decompressed into the cache once and memory-mapped (a 4k x 4k float32 band is 64 MiB).
IN_MEMORY_BYTES = 32 * 2**20

_COPY_CHUNK = 4 * 2**20


@dataclass
class BandImage:
    """One band's mosaic.

    Attributes
    ----------
    band : str
        StarcNet band, one of :data:`starcnet_core.io.bands.BANDS`.
    filter : str
        HST filter, e.g. ``"F336W"``.
    instrument : str or None
        ``"WFC3"`` or ``"ACS"`` (from INSTRUME/DETECTOR, else the file name).
    path : pathlib.Path
    data : numpy.ndarray
        2-D image, e-/s, memory-mapped from the file (from its decompressed copy in
        the cache for a large ``.fits.gz``, in memory for a small one).
    header : astropy.io.fits.Header
    wcs : astropy.wcs.WCS or None
        Celestial WCS, None when the header has none.
    """

    band: str
    filter: str
    instrument: str | None
    path: Path
    data: np.ndarray
    header: fits.Header
    wcs: WCS | None


@dataclass
class MosaicSet:
    """The five aligned band mosaics of one field.

    Attributes
    ----------
    field : str
        Field name (from the LEGUS file names, else the directory name).
    bands : dict[str, BandImage]
        One image per band, keyed in :data:`~starcnet_core.io.bands.BANDS` order.
    shape : tuple[int, int]
        ``(ny, nx)`` pixels, common to all bands.
    pixel_scale_arcsec : float or None
        Arcsec per pixel from the WCS; None when no band has a celestial WCS.
    wcs : astropy.wcs.WCS or None
        The common celestial WCS (of the first band that has one).
    """

    field: str
    bands: dict[str, BandImage]
    shape: tuple[int, int]
    pixel_scale_arcsec: float | None
    wcs: WCS | None

    def arrays(self) -> list[np.ndarray]:
        """The five memory-mapped images in :data:`~starcnet_core.io.bands.BANDS` order."""
        return [self.bands[band].data for band in BANDS]


def galaxy_files(directory: Path, depth: int = SEARCH_DEPTH) -> list[Path]:
    """Files in ``directory``, then in its sub-folders down to ``depth`` levels, each sorted by name.

    Hidden files and folders, macOS archive debris (``__MACOSX``, ``._*``) are left out.
    """
    entries = [
        entry
        for entry in sorted(Path(directory).iterdir())
        if not entry.name.startswith(".") and entry.name != "__MACOSX"
    ]
    found = [entry for entry in entries if entry.is_file()]
    if depth > 0:
        for entry in entries:
            if entry.is_dir():
                found.extend(galaxy_files(entry, depth - 1))
    return found


def is_mosaic_field(mosaics: MosaicSet) -> bool:
    """Whether the images are a LEGUS mosaic field (``..._sci.fits`` or a ``-mosaic`` field name)."""
    return (
        any(
            re.search(r"_sci\.f(its|it|ts)(\.gz)?$", image.path.name, re.IGNORECASE)
            for image in mosaics.bands.values()
        )
        or "mosaic" in mosaics.field.lower()
    )


def _is_mosaic_name(name: str) -> bool:
    """A FITS image name (plain or gzip-compressed) that is not a weight, context or error map."""
    lower = name.lower()
    return lower.endswith((*MOSAIC_SUFFIXES, *GZIP_SUFFIXES)) and not _NOT_SCIENCE.search(name)


def has_mosaic_files(directory: str | Path) -> bool:
    """Whether a directory (or its sub-folders, as :func:`galaxy_files` searches) holds any FITS image file."""
    return any(_is_mosaic_name(path.name) for path in galaxy_files(Path(directory)))


def field_from_filename(name: str) -> str | None:
    """Field of a LEGUS product name (``hlsp_legus_hst_acs_ngc628-c_f435w_...`` -> ``ngc628-c``)."""
    match = _LEGUS_NAME.search(name)
    return match.group("field").lower() if match else None


def _image_data(hdul: fits.HDUList, path: Path, size: int) -> tuple[fits.Header, np.ndarray] | None:
    """Header and 2-D data of the primary HDU when it holds an image, else of the first image extension.

    None when the file holds no image (a FITS table, for instance).
    """
    hdu = next(
        (h for h in hdul if isinstance(h, fits.PrimaryHDU | fits.ImageHDU) and h.header.get("NAXIS", 0) >= 2),
        None,
    )
    if hdu is None:
        return None
    header = hdu.header
    naxes = [header.get(f"NAXIS{i}", 0) for i in range(1, header["NAXIS"] + 1)]
    if any(n > 1 for n in naxes[2:]):
        raise UserInputError(f"{path}: image is {len(naxes)}-D with shape {naxes[::-1]}, expected 2-D")
    # The data block must be complete: a truncated download has a header but short data.
    expected = hdu.fileinfo()["datLoc"] + abs(header["BITPIX"]) // 8 * int(np.prod(naxes))
    if size < expected:
        raise UserInputError(f"{path}: truncated FITS file ({size} bytes, the header announces {expected})")
    data = hdu.data
    return header, data.reshape(data.shape[-2:])


def _read_band_image(path: Path, *, required: bool = True) -> BandImage | None:
    """Open one mosaic memory-mapped and work out its band; UserInputError when unusable.

    With ``required=False`` a file without an image, or an image whose band
    cannot be told, gives None (a FITS file in a galaxy directory that is not
    one of the five mosaics).
    """
    source, size = _fits_source(path)
    # The file is closed on return; the memory map stays alive with the array.
    with warnings.catch_warnings():
        # A truncated file makes astropy warn; we report it as an error instead.
        warnings.simplefilter("ignore", AstropyWarning)
        try:
            with fits.open(source, memmap=not isinstance(source, io.BytesIO), mode="readonly") as hdul:
                found = _image_data(hdul, path, size)
        except UserInputError:
            raise
        except (OSError, ValueError, TypeError, IndexError) as error:
            message = " ".join(str(error).split())[:200]
            raise UserInputError(f"{path}: not a readable FITS file ({message})") from None
    if found is None:
        if not required:
            return None
        raise UserInputError(f"{path}: no image in any HDU")
    header, data = found

    filter_name = None
    for keyword in _FILTER_KEYWORDS:
        found = filter_number(str(header.get(keyword, "")))
        if found and band_for_filter(found):
            filter_name = found
            break
    if filter_name is None:
        filter_name = filter_number(path.name)
    band = band_for_filter(filter_name) if filter_name else None
    if band is None:
        if not required:
            return None
        raise UserInputError(
            f"{path}: cannot tell its band (no F275W/F336W/F435W/F438W/F555W/F606W/F814W "
            "in FILTER/FILTER1/FILTER2 or in the file name)"
        )
    instrument = None
    for keyword in ("INSTRUME", "DETECTOR"):
        instrument = instrument or normalise_instrument(str(header.get(keyword, "")))
    instrument = instrument or _instrument_from_name(path.name, filter_name)

    with warnings.catch_warnings():
        # LEGUS headers carry non-standard keywords that astropy warns about harmlessly.
        warnings.simplefilter("ignore", AstropyWarning)
        try:
            wcs = WCS(header, naxis=2, fix=False).celestial
        except (ValueError, KeyError, MemoryError) as error:
            raise UserInputError(f"{path}: invalid WCS in the header ({error})") from None
    return BandImage(
        band=band,
        filter=filter_name,
        instrument=instrument,
        path=path,
        data=data,
        header=header,
        wcs=wcs if wcs.has_celestial else None,
    )


def mosaic_cache_dir() -> Path:
    """Where decompressed ``.fits.gz`` mosaics are kept: ``$STARCNET_DATA_DIR/cache/mosaics``.

    The data directory is the app's (default ``./data``), so that the copies
    made for ``inspect``, the import, the app and scoring are one set.
    """
    return Path(os.environ.get("STARCNET_DATA_DIR", "data")) / "cache" / "mosaics"


def _gzip_size(path: Path) -> int:
    """Decompressed size of a gzip file from its trailer (modulo 4 GiB, ample for one mosaic)."""
    with open(path, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            raise UserInputError(f"{path}: named .gz but not a gzip file")
        handle.seek(-4, os.SEEK_END)
        return int.from_bytes(handle.read(4), "little")


def decompressed_mosaic(path: str | Path, cache_dir: Path | None = None) -> Path:
    """The decompressed copy of a ``.fits.gz`` mosaic in the cache, made once and then reused.

    The copy is keyed by the file's absolute path, size and modification
    time, so a changed download is decompressed again; it is written to a
    temporary file and renamed, so an interrupted decompression leaves none.

    Parameters
    ----------
    path : str or Path
        The compressed mosaic.
    cache_dir : Path, optional
        Default :func:`mosaic_cache_dir`.

    Returns
    -------
    Path
        The decompressed FITS file.
    """
    path = Path(path)
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = Path(cache_dir) if cache_dir is not None else mosaic_cache_dir()
    target = cache / f"{key}_{path.name[: -len('.gz')]}"
    if target.is_file():
        return target
    total = _gzip_size(path)
    cache.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=cache, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with (
            gzip.open(path, "rb") as source,
            os.fdopen(fd, "wb") as sink,
            tqdm(total=total, unit="B", unit_scale=True, desc=f"decompressing {path.name}") as bar,
        ):
            while chunk := source.read(_COPY_CHUNK):
                sink.write(chunk)
                bar.update(len(chunk))
        os.replace(staging, target)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        Path(staging).unlink(missing_ok=True)
        raise UserInputError(f"{path}: not a readable gzip file ({error})") from None
    except OSError as error:
        Path(staging).unlink(missing_ok=True)
        raise UserInputError(f"{cache}: cannot write the decompressed mosaic ({error})") from None
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


def _fits_source(path: Path) -> tuple[Path | io.BytesIO, int]:
    """What ``fits.open`` reads for ``path`` and its (decompressed) size in bytes.

    A plain file is read as it is; a small ``.fits.gz`` is decompressed into memory,
    a large one into the cache (see :func:`decompressed_mosaic`).
    """
    if not path.name.lower().endswith(GZIP_SUFFIXES):
        return path, path.stat().st_size
    if _gzip_size(path) > IN_MEMORY_BYTES:
        copy = decompressed_mosaic(path)
        return copy, copy.stat().st_size
    try:
        data = gzip.decompress(path.read_bytes())
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise UserInputError(f"{path}: not a readable gzip file ({error})") from None
    return io.BytesIO(data), len(data)


def _instrument_from_name(name: str, filter_name: str) -> str | None:
    """WFC3 or ACS from a file name's ``_uvis_``/``_wfc3_``/``_acs_`` part, else from the filter.

    A combined name (``acs-wfc3``) or none falls back on the filter when only one
    of the two cameras has it (F275W, F336W, F438W: WFC3; F435W, F606W: ACS, as in LEGUS).
    """
    tokens = {token for token in re.split(r"[_.\s-]+", name.lower()) if token}
    named = {normalise_instrument(token) for token in tokens} - {None}
    if len(named) == 1:
        return named.pop()
    cameras = {camera for camera, f in VEGA_ZEROPOINTS if f == filter_name}
    return cameras.pop() if len(cameras) == 1 else None


def _check_same_grid(images: list[BandImage]) -> None:
    """Raise UserInputError unless all images share one shape and one WCS grid."""
    first = images[0]
    for image in images[1:]:
        if image.data.shape != first.data.shape:
            raise UserInputError(
                f"{image.path}: shape {image.data.shape} differs from {first.path.name} {first.data.shape}; "
                "the five mosaics must be aligned on one pixel grid"
            )
    with_wcs = [image for image in images if image.wcs is not None]
    if len(with_wcs) < 2:
        return
    ny, nx = first.data.shape
    probe_x = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, (nx - 1) / 2])
    probe_y = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, (ny - 1) / 2])
    reference = with_wcs[0]
    world = reference.wcs.pixel_to_world_values(probe_x, probe_y)
    for image in with_wcs[1:]:
        back_x, back_y = image.wcs.world_to_pixel_values(*world)
        offset = float(np.max(np.hypot(back_x - probe_x, back_y - probe_y)))
        if not np.isfinite(offset) or offset > WCS_TOLERANCE_PIX:
            raise UserInputError(
                f"{image.path}: its WCS differs from {reference.path.name} by {offset:.2f} pixels; "
                "the five mosaics must be aligned on one pixel grid"
            )


def _slot_bands(paths: list[Path], *, required: bool) -> dict[str, BandImage]:
    """Open each file and slot it by band; UserInputError when two fill one band."""
    by_band: dict[str, BandImage] = {}
    for path in paths:
        image = _read_band_image(path, required=required)
        if image is None:
            continue
        if image.band in by_band:
            raise UserInputError(
                f"two files for band {image.band} ({image.filter}): {by_band[image.band].path} and {path}"
            )
        by_band[image.band] = image
    return by_band


def open_mosaics(source: str | Path | Sequence[str | Path]) -> MosaicSet:
    """Open a field's five band mosaics, memory-mapped.

    Parameters
    ----------
    source : path or sequence of paths
        A directory holding the mosaics, or its sub-folders when it does not
        hold all five itself (FITS files
        whose FILTER/FILTER1/FILTER2 header or name gives a StarcNet filter;
        other FITS files, such as tables, and weight or context maps named
        ``..._wht.fits``/``..._ctx.fits`` are ignored), or five FITS paths in
        any order. Gzip-compressed mosaics (``.fits.gz``) are read too (see
        :func:`decompressed_mosaic`); beside their decompressed ``.fits`` they are left out.

    Returns
    -------
    MosaicSet

    Raises
    ------
    UserInputError
        A band is missing, two files fill one band, the images differ in
        shape or WCS, or a file is not a readable, complete 2-D FITS image.
    """
    if isinstance(source, str | Path):
        directory = Path(source)
        if not directory.is_dir():
            raise UserInputError(f"{directory}: not a directory of mosaics")
        files = galaxy_files(directory)
        top = [p for p in files if p.parent == directory]
        # The directory's own files first; its sub-folders when they do not hold all five bands.
        for group in [top, files] if len(top) < len(files) else [files]:
            paths = [p for p in group if _is_mosaic_name(p.name)]
            # A download gunzipped beside its .gz: the .fits is the same mosaic.
            plain = {p for p in paths if not p.name.lower().endswith(GZIP_SUFFIXES)}
            paths = [p for p in paths if not (p not in plain and p.with_name(p.name[: -len(".gz")]) in plain)]
            by_band = _slot_bands(paths, required=False)
            if len(by_band) == len(BANDS):
                break
        if not paths:
            raise UserInputError(
                f"{directory}: no mosaics found (FITS files named with F275W, F336W, F435W/F438W, "
                "F555W/F606W and F814W)"
            )
        default_field = directory.resolve().name
    else:
        paths = [Path(p) for p in source]
        for path in paths:
            if not path.is_file():
                raise UserInputError(f"{path}: no such mosaic file")
        default_field = paths[0].resolve().parent.name if paths else ""
        by_band = _slot_bands(paths, required=True)

    missing = [band for band in BANDS if band not in by_band]
    if missing:
        where = source if isinstance(source, str | Path) else ", ".join(str(p) for p in paths)
        raise UserInputError(f"{where}: missing band(s) {', '.join(missing)}")
    images = [by_band[band] for band in BANDS]
    _check_same_grid(images)

    wcs = next((image.wcs for image in images if image.wcs is not None), None)
    scale = None
    if wcs is not None:
        scale = float(np.mean(proj_plane_pixel_scales(wcs)) * 3600.0)
    field = next((f for image in images if (f := field_from_filename(image.path.name))), default_field)
    return MosaicSet(
        field=field,
        bands={image.band: image for image in images},
        shape=images[0].data.shape,
        pixel_scale_arcsec=scale,
        wcs=wcs,
    )
