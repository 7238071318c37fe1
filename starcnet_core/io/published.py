"""The published StarcNet's output files: per-galaxy ``.tab`` and ``predictions.csv``.

The published code (Pérez et al. 2021) writes, per galaxy, a tab-separated
file of rows ``id<TAB>x<TAB>y<TAB>class<TAB>[p1 - p2 - p3 - p4]`` (softmax
scores with two decimals), and a ``predictions.csv`` with columns
``Galaxy,Id,X,Y,Prediction``. This module reads both (to import published
predictions) and writes both (so our predictions can be compared with theirs
by the same scripts). Writes are atomic: a failed write leaves no file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from starcnet_core.atomic_write import write_text_atomic
from starcnet_core.errors import UserInputError

__all__ = ["read_starcnet_tab", "write_starcnet_tab", "read_predictions_csv", "write_predictions_csv"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TAB_ROW = re.compile(
    rf"^\s*(?P<id>\d+)\s+(?P<x>{_NUMBER})\s+(?P<y>{_NUMBER})\s+(?P<cls>\d+)\s*"
    rf"\[\s*(?P<p>{_NUMBER}(?:\s*-\s*{_NUMBER}){{3}})\s*\]\s*$"
)
_PREDICTION_COLUMNS = ("Galaxy", "Id", "X", "Y", "Prediction")


def _format_position(value: float) -> str:
    """Positions as the published files show them: integers bare, others with 3 decimals."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def read_starcnet_tab(path: str | Path) -> Table:
    """Read a published StarcNet per-galaxy output file.

    Parameters
    ----------
    path : str or Path
        Tab-separated rows ``id x y class [p1 - p2 - p3 - p4]`` (LF or CRLF).

    Returns
    -------
    astropy.table.Table
        Columns ``id`` (int), ``x``, ``y`` (pixels, 1-based as written),
        ``pred_class`` (int 1-4) and ``p1``..``p4`` (softmax scores).
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path}: cannot read ({error})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _TAB_ROW.match(line)
        if match is None:
            raise UserInputError(
                f"{path}: line {number} is not 'id x y class [p1 - p2 - p3 - p4]': {line[:60]!r}"
            )
        scores = [float(p) for p in re.split(r"\s+-\s+", match.group("p").strip())]
        rows.append(
            (
                int(match.group("id")),
                float(match.group("x")),
                float(match.group("y")),
                int(match.group("cls")),
                *scores,
            )
        )
    if not rows:
        raise UserInputError(f"{path}: no predictions in the file")
    columns = list(zip(*rows, strict=True))
    table = Table(
        [
            np.array(columns[0], dtype=np.int64),
            np.array(columns[1]),
            np.array(columns[2]),
            np.array(columns[3], dtype=np.int64),
        ]
        + [np.array(c) for c in columns[4:]],
        names=("id", "x", "y", "pred_class", "p1", "p2", "p3", "p4"),
    )
    return table


def write_starcnet_tab(path: str | Path, ids, x, y, classes, scores) -> None:
    """Write predictions in the published per-galaxy ``.tab`` format.

    Parameters
    ----------
    path : str or Path
    ids : array_like of int
    x, y : array_like
        Positions, pixels, 1-based (as in the catalog).
    classes : array_like of int
        Predicted class 1-4.
    scores : array_like
        ``(N, 4)`` softmax scores, written with two decimals.
    """
    scores = np.asarray(scores, dtype=float)
    lines = [
        f"{int(i)}\t{_format_position(xx)}\t{_format_position(yy)}\t{int(c)}\t[{' - '.join(f'{p:.2f}' for p in s)}]"
        for i, xx, yy, c, s in zip(ids, x, y, classes, scores, strict=True)
    ]
    write_text_atomic(Path(path), "".join(line + "\n" for line in lines))


def read_predictions_csv(path: str | Path) -> Table:
    """Read a published ``predictions.csv`` (``Galaxy,Id,X,Y,Prediction``).

    Returns
    -------
    astropy.table.Table
        Columns ``galaxy`` (str), ``id`` (int), ``x``, ``y`` (pixels), ``pred_class`` (int).
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _PREDICTION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserInputError(
                    f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(_PREDICTION_COLUMNS)})"
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path}: cannot read ({error})") from None
    try:
        return Table(
            {
                "galaxy": np.array([r["Galaxy"] for r in rows], dtype=str),
                "id": np.array([int(float(r["Id"])) for r in rows], dtype=np.int64),
                "x": np.array([float(r["X"]) for r in rows]),
                "y": np.array([float(r["Y"]) for r in rows]),
                "pred_class": np.array([int(float(r["Prediction"])) for r in rows], dtype=np.int64),
            }
        )
    except (TypeError, ValueError) as error:
        raise UserInputError(f"{path}: non-numeric Id, X, Y or Prediction ({error})") from None


def write_predictions_csv(path: str | Path, galaxy: str | Sequence[str], ids, x, y, classes) -> None:
    """Write a published-style ``predictions.csv``.

    Parameters
    ----------
    path : str or Path
    galaxy : str or sequence of str
        One galaxy name for all rows, or one per row.
    ids, x, y, classes : array_like
        Candidate ids, 1-based pixel positions and predicted classes 1-4.
    """
    n = len(ids)
    names = [galaxy] * n if isinstance(galaxy, str) else list(galaxy)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_PREDICTION_COLUMNS)
    for row in zip(names, ids, x, y, classes, strict=True):
        writer.writerow(
            [row[0], int(row[1]), _format_position(row[2]), _format_position(row[3]), int(row[4])]
        )
    write_text_atomic(Path(path), buffer.getvalue())
