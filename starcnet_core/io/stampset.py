"""A set of labelled multi-band stamps on disk: the training and benchmark unit.

A :class:`StampSet` is what the survey simulator writes and what training,
evaluation and the baselines read: an ``(N, 5, S, S)`` float32 array of stamps
in e-/s (band order :data:`starcnet_core.io.bands.BANDS`) and a table with one row
per stamp. Stored as a directory holding ``stamps.npy`` (memory-mapped on
load), ``candidates.ecsv`` and ``meta.json``.

Table columns (always): ``galaxy`` (str), ``id`` (int), ``distance_mpc``,
``label`` (int, the human class mode 1-4, 0 when unlabelled). Optional:
``label_mean`` (float), ``true_class`` (int, simulated data only, 0 unknown),
``vote_1``..``vote_K`` (each simulated expert's class, 0 = no vote), the
standard photometry columns of :mod:`starcnet_core.io.legus_columns`.

:func:`label_fingerprint` is the project's one fingerprint of a set of labels
(stored with checkpoints and model versions, whether the labels came from a
stamp set or from the database).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS

__all__ = ["StampSet", "label_fingerprint"]

_REQUIRED = ("galaxy", "id", "distance_mpc", "label")


def label_fingerprint(galaxies: Sequence[str], ids: Sequence[int], classes: Sequence[int]) -> str:
    """SHA-256 (hex) of which source carries which class, independent of order.

    What is hashed: one line ``"{galaxy}\t{id}\t{class}"`` per source with a
    class 1-4 (unlabelled rows, class 0, are left out), the lines sorted and
    joined by newlines, UTF-8. ``galaxy`` is the galaxy's name and ``id`` the
    catalog's source id, so the same labels give the same fingerprint in a
    stamp set and in any database they were imported into.

    Parameters
    ----------
    galaxies : sequence of str
        Galaxy name of each source.
    ids : sequence of int
        Catalog source id of each source.
    classes : sequence of int
        Class 1-4 of each source, 0 for none.
    """
    classes = np.asarray(classes, dtype=np.int64)
    if not len(galaxies) == len(ids) == len(classes):
        raise ValueError(f"{len(galaxies)} galaxies, {len(ids)} ids and {len(classes)} classes")
    lines = sorted(
        f"{galaxy}\t{int(source)}\t{int(cls)}"
        for galaxy, source, cls in zip(np.asarray(galaxies).astype(str), ids, classes, strict=True)
        if 1 <= cls <= 4
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass
class StampSet:
    """Stamps plus one table row per stamp.

    Parameters
    ----------
    stamps : numpy.ndarray
        ``(N, n_bands, S, S)`` float32, e-/s.
    table : astropy.table.Table
        N rows; see the module docstring for the columns.
    bands : tuple of str
        Band order of the stamps' second axis.
    meta : dict
        Free-form provenance (simulator seed, source files, ...).
    """

    stamps: np.ndarray
    table: Table
    bands: tuple[str, ...] = BANDS
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stamps.ndim != 4 or self.stamps.shape[2] != self.stamps.shape[3]:
            raise UserInputError(f"stamps must be (N, bands, S, S), got {self.stamps.shape}")
        if len(self.table) != len(self.stamps):
            raise UserInputError(f"{len(self.stamps)} stamps but {len(self.table)} table rows")
        if self.stamps.shape[1] != len(self.bands):
            raise UserInputError(f"stamps have {self.stamps.shape[1]} bands, expected {len(self.bands)}")
        missing = [c for c in _REQUIRED if c not in self.table.colnames]
        if missing:
            raise UserInputError(f"stamp table lacks column(s): {', '.join(missing)}")

    def __len__(self) -> int:
        return len(self.stamps)

    @property
    def stamp_size(self) -> int:
        return int(self.stamps.shape[-1])

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.table["label"], dtype=np.int64)

    @property
    def label_fingerprint(self) -> str:
        """:func:`label_fingerprint` of the ``galaxy``, ``id`` and ``label`` columns."""
        return label_fingerprint(self.table["galaxy"], self.table["id"], self.labels)

    def subset(self, index: np.ndarray) -> StampSet:
        """Rows ``index`` (an integer or boolean array) as a new in-memory set."""
        index = np.asarray(index)
        return StampSet(np.asarray(self.stamps[index]), self.table[index], self.bands, dict(self.meta))

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the set to ``directory`` atomically (written aside, then renamed)."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            np.save(staging / "stamps.npy", np.ascontiguousarray(self.stamps, dtype=np.float32))
            self.table.write(staging / "candidates.ecsv", format="ascii.ecsv")
            meta = {"bands": list(self.bands), "stamp_size": self.stamp_size, **self.meta}
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike, mmap: bool = True) -> StampSet:
        """Read a set written by :meth:`save`; stamps are memory-mapped by default."""
        source = Path(directory)
        for name in ("stamps.npy", "candidates.ecsv", "meta.json"):
            if not (source / name).is_file():
                raise UserInputError(f"{source}: not a stamp set (missing {name})")
        meta = json.loads((source / "meta.json").read_text())
        stamps = np.load(source / "stamps.npy", mmap_mode="r" if mmap else None)
        table = Table.read(source / "candidates.ecsv", format="ascii.ecsv")
        bands = tuple(meta.pop("bands", BANDS))
        meta.pop("stamp_size", None)
        return cls(stamps, table, bands, meta)
