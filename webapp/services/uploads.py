"""Importing a galaxy from a directory or from files uploaded in the browser, checked first.

Everything that can be wrong with the files is found before anything is
written: names with path components, files over the size limit, files that
are not FITS mosaics or a catalog, mosaics of different shapes, a catalog
with no candidate a full stamp can be cut for. The import itself is one
transaction (:func:`webapp.services.galaxies.import_galaxy`), so a failure
leaves nothing half-imported; uploads are written to a fresh folder under
the data directory, kept only when the import succeeds (the database points
at them).

From the browser, a directory on the server is imported only by an admin,
and only from under the configured data roots (:func:`data_roots`): the page
must not become a way to list or read the server's files.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from astropy.io import fits
from sqlalchemy.orm import Session

from db.engine import data_dir, use_case
from db.experts import expert_role
from starcnet_core.errors import UserInputError
from starcnet_core.io.galaxy import has_mosaics, read_galaxy_catalog
from starcnet_core.io.legus_columns import LabelChoice
from starcnet_core.io.mosaics import GZIP_SUFFIXES
from webapp.services.galaxies import GalaxySummary, import_galaxy

__all__ = [
    "MAX_UPLOAD_BYTES",
    "Upload",
    "check_galaxy_directory",
    "data_roots",
    "directory_label_choices",
    "import_directory",
    "import_server_directory",
    "import_uploads",
    "is_catalog_file",
    "server_directory",
    "upload_label_choices",
]

#: Largest single uploaded file (bytes): a LEGUS drizzled mosaic is about 250 MB.
MAX_UPLOAD_BYTES = 1_000_000_000
_FITS_SUFFIXES = (".fits", ".fit", ".fts")
_CATALOG_SUFFIXES = (".tab", ".txt", ".csv", ".ecsv", ".dat", ".readme")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the browser gave and its bytes."""

    name: str
    data: bytes


def _safe_name(name: str) -> str:
    plain = PurePosixPath(name).name
    if not name or plain != name or PureWindowsPath(name).name != name or name in (".", ".."):
        raise UserInputError(f"file name {name!r} has path components; upload plain file names")
    return name


def _check_upload(upload: Upload, max_bytes: int) -> None:
    name = _safe_name(upload.name)
    if len(upload.data) > max_bytes:
        raise UserInputError(
            f"{name} is {len(upload.data) / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit"
        )
    suffix = Path(name).suffix.lower()
    if name.lower().endswith(GZIP_SUFFIXES):
        try:
            start = gzip.GzipFile(fileobj=io.BytesIO(upload.data)).read(9)
        except (OSError, EOFError, zlib.error):
            raise UserInputError(f"{name} is not a gzip-compressed file") from None
        if start != b"SIMPLE  =":
            raise UserInputError(f"{name} is not a compressed FITS file (no SIMPLE card at its start)")
    elif suffix in _FITS_SUFFIXES:
        if not upload.data.startswith(b"SIMPLE  ="):
            raise UserInputError(f"{name} is not a FITS file (no SIMPLE card at its start)")
    elif suffix not in _CATALOG_SUFFIXES:
        raise UserInputError(
            f"{name}: expected FITS mosaics ({', '.join(_FITS_SUFFIXES + GZIP_SUFFIXES)}) "
            f"and a catalog ({', '.join(_CATALOG_SUFFIXES)})"
        )


def _catalog_in(directory: Path, catalog: str | None) -> Path | None:
    """The catalog file named ``catalog`` (a plain file name) inside ``directory``; None when not named."""
    if not catalog:
        return None
    path = directory / _safe_name(catalog)
    if not path.is_file():
        raise UserInputError(f"{directory.name} has no catalog file {catalog!r}")
    return path


