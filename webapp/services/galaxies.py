"""Importing a LEGUS galaxy (mosaics + candidate catalog) into the database, and listing galaxies.

The files are read by the core's LEGUS readers (:func:`starcnet_core.io.galaxy.read_galaxy`
for a galaxy directory or a catalog with its mosaics, :func:`starcnet_core.io.galaxy.read_galaxy_catalog`
for a catalog alone). With mosaics, each candidate's ``usable`` flag and reason
come from the core's cutouts (a full 32x32 stamp in all five bands, or
``outside`` / ``edge`` / ``nan`` / ``zero_coverage``). A catalog imported
without mosaics (a catalog file, or a directory holding no mosaics, as
NGC 1566, whose mosaics are not at hand) gives candidates with
``usable=False`` and reason ``"no mosaics"``: they can be labelled from other
sources, carry predictions and take part in agreement, but are not shown in
the image review queue.

Class columns of the catalog (e.g. LEGUS's class mode) become labels of a
pseudo-expert named by the label source (role ``catalog``), so that they take
part in consensus and agreement like any expert. Where a catalog without a
readme has several class-like columns and nothing says which is the human
mode, none is imported; the summary lists them (``label_choices``) for the
user to name one (``label_column``).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from db import galaxies as db_galaxies
from db.consensus import refresh_consensus_cache
from db.engine import use_case
from db.experts import expert_by_name
from db.labels import count_labels_from, insert_labels
from db.models import Expert, Galaxy
from db.predictions import active_model_version
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.catalogs import Catalog, read_catalog
from starcnet_core.io.cutouts import extract_stamps
from starcnet_core.io.galaxy import has_mosaics, read_galaxy, read_galaxy_catalog
from starcnet_core.io.legus_columns import LabelChoice
from webapp.services.labels import check_name
from webapp.services.scoring import request_scoring

__all__ = [
    "NO_MOSAICS",
    "GalaxySummary",
    "import_galaxy",
    "import_catalog_labels",
    "list_galaxies",
    "get_galaxy",
    "galaxy_mosaic_paths",
]

#: Side of the stamps StarcNet reads (pixels): a candidate is usable when one can be cut.
STAMP_SIZE = 32
# 2,000 stamps of 5 x 32 x 32 float32 are 40 MB; a whole survey field at once would be GBs.
_CUTOUT_CHUNK = 2000
#: ``Candidate.unusable_reason`` of candidates imported from a catalog without mosaics.
NO_MOSAICS = "no mosaics"
#: Catalog columns kept in their own candidate columns (the rest go to ``properties``).
_OWN_COLUMNS = {"id", "x", "y", "ra", "dec", "ci", *(f"mag_{band}" for band in BANDS)}
_FIELD_IN_NAME = re.compile(r"hlsp_legus_hst_[a-z0-9-]+_(?P<field>[a-z0-9-]+?)_(?:multiband|f\d{3})", re.I)


@dataclass(frozen=True)
class GalaxySummary:
    """A galaxy in the database: how many candidates, how many usable, labels per expert/source.

    ``label_choices`` is set by :func:`import_galaxy` only: the catalog's
    class-like columns of which none was imported because nothing says which
    is the human mode (name one with ``label_column``).
    """

    galaxy_id: int
    name: str
    distance_mpc: float | None
    n_candidates: int
    n_usable: int
    n_labelled: int
    has_mosaics: bool
    label_choices: tuple[LabelChoice, ...] = ()


def _number(value: Any) -> float | int | None:
    """A JSON-safe Python number; None for NaN or masked values."""
    if value is None or np.ma.is_masked(value):
        return None
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return number


def _field_name(path: Path) -> str:
    match = _FIELD_IN_NAME.search(path.name)
    return match.group("field").lower() if match else path.stem


def _candidate_rows(
    catalog: Catalog, galaxy_id: int, usable: np.ndarray, reason: np.ndarray, seed: int
) -> list[dict]:
    table = catalog.table
    ids = np.asarray(table["id"], dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise UserInputError(f"{catalog.path}: source ids repeat; every candidate needs its own id")
    extra = [name for name in table.colnames if name not in _OWN_COLUMNS and not name.startswith("class")]
    shuffle = np.random.default_rng(seed).random(len(table))
    column = {name: table[name] for name in table.colnames}

    def value(name: str, i: int) -> float | None:
        return _number(column[name][i]) if name in column else None

    return [
        {
            "galaxy_id": galaxy_id,
            "source_id": int(ids[i]),
            "x": float(column["x"][i]),
            "y": float(column["y"][i]),
            "ra": value("ra", i),
            "dec": value("dec", i),
            **{f"mag_{band.lower()}": value(f"mag_{band}", i) for band in BANDS},
            "ci": value("ci", i),
            "properties": {name: _number(column[name][i]) for name in extra},
            "usable": bool(usable[i]),
            "unusable_reason": str(reason[i]),
            "shuffle_key": float(shuffle[i]),
            "n_votes": 0,
        }
        for i in range(len(table))
    ]


def _cutout_usability(images: list[np.ndarray], x, y) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The core's usable flag and reason for each candidate, cut in chunks to bound memory."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    usable, reason = np.zeros(len(x), dtype=bool), np.full(len(x), "", dtype=object)
    for start in range(0, len(x), _CUTOUT_CHUNK):
        part = slice(start, start + _CUTOUT_CHUNK)
        result = extract_stamps(images, x[part], y[part], STAMP_SIZE)
        usable[part], reason[part] = result.usable, result.reason
    return usable, reason


def _pseudo_expert(session: Session, source: str) -> int:
    expert = expert_by_name(session, source)
    if expert is None:
        expert = Expert(name=source, role="catalog")
        session.add(expert)
        session.flush()
    elif expert.role != "catalog":
        raise UserInputError(
            f"label source {source!r} is the name of a person (role {expert.role}); choose another"
        )
    return expert.id


def _catalog_labels(
    session: Session, catalog: Catalog, sources: Sequence[str], by_source_id: dict[int, int]
) -> dict[str, int]:
    ids = np.asarray(catalog.table["id"], dtype=np.int64)
    counts = {}
    for source in sources:
        classes = np.asarray(catalog.labels[source])
        keep = np.isin(classes, [1, 2, 3, 4])
        expert_id = _pseudo_expert(session, source)
        rows = [
            {
                "candidate_id": by_source_id[int(i)],
                "expert_id": expert_id,
                "label_class": str(int(c)),
                "comment": f"from {Path(catalog.path).name}",
                "display_settings": {},
            }
            for i, c in zip(ids[keep], classes[keep], strict=True)
        ]
        insert_labels(session, rows)
        counts[source] = len(rows)
    return counts


def import_galaxy(
    session: Session,
    path: str | Path,
    *,
    name: str | None = None,
    distance_mpc: float | None = None,
    mosaics: Sequence[str | Path] | None = None,
    readme: str | Path | None = None,
    label_column: int | str | None = None,
    label_source: str | None = None,
    zero_based: bool = False,
    catalog: str | Path | None = None,
    frame: str = "auto",
) -> GalaxySummary:
    """Import a galaxy: its candidates, cutout usability and catalog labels, in one transaction.

    With an active model, a ``score`` job for the new galaxy is queued once
    the import has committed (the worker scores it in the background).

    Parameters
    ----------
    session : Session
    path : path
        A galaxy directory (five mosaics and a catalog), or a catalog file
        (``.tab``/``.csv``); with a catalog file, ``mosaics`` names the five
        mosaics, or the candidates are imported as not usable ("no mosaics"),
        as they are from a directory that holds no mosaics.
    name : str, optional
        Galaxy name; default the field name of the files.
    distance_mpc : float, optional
        Distance (Mpc).
    mosaics : sequence of 5 paths, optional
    readme : path, optional
        The catalog's LEGUS ``.readme`` (column descriptions).
    label_column, label_source : optional
        A catalog column holding classes (1-based number or name) and the
        name of its pseudo-expert (e.g. ``36``, ``"LEGUS 3-human mode"``). With
        ``label_source`` only that source's labels are imported; without it,
        every class column the reader finds.
    zero_based : bool
        The catalog's x, y are 0-based (LEGUS catalogs are 1-based).
    catalog : path, optional
        The catalog file of a galaxy directory that holds several tables.
    frame : {"auto", "pointing", "mosaic"}
        Which positions of a catalog that lists them on the pointing and on the
        mosaic frame (NGC 1313); see :func:`starcnet_core.io.galaxy.read_galaxy`.

    Returns
    -------
    GalaxySummary
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory")
    if distance_mpc is not None and not (math.isfinite(distance_mpc) and distance_mpc > 0):
        raise UserInputError(f"distance {distance_mpc} Mpc: must be > 0 (or not given when unknown)")
    if name is not None:
        name = check_name(name, "a galaxy", Galaxy.__table__.c.name.type.length)
    options = {
        "readme": readme,
        "label_column": None if label_column is None else str(label_column),
        "label_source": label_source,
        "zero_based": zero_based,
        "frame": frame,
    }
    if mosaics is not None or (path.is_dir() and has_mosaics(path)):
        legus = read_galaxy(path, mosaics=mosaics, catalog=catalog, **options)
        catalog, mosaic_set = legus.catalog, legus.mosaics
        usable, reason = _cutout_usability(mosaic_set.arrays(), catalog.table["x"], catalog.table["y"])
        if not usable.any():
            raise UserInputError(
                f"{path}: none of the {len(catalog.table)} catalog candidates has a full stamp in the "
                "mosaics (check that the catalog belongs to these mosaics, its x, y origin, and that "
                "the mosaics are not blank or NaN)"
            )
        field = legus.field
    else:
        catalog = read_galaxy_catalog(path, catalog=catalog, **options)
        mosaic_set = None
        usable = np.zeros(len(catalog.table), dtype=bool)
        reason = np.full(len(catalog.table), NO_MOSAICS)
        field = _field_name(Path(catalog.path))
    name = check_name(name or field, "a galaxy", Galaxy.__table__.c.name.type.length)
    sources = [label_source] if label_source else sorted(catalog.labels)
    missing = [s for s in sources if s not in catalog.labels]
    if missing:
        raise UserInputError(f"{path}: no class column for label source {missing[0]!r}")
    catalog_path = str(Path(catalog.path).resolve())
    with use_case(session):
        if db_galaxies.galaxy_id_by_name(session, name) is not None:
            raise UserInputError(f"galaxy {name!r} is already imported")
        twin = db_galaxies.galaxy_name_of_catalog(session, catalog_path)
        if twin is not None:
            raise UserInputError(f"{catalog.path}: already imported as galaxy {twin!r}")
        table = catalog.table
        twin = db_galaxies.galaxy_with_candidates(session, table["id"], table["x"], table["y"])
        if twin is not None:
            raise UserInputError(
                f"{catalog.path}: galaxy {twin!r} already holds these candidates (the same ids at the same "
                "positions): the same field imported again from a copy of its catalog"
            )
        galaxy = Galaxy(
            name=name,
            distance_mpc=distance_mpc,
            catalog_path=catalog_path,
            mosaic_paths={b: str(m.path) for b, m in mosaic_set.bands.items()} if mosaic_set else {},
            filters={b: m.filter for b, m in mosaic_set.bands.items()} if mosaic_set else {},
            instruments={b: m.instrument for b, m in mosaic_set.bands.items()} if mosaic_set else {},
            pixel_scale_arcsec=mosaic_set.pixel_scale_arcsec if mosaic_set else None,
        )
        session.add(galaxy)
        session.flush()
        rows = _candidate_rows(catalog, galaxy.id, usable, reason, seed=zlib.crc32(name.encode()))
        db_galaxies.insert_candidates(session, rows)
        by_source_id = db_galaxies.candidate_ids_by_source(session, galaxy.id)
        _catalog_labels(session, catalog, sources, by_source_id)
        refresh_consensus_cache(session, galaxy.id)
        summary = replace(get_galaxy(session, name), label_choices=catalog.label_choices)
        # scored in the background by the worker, so that the review queue has scores for it
        if summary.n_usable and active_model_version(session) is not None:
            request_scoring(session, galaxy_id=summary.galaxy_id)
    return summary


