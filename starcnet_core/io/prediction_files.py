"""Predicting a whole galaxy or stamp set, and the files a prediction run writes.

:func:`predict_galaxy` cuts every catalog candidate out of the mosaics (as the
published code centres them), scores the usable ones and returns one table
row per candidate; edge, NaN and zero-coverage candidates keep their row with
``pred_class`` 0 and the reason. :func:`write_galaxy_outputs` writes:

* ``<field>_scores.csv``: every candidate with ``id, x, y, usable, reason,
  pred_class, p1..p4, confidence, margin, entropy``;
* ``<field>.tab``: the published StarcNet output layout;
* ``predictions.csv``: the published ``Galaxy,Id,X,Y,Prediction`` file;
* ``<field>.reg``: a DS9 region file, circles coloured by predicted class;
* ``<field>_predictions.png``: the field with candidates circled by class.

All files are first written to a staging directory inside ``out_dir`` and
moved into place only once every one of them exists, each synced to disk
(:func:`starcnet_core.atomic_write.publish_files`), so a failed run leaves no
partial outputs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from astropy.table import Table, hstack

from starcnet_core.atomic_write import publish_files
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.galaxy import LegusGalaxy
from starcnet_core.io.published import write_predictions_csv, write_starcnet_tab
from starcnet_core.io.regions import write_ds9_regions
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import LoadedModel
from starcnet_core.nn.predict import predict_stamps
from starcnet_core.overlay import write_overlay

__all__ = ["predict_galaxy", "predict_stampset", "write_galaxy_outputs", "write_stampset_outputs"]


def _check_bands(loaded: LoadedModel, bands: tuple[str, ...]) -> None:
    if tuple(loaded.bands) != tuple(bands):
        raise UserInputError(
            f"the model was trained on bands {', '.join(loaded.bands)}, the data has {', '.join(bands)}"
        )


def predict_galaxy(
    loaded: LoadedModel, galaxy: LegusGalaxy, *, progress: Callable[[int, int], None] | None = None, **options
) -> Table:
    """Score every candidate of ``galaxy``; ``options`` go to :func:`~starcnet_core.nn.predict.predict_stamps`.

    Returns
    -------
    astropy.table.Table
        One row per catalog row: ``id, x, y`` (1-based pixels), ``usable``,
        ``reason``, then the prediction columns (``pred_class`` 0 and NaN
        scores where not usable).

    Raises
    ------
    UserInputError
        Band mismatch, or no usable candidate at all.
    """
    _check_bands(loaded, BANDS)
    cutouts = galaxy.cutouts(loaded.config.stamp_size)
    usable = np.asarray(cutouts.usable, dtype=bool)
    if not usable.any():
        raise UserInputError(f"{galaxy.field}: none of {len(usable)} candidates has a usable stamp")
    predicted = predict_stamps(loaded, cutouts.stamps[usable], progress=progress, **options).to_table()
    catalog = galaxy.catalog.table
    table = Table({"id": catalog["id"], "x": catalog["x"], "y": catalog["y"], "usable": usable})
    table["reason"] = np.asarray(cutouts.reason, dtype=str)
    for name in predicted.colnames:
        column = np.zeros(len(table), dtype=predicted[name].dtype)
        if column.dtype.kind == "f":
            column[:] = np.nan
        column[usable] = predicted[name]
        table[name] = column
    table.meta["field"] = galaxy.field
    return table


def predict_stampset(
    loaded: LoadedModel, stamps: StampSet, *, progress: Callable[[int, int], None] | None = None, **options
) -> Table:
    """Score a :class:`~starcnet_core.io.stampset.StampSet`: its ``galaxy, id`` (and ``label``) plus predictions."""
    _check_bands(loaded, stamps.bands)
    keep = [c for c in ("galaxy", "id", "label", "true_class") if c in stamps.table.colnames]
    predicted = predict_stamps(loaded, np.asarray(stamps.stamps), progress=progress, **options).to_table()
    return hstack([stamps.table[keep], predicted])


def _staged(out_dir: Path, write: Callable[[Path], None]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".predict-", dir=out_dir))
    try:
        write(staging)
        return publish_files(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_galaxy_outputs(out_dir: str | os.PathLike, galaxy: LegusGalaxy, table: Table) -> list[Path]:
    """Write the five files of a galaxy prediction (module docstring) into ``out_dir``; returns their paths."""
    field = galaxy.field
    used = table[table["usable"]]
    scores = np.column_stack([used[f"p{k}"] for k in range(1, 5)])

    def write(staging: Path) -> None:
        table.write(staging / f"{field}_scores.csv", format="ascii.csv")
        write_starcnet_tab(
            staging / f"{field}.tab", used["id"], used["x"], used["y"], used["pred_class"], scores
        )
        write_predictions_csv(
            staging / "predictions.csv", field, used["id"], used["x"], used["y"], used["pred_class"]
        )
        write_ds9_regions(
            staging / f"{field}.reg",
            used["x"],
            used["y"],
            used["pred_class"],
            labels=[f"{i} pred {c}" for i, c in zip(used["id"], used["pred_class"], strict=True)],
        )
        write_overlay(
            staging / f"{field}_predictions.png",
            galaxy.mosaics,
            used["x"],
            used["y"],
            used["pred_class"],
            scores,
        )

    return _staged(Path(out_dir), write)


def write_stampset_outputs(out_dir: str | os.PathLike, table: Table) -> list[Path]:
    """Write ``scores.csv`` (the table of :func:`predict_stampset`) into ``out_dir``."""
    return _staged(Path(out_dir), lambda staging: table.write(staging / "scores.csv", format="ascii.csv"))