def check_galaxy_directory(directory: str | Path, *, catalog: str | None = None, frame: str = "auto") -> None:
    """Check a galaxy directory's files before the import reads them.

    Files named as FITS that are not, and mosaics of different shapes, are
    :class:`UserInputError`; the import itself refuses the rest (a missing
    band or catalog, no candidate with a full 32 x 32 stamp). A directory
    holding a catalog and no mosaics at all is imported without them (0
    usable candidates, reason "no mosaics"); only its catalog is checked.
    ``catalog`` names the catalog file when the directory holds several;
    ``frame`` chooses NGC 1313-style positions (see :func:`starcnet_core.io.galaxy.read_galaxy`).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UserInputError(f"{directory}: not a directory")
    for path in directory.iterdir():
        if path.suffix.lower() in _FITS_SUFFIXES:
            with open(path, "rb") as handle:
                if not handle.read(9) == b"SIMPLE  =":
                    raise UserInputError(f"{path.name} is not a FITS file (no SIMPLE card at its start)")
    if not has_mosaics(directory):
        read_galaxy_catalog(directory, catalog=_catalog_in(directory, catalog), frame=frame)
        return
    shapes = {}
    for path in directory.iterdir():
        if path.suffix.lower() in _FITS_SUFFIXES:
            shapes[path.name] = fits.getdata(path, memmap=True).shape
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape[1]}x{shape[0]}" for name, shape in sorted(shapes.items()))
        raise UserInputError(f"the mosaics have different shapes: {listed}")


def import_directory(
    session: Session,
    directory: str | Path,
    *,
    name: str | None = None,
    distance_mpc: float | None = None,
    catalog: str | None = None,
    frame: str = "auto",
    label_column: str | None = None,
) -> GalaxySummary:
    """Check, then import a galaxy directory (five mosaics and a LEGUS catalog).

    ``catalog`` is the catalog's file name when the directory holds several
    tables; ``frame`` (``"auto"``, ``"pointing"``, ``"mosaic"``) which
    positions to use from a catalog that lists both (NGC 1313);
    ``label_column`` the catalog column to import as labels, e.g. one of
    :func:`directory_label_choices`.
    """
    check_galaxy_directory(directory, catalog=catalog, frame=frame)
    return import_galaxy(
        session,
        directory,
        name=name,
        distance_mpc=distance_mpc,
        catalog=_catalog_in(Path(directory), catalog),
        frame=frame,
        label_column=label_column,
    )


def data_roots() -> list[Path]:
    """The folders under which the Galaxies page may import a directory on the server.

    ``$STARCNET_DATA_ROOTS`` (folders separated by ``os.pathsep``, ``:`` on
    Linux), default the app data directory alone (``$STARCNET_DATA_DIR``).
    """
    listed = [p for p in os.environ.get("STARCNET_DATA_ROOTS", "").split(os.pathsep) if p.strip()]
    return [Path(p).expanduser().resolve() for p in listed] or [data_dir().resolve()]


def server_directory(directory: str | Path) -> Path:
    """``directory`` resolved (symbolic links too) and checked to lie under one of :func:`data_roots`.

    A relative path is taken relative to the first data root. Anything
    outside the roots is a :class:`UserInputError` that says nothing about
    what is there.
    """
    roots = data_roots()
    text = str(directory).strip()
    if not text:
        raise UserInputError("name a directory under " + ", ".join(map(str, roots)))
    path = (roots[0] / Path(text).expanduser()).resolve()
    if not any(path.is_relative_to(root) for root in roots):
        raise UserInputError(
            f"{text}: not under the data roots ({', '.join(map(str, roots))}); an admin can add "
            "folders with STARCNET_DATA_ROOTS"
        )
    return path


def import_server_directory(
    session: Session, directory: str | Path, *, expert_id: int, **options: object
) -> GalaxySummary:
    """:func:`import_directory` for a browser user: admins only, and only under :func:`data_roots`.

    Parameters
    ----------
    session : Session
    directory : path
        Absolute, or relative to the first data root.
    expert_id : int
        The signed-in expert; one who is not an admin is refused.
    **options
        As for :func:`import_directory` (name, distance_mpc, catalog, frame).
    """
    with use_case(session):
        role = expert_role(session, expert_id)
    if role != "admin":
        raise UserInputError("only an admin may import a directory on the server; upload the files instead")
    return import_directory(session, server_directory(directory), **options)


def directory_label_choices(directory: str | Path, *, catalog: str | None = None) -> tuple[LabelChoice, ...]:
    """The class-like columns of a directory's catalog of which the user must name one (empty when decided).

    Only the catalog is read, so the import form can ask before the mosaics are.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UserInputError(f"{directory}: not a directory")
    return read_galaxy_catalog(directory, catalog=_catalog_in(directory, catalog)).label_choices


def is_catalog_file(name: str) -> bool:
    """Whether an uploaded file's name is that of a catalog or readme (not a mosaic)."""
    return Path(name).suffix.lower() in _CATALOG_SUFFIXES


def upload_label_choices(uploads: Sequence[Upload], *, catalog: str | None = None) -> tuple[LabelChoice, ...]:
    """As :func:`directory_label_choices`, for uploaded files (only the catalog and its readme are read)."""
    tables = [u for u in uploads if is_catalog_file(_safe_name(u.name))]
    if not tables:
        return ()
    with tempfile.TemporaryDirectory() as folder:
        for upload in tables:
            (Path(folder) / upload.name).write_bytes(upload.data)
        return directory_label_choices(folder, catalog=catalog)


def import_uploads(
    session: Session,
    uploads: Sequence[Upload],
    *,
    name: str | None = None,
    distance_mpc: float | None = None,
    catalog: str | None = None,
    frame: str = "auto",
    label_column: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    root: Path | None = None,
) -> GalaxySummary:
    """Check uploaded files, write them to a new folder of the data directory and import them.

    Parameters
    ----------
    session : Session
    uploads : sequence of Upload
        Five mosaics and the catalog (with its ``.readme`` when there is one).
    name : str, optional
        Galaxy name; default the field in the file names.
    distance_mpc : float, optional
        Distance (Mpc).
    catalog, frame, label_column : optional
        As for :func:`import_directory`: the catalog's file name among the
        uploads, which positions of an NGC 1313-style catalog to use, and the
        catalog column to import as labels.
    max_bytes : int
        Size limit of one file (bytes).
    root : Path, optional
        Where upload folders go; default ``$STARCNET_DATA_DIR/uploads``.
    """
    if not uploads:
        raise UserInputError("no files uploaded")
    for upload in uploads:
        _check_upload(upload, max_bytes)
    names = [u.name for u in uploads]
    if len(set(names)) != len(names):
        raise UserInputError("the same file name was uploaded twice")
    folder = (root or data_dir() / "uploads") / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        for upload in uploads:
            (folder / upload.name).write_bytes(upload.data)
        return import_directory(
            session,
            folder,
            name=name,
            distance_mpc=distance_mpc,
            catalog=catalog,
            frame=frame,
            label_column=label_column,
        )
    except UserInputError as error:
        shutil.rmtree(folder, ignore_errors=True)
        # the expert knows the files they uploaded, not the server's folder they were written to
        message = str(error).replace(f"{folder}{os.sep}", "").replace(str(folder), "the uploaded files")
        raise UserInputError(message) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