def import_catalog_labels(
    session: Session,
    name: str,
    label_column: str,
    *,
    label_source: str | None = None,
    readme: str | Path | None = None,
) -> tuple[str, int]:
    """Add the labels of one class column of an imported galaxy's catalog, as a pseudo-expert.

    For a catalog imported without labels because it has several class
    columns and no readme says which is the human mode (``label_choices``).

    Parameters
    ----------
    session : Session
    name : str
        The galaxy.
    label_column : str
        1-based column number or name in its catalog.
    label_source : str, optional
        Name of the pseudo-expert (default: from the column, e.g. ``"catalog column 36"``).
    readme : path, optional
        The catalog's readme, when it was given at import.

    Returns
    -------
    (str, int)
        The label source and how many labels (classes 1-4) were added.
    """
    with use_case(session):
        galaxy = db_galaxies.galaxy_by_name(session, name)
        if galaxy is None:
            raise UserInputError(f"unknown galaxy {name!r}")
        catalog = read_catalog(
            galaxy.catalog_path, readme, label_column=str(label_column), label_source=label_source
        )
        source = catalog.chosen_source
        if count_labels_from(session, source, galaxy.id):
            raise UserInputError(f"galaxy {name!r} already has labels from {source!r}")
        by_source_id = db_galaxies.candidate_ids_by_source(session, galaxy.id)
        count = _catalog_labels(session, catalog, [source], by_source_id)[source]
        refresh_consensus_cache(session, galaxy.id)
        return source, count


