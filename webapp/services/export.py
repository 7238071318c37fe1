"""Exporting a galaxy: candidates with their consensus, votes and the model's latest scores.

Formats: ``csv``, ``ecsv`` and ``fits`` (an astropy Table, one row per
candidate), ``starcnet-tab`` (the published StarcNet output layout, for tools
that read it) and ``ds9`` (a region file of the candidates coloured by class:
the consensus where the experts decided, else the model's class).

Rows come from one query over the candidates' cached consensus and the
model's predictions, fetched from a server-side cursor in chunks; CSV is
written chunk by chunk, so a million-candidate galaxy never sits in memory
as Python rows (the other formats gather numpy columns for astropy).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from astropy.table import Table
from sqlalchemy.orm import Session

from db.consensus import from_counts
from db.engine import use_case
from db.galaxies import export_row_partitions
from db.models import ModelVersion
from db.predictions import active_model_version
from db.registry import version_by_name
from starcnet_core.errors import UserInputError
from starcnet_core.io.published import write_starcnet_tab
from starcnet_core.io.regions import write_ds9_regions
from webapp.services.galaxies import galaxy_id_of

__all__ = ["EXPORT_FORMATS", "EXPORT_COLUMNS", "galaxy_table", "export_galaxy"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "ecsv", "fits", "starcnet-tab", "ds9")
#: The columns of every table export, in order (see :func:`galaxy_table`).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "x",
    "y",
    "ra",
    "dec",
    "mag_V",
    "usable",
    "consensus",
    "consensus_mean",
    "n_votes",
    "n_unsure",
    "agreement",
    "votes_1",
    "votes_2",
    "votes_3",
    "votes_4",
    "pred_class",
    "p1",
    "p2",
    "p3",
    "p4",
    "precision",
    "engine",
)


def _model(session: Session, model: str | None) -> ModelVersion | None:
    if model is None:
        return active_model_version(session)
    version = version_by_name(session, model)
    if version is None:
        raise UserInputError(f"unknown model version {model!r}")
    return version


#: Rows fetched from the database per round trip while exporting.
_CHUNK_ROWS = 20_000

_FLOAT_COLUMNS = ("x", "y", "ra", "dec", "mag_V", "consensus_mean", "agreement", "p1", "p2", "p3", "p4")
_TEXT_COLUMNS = ("precision", "engine")


def _column_dtype(name: str) -> type:
    return float if name in _FLOAT_COLUMNS else str if name in _TEXT_COLUMNS else int


def _chunks(
    session: Session, galaxy_id: int, version: ModelVersion | None
) -> Iterator[dict[str, np.ndarray]]:
    """The export columns of a galaxy's candidates (by source id), ``_CHUNK_ROWS`` rows at a time.

    One query: the candidates with their cached consensus (:mod:`db.consensus`)
    and, joined, the model's prediction; rows stream from a server-side cursor.
    """
    for rows in export_row_partitions(session, galaxy_id, version.id if version else None, _CHUNK_ROWS):
        columns = list(zip(*rows, strict=True))
        # None (no RA/Dec, no magnitude, no prediction) becomes NaN
        floats = {k: np.array(columns[k], dtype=float) for k in (2, 3, 4, 5, 6, 14, 15, 16, 17)}

        votes = from_counts(np.array(columns[0], dtype=np.int64), np.array(columns[8:13], dtype=np.int64).T)
        chunk = {
            "id": np.array(columns[1], dtype=np.int64),
            "x": floats[2],
            "y": floats[3],
            "ra": floats[4],
            "dec": floats[5],
            "mag_V": floats[6],
            "usable": np.array(columns[7], dtype=bool),
            "consensus": np.where(votes.mode > 0, votes.mode, np.where(votes.n_votes > 0, -1, 0)),
            "consensus_mean": votes.mean,
            "n_votes": votes.n_votes,
            "n_unsure": votes.n_unsure,
            "agreement": votes.agreement,
        }
        for k in range(4):
            chunk[f"votes_{k + 1}"] = votes.counts[:, k]
        chunk["pred_class"] = np.array(columns[13], dtype=np.int64)
        for k in range(4):
            chunk[f"p{k + 1}"] = floats[14 + k]
        # "" where there is no prediction, or it was imported without saying
        chunk["precision"] = np.array([p or "" for p in columns[18]], dtype=str)
        chunk["engine"] = np.array([e or "" for e in columns[19]], dtype=str)
        yield chunk


def galaxy_table(session: Session, galaxy: str, *, model: str | None = None) -> Table:
    """One row per candidate of ``galaxy``: position, V mag, consensus, votes, model scores.

    Columns: ``id``, ``x``, ``y`` (1-based pixels), ``ra``, ``dec`` (deg),
    ``mag_V``, ``usable``, ``consensus`` (1-4; 0 none; -1 undecided),
    ``consensus_mean``, ``n_votes``, ``n_unsure``, ``agreement``,
    ``votes_1``..``votes_4``, ``pred_class`` (0 without prediction), ``p1``..``p4``
    of ``model`` (default the active version; NaN without prediction), and the
    ``precision`` and ``engine`` that computed them ("" where not recorded).
    """
    with use_case(session):
        galaxy_id = galaxy_id_of(session, galaxy)
        version = _model(session, model)
        chunks = list(_chunks(session, galaxy_id, version))
    table = Table()
    for name in EXPORT_COLUMNS:
        parts = [chunk[name] for chunk in chunks]
        table[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=_column_dtype(name))
    table.meta.update({"galaxy": galaxy, "model": version.name if version else ""})
    return table


def _write_csv(session: Session, galaxy: str, out: Path, model: str | None) -> None:
    """The columns of :func:`galaxy_table` as CSV, written chunk by chunk as the rows arrive."""
    with use_case(session):
        galaxy_id = galaxy_id_of(session, galaxy)
        version = _model(session, model)
        with out.open("w", newline="") as stream:  # opened once the names are known good
            writer = csv.writer(stream)
            writer.writerow(EXPORT_COLUMNS)
            for chunk in _chunks(session, galaxy_id, version):
                columns = [chunk[name].tolist() for name in EXPORT_COLUMNS]
                writer.writerows(zip(*columns, strict=True))


def export_galaxy(
    session: Session, galaxy: str, fmt: str, out: str | Path, *, model: str | None = None
) -> Path:
    """Write ``galaxy`` in format ``fmt`` (one of :data:`EXPORT_FORMATS`) to ``out``; return the path."""
    if fmt not in EXPORT_FORMATS:
        raise UserInputError(f"format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    if not out.parent.is_dir():
        raise UserInputError(f"{out.parent}: the output folder does not exist")
    if out.is_dir():
        raise UserInputError(f"{out}: is a folder; name the file to write")
    if fmt == "csv":
        _write_csv(session, galaxy, out, model)
        return out
    table = galaxy_table(session, galaxy, model=model)
    if fmt in ("ecsv", "fits"):
        table.write(out, format={"ecsv": "ascii.ecsv", "fits": "fits"}[fmt], overwrite=True)
        return out
    if fmt == "starcnet-tab":
        scored = table["pred_class"] > 0
        if not scored.any():
            raise UserInputError(
                f"galaxy {galaxy!r} has no predictions of model {table.meta['model'] or '(none active)'}"
            )
        rows = table[scored]
        write_starcnet_tab(
            out,
            rows["id"],
            rows["x"],
            rows["y"],
            rows["pred_class"],
            np.column_stack([rows[f"p{k}"] for k in range(1, 5)]),
        )
        return out
    # ds9: the experts' decision where there is one, else the model's class.
    classes = np.where(table["consensus"] > 0, table["consensus"], table["pred_class"])
    write_ds9_regions(
        out, np.asarray(table["x"]), np.asarray(table["y"]), classes, labels=[str(i) for i in table["id"]]
    )
    return out