def _summaries(session: Session, name: str | None = None) -> list[GalaxySummary]:
    with use_case(session):
        rows = db_galaxies.galaxy_summary_rows(session, name)
    return [
        GalaxySummary(
            galaxy_id=galaxy.id,
            name=galaxy.name,
            distance_mpc=galaxy.distance_mpc,
            n_candidates=int(n),
            n_usable=int(n_usable),
            n_labelled=int(n_labelled),
            has_mosaics=bool(galaxy.mosaic_paths),
        )
        for galaxy, n, n_usable, n_labelled in rows
    ]


def list_galaxies(session: Session) -> list[GalaxySummary]:
    """Every galaxy with its candidate counts, by name."""
    return _summaries(session)


def galaxy_id_of(session: Session, name: str) -> int:
    """The id of the galaxy called ``name``; a user error when there is none."""
    galaxy_id = db_galaxies.galaxy_id_by_name(session, name)
    if galaxy_id is None:
        raise UserInputError(f"unknown galaxy {name!r}")
    return galaxy_id


def get_galaxy(session: Session, name: str) -> GalaxySummary:
    """The galaxy called ``name``; :class:`UserInputError` when there is none."""
    found = _summaries(session, name)
    if not found:
        raise UserInputError(f"unknown galaxy {name!r}")
    return found[0]


def galaxy_mosaic_paths(session: Session, galaxy_id: int) -> dict[str, str]:
    """Band -> the stored path of the galaxy's mosaic (empty for a galaxy imported without mosaics)."""
    with use_case(session):
        return db_galaxies.mosaic_paths(session, galaxy_id)
