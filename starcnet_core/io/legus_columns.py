"""Column layouts of LEGUS cluster catalogs (``.tab`` files) and their names here.

LEGUS ``.tab`` catalogs are whitespace-separated tables without a header; the
``.readme`` beside each lists the columns as ``"N. description"`` lines. This
module holds the classic 35-column layout (class mode and mean in 34, 35) and
the 39-column NGC 1566 one (hybrid class in 34) as ``(standard name, readme
description)`` pairs, the standard column names every reader in this package
returns, and :func:`infer_layout`, which recognises the layout of a catalog
without its readme (34 to 39 columns in the survey) from its values.

Standard names: ``id``, ``x``, ``y`` (1-based pixels, as LEGUS), ``ra``,
``dec`` (deg), ``mag_<BAND>`` / ``magerr_<BAND>`` (Vega mag, NaN when LEGUS
writes 99.999 "not detected" or 66.666 "outside the field"), ``ci`` (mag),
``age``/``age_max``/``age_min`` (yr), ``mass``/``mass_max``/``mass_min``
(Msun), ``ebv``/``ebv_max``/``ebv_min`` (mag), ``chi2_<BAND>``, ``chi2_red``,
``q_prob``, ``nflt``. Class columns are kept by source name, see
:data:`CLASS_COLUMNS_35` and :data:`CLASS_COLUMNS_NGC1566`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS

__all__ = [
    "PHOTOMETRY_COLUMNS",
    "STANDARD_35",
    "NGC1566_39",
    "CLASS_COLUMNS_35",
    "CLASS_COLUMNS_NGC1566",
    "MAG_NOT_DETECTED",
    "MAG_OUTSIDE_FIELD",
    "MAG_APCORR_UNDEFINED",
    "readme_text",
    "LabelChoice",
    "InferredLayout",
    "infer_layout",
]

#: LEGUS sentinels in magnitude columns.
MAG_NOT_DETECTED = 99.999
MAG_OUTSIDE_FIELD = 66.666
MAG_APCORR_UNDEFINED = 44.444

_BAND_FILTER_TEXT = {
    "NUV": "F275W",
    "U": "F336W",
    "B": "F438W",
    "V": "F555W",
    "I": "F814W",
}


def _photometry_layout(filters: dict[str, str]) -> list[tuple[str, str]]:
    """Columns 1-33 shared by every LEGUS catalog, for the given band->filter text."""
    cols = [
        ("id", "source id"),
        ("x", "x coordinates in the ref frame (image aligned and registered)"),
        ("y", "y coordinates in the ref frame (image aligned and registered)"),
        ("ra", "RA coordinates in the ref frame"),
        ("dec", "DEC coordinates in the ref frame"),
    ]
    for band in BANDS:
        cols.append((f"mag_{band}", f"final total mag in {filters[band]}"))
        cols.append((f"magerr_{band}", f"final photometric error in {filters[band]}"))
    cols += [
        ("ci", "CI=mag(1px)-mag(3px) measured in the V band"),
        ("age", "best age in yr"),
        ("age_max", "max age in yr (within 68 % confidence level)"),
        ("age_min", "min age in yr (within 68 % confidence level)"),
        ("mass", "best mass in solar masses"),
        ("mass_max", "max mass in solar masses (within 68 % confidence level)"),
        ("mass_min", "min mass in solar masses (within 68 % confidence level)"),
        ("ebv", "best E(B-V)"),
        ("ebv_max", "max E(B-V) (within 68 % confidence level)"),
        ("ebv_min", "min E(B-V) (within 68 % confidence level)"),
    ]
    for band in BANDS:
        cols.append((f"chi2_{band}", f"chi2 fit residual in {filters[band]}"))
    cols += [
        ("chi2_red", "reduced chi2"),
        ("q_prob", "Q probability is a measurement of the quality of the fit"),
        ("nflt", "Number of filter. The SED fit has been done only on sources with Nflt>=4"),
    ]
    return cols


#: Names of the photometry columns 1-33 (standard names), in catalog order.
PHOTOMETRY_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _photometry_layout(_BAND_FILTER_TEXT))

#: The classic 35-column LEGUS layout: 34 = class mode, 35 = class mean.
STANDARD_35: tuple[tuple[str, str], ...] = tuple(
    _photometry_layout(_BAND_FILTER_TEXT)
    + [
        (
            "class_mode",
            "Final assigned class of the source after visual inspection, applying the mode.",
        ),
        (
            "class_mean",
            "Final assigned class of the source after visual inspection, applying the mean.",
        ),
    ]
)

#: The 39-column NGC 1566 layout (hybrid human + machine-learning classes).
NGC1566_39: tuple[tuple[str, str], ...] = tuple(
    _photometry_layout(_BAND_FILTER_TEXT)
    + [
        ("class_hybrid", "Final (hybrid) class: visual inspection and machine learning"),
        ("class_decision", "How the final class was decided (0 ML, 1 ML + 1 human, 3, 4, 6)"),
        ("class_mode_3human", "Class mode of 3 human classifiers"),
        ("class_ml_early", "Class from an earlier machine-learning classifier"),
        ("class_human_verify", "Class from 1 human verifying the machine-learning class"),
        ("class_human_recheck", "Class from 1 human re-classifying former class-4 sources"),
    ]
)

#: Class columns of the 35-column layout: standard name -> label source name.
CLASS_COLUMNS_35: dict[str, str] = {"class_mode": "LEGUS mode"}

#: Class columns of the NGC 1566 layout: standard name -> label source name.
CLASS_COLUMNS_NGC1566: dict[str, str] = {
    "class_hybrid": "LEGUS hybrid",
    "class_mode_3human": "LEGUS 3-human mode",
    "class_ml_early": "LEGUS early ML",
    "class_human_verify": "LEGUS human verify",
    "class_human_recheck": "LEGUS human re-check",
}


def readme_text(layout: tuple[tuple[str, str], ...], header: str = "") -> str:
    """Write a LEGUS-style ``.readme``: free text, then ``"N. description"`` lines."""
    lines = [line for line in header.splitlines()]
    lines += ["", "Order of the columns"]
    lines += [f"{i}. {description}" for i, (_, description) in enumerate(layout, start=1)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- layouts from the values

#: Values of the Nflt column: the number of filters with a detection (0-5); LEGUS writes 200 where undefined.
NFLT_VALUES = frozenset({0, 1, 2, 3, 4, 5, 200})

# Columns from the first magnitude to Nflt: 5 magnitude/error pairs, CI, 3 ages, 3 masses,
# 3 E(B-V), 5 chi2, reduced chi2, Q probability and Nflt.
_PHOTOMETRY_SPAN = len(PHOTOMETRY_COLUMNS) - 5
_SENTINEL_VALUES = (MAG_NOT_DETECTED, MAG_OUTSIDE_FIELD, MAG_APCORR_UNDEFINED)
# Vega magnitudes of real candidates, and their errors, lie well within these.
_MAG_RANGE = (5.0, 40.0)
_MAGERR_RANGE = (0.0, 100.0)
# RA/Dec of one LEGUS field span well under a degree; pixel positions span hundreds of pixels.
_MAX_SKY_SPAN_DEG = 5.0
# Fraction of a column's values that may fail its check (odd values in real catalogs).
_STRAY_FRACTION = 0.01
# How the NGC 1566 catalog's column 35 says its final class was decided (see NGC1566_39).
_DECISION_VALUES = frozenset({0, 1, 3, 4, 6})


@dataclass(frozen=True)
class LabelChoice:
    """A class-like catalog column: where it is, what it is called, how often each value occurs.

    Attributes
    ----------
    column : int
        1-based column number in the file.
    name : str
        Its name in the catalog table (``col_<column>`` while its meaning is unknown).
    counts : dict[str, int]
        Value -> number of rows (``"0"`` not classified; ``"5"`` not inspected in some fields).
    """

    column: int
    name: str
    counts: dict[str, int]

    def describe(self) -> str:
        """One line: ``column 36 (0: 2925, 1: 85, 2: 191, 3: 210, 4: 373)``."""
        return f"column {self.column} (" + ", ".join(f"{v}: {n}" for v, n in self.counts.items()) + ")"


@dataclass(frozen=True)
class InferredLayout:
    """The columns of a headerless LEGUS catalog as recognised from their values.

    Attributes
    ----------
    names : list of str
        Standard name of every column.
    description : str
        What was decided, e.g. ``"legus-34: classes in 34, no mean"``.
    evidence : list of str
        Why: one line per observation the decision rests on.
    class_columns : tuple of LabelChoice
        Every class-like column after Nflt, with its value counts.
    ambiguous : bool
        Several class-like columns and nothing says which is the human mode:
        none became a label, the user chooses one of ``class_columns``.
    """

    names: list[str]
    description: str
    evidence: list[str] = field(default_factory=list)
    class_columns: tuple[LabelChoice, ...] = ()
    ambiguous: bool = False


def _is_integer(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _counts(values: np.ndarray) -> dict[str, int]:
    unique, counts = np.unique(values.astype(np.int64), return_counts=True)
    return {str(int(v)): int(n) for v, n in zip(unique, counts, strict=True)}


def _looks_like_sky(ra: np.ndarray, dec: np.ndarray) -> bool:
    """RA/Dec in degrees of one field: in range, a small span, not whole numbers as pixel positions often are."""
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
        return False
    in_range = ra.min() >= 0 and ra.max() < 360 and dec.min() >= -90 and dec.max() <= 90
    small = np.ptp(ra) < _MAX_SKY_SPAN_DEG and np.ptp(dec) < _MAX_SKY_SPAN_DEG
    return bool(in_range and small and not (_is_integer(ra) and _is_integer(dec)))


def _mostly(ok: np.ndarray) -> bool:
    """All but a stray few (a real catalog may hold an odd value) of a column's rows pass a check."""
    return bool(np.mean(ok) >= 1.0 - _STRAY_FRACTION)


def _within(values: np.ndarray, low: float, high: float) -> bool:
    """The values are LEGUS sentinels or within [low, high] (but for a stray few)."""
    sentinel = np.zeros(values.shape, dtype=bool)
    for value in _SENTINEL_VALUES:
        sentinel |= np.isclose(values, value, atol=5e-4)
    return _mostly(sentinel | ((values >= low) & (values <= high)))


def _photometry_problem(values: np.ndarray, first_mag: int) -> str | None:
    """Why columns ``first_mag`` ... are not LEGUS photometry ending in Nflt (0-based index); None if they are."""
    if values.shape[1] < first_mag + _PHOTOMETRY_SPAN:
        return f"too few columns for photometry from column {first_mag + 1} to Nflt"
    for band in range(len(BANDS)):
        mag, err = first_mag + 2 * band, first_mag + 2 * band + 1
        if not _within(values[:, mag], *_MAG_RANGE):
            return (
                f"column {mag + 1} is not a magnitude ({_MAG_RANGE[0]:g}-{_MAG_RANGE[1]:g} or 99.999/66.666)"
            )
        if not _within(values[:, err], *_MAGERR_RANGE):
            return f"column {err + 1} is not a magnitude error"
    nflt = first_mag + _PHOTOMETRY_SPAN - 1
    column = values[:, nflt]
    if not _mostly((column == np.round(column)) & np.isin(column, sorted(NFLT_VALUES))):
        return f"column {nflt + 1} is not Nflt (whole numbers in {sorted(NFLT_VALUES)})"
    return None


def _trailing_kind(values: np.ndarray) -> str:
    """What a column after Nflt holds, from its values: class, mean, flag, small integer or other."""
    if not np.all(np.isfinite(values)):
        return "other"
    if _is_integer(values):
        present = set(np.unique(values).astype(int))
        if present <= {0, 1}:
            return "flag"
        if present <= {0, 1, 2, 3, 4, 5} and max(present) >= 3:
            return "class"
        if present <= {0, 1, 2}:
            return "integer 0-2"
        return "integer"
    if values.min() >= 0 and values.max() <= 5:
        return "mean"
    return "other"


def infer_layout(values: np.ndarray, source: str = "catalog") -> InferredLayout:
    """Recognise the columns of a headerless LEGUS catalog from their number and values.

    Columns 1-33 of every LEGUS catalog are id, x, y, RA, Dec, photometry, CI,
    SED-fit age/mass/E(B-V), chi2, Q and Nflt; catalogs of mosaic fields
    (NGC 1313) list x, y twice, on the pointing and on the mosaic frame, before
    RA/Dec. Which of the two applies is told by where RA/Dec (degrees, a small
    span) and Nflt (whole numbers of filters) are. The columns after Nflt are
    told apart by their values: a 0-4 (or 0-5) integer column followed by a
    fractional 0-4 column is the class mode and mean; a single class column is
    taken as the mode; with several and no mean beside one of them, none is
    chosen (``ambiguous``).

    Parameters
    ----------
    values : numpy.ndarray
        ``(N, C)`` the table's numbers.
    source : str
        The file, for messages.

    Returns
    -------
    InferredLayout

    Raises
    ------
    UserInputError
        The columns do not fit any LEGUS layout (the message says what did not fit).
    """
    ncols = values.shape[1]
    tried = []
    # One pair of positions (RA/Dec in 4-5), else two pairs (RA/Dec in 6-7, NGC 1313).
    for frames, ra_index in ((1, 3), (2, 5)):
        if ncols < ra_index + 2 + _PHOTOMETRY_SPAN:
            if frames == 1:
                tried.append(f"a LEGUS catalog has at least {ra_index + 2 + _PHOTOMETRY_SPAN} columns")
            continue
        if not _looks_like_sky(values[:, ra_index], values[:, ra_index + 1]):
            tried.append(f"columns {ra_index + 1}-{ra_index + 2} are not RA/Dec in degrees")
            continue
        problem = _photometry_problem(values, ra_index + 2)
        if problem is not None:
            tried.append(problem)
            continue
        return _layout_after_nflt(values, frames, ra_index)
    raise UserInputError(
        f"{source}: {ncols} columns without a readme, not recognised as a LEGUS catalog ({'; '.join(tried)}); "
        "give the catalog's .readme (--readme), or a table with a header naming id, x, y"
    )


def _layout_after_nflt(values: np.ndarray, frames: int, ra_index: int) -> InferredLayout:
    """Names and reasons once the photometry block is placed; the class columns told from their values."""
    ncols = values.shape[1]
    nflt = ra_index + 2 + _PHOTOMETRY_SPAN - 1
    names = (
        ["id", "x", "y"] + (["x_mosaic", "y_mosaic"] if frames == 2 else []) + list(PHOTOMETRY_COLUMNS[3:])
    )
    ra, dec = values[:, ra_index], values[:, ra_index + 1]
    evidence = [
        f"RA/Dec in columns {ra_index + 1}-{ra_index + 2} "
        f"({ra.min():.4f}-{ra.max():.4f}, {dec.min():.4f}-{dec.max():.4f} deg)",
        f"Nflt in column {nflt + 1} (values {', '.join(_counts(values[:, nflt]))})",
    ]
    if frames == 2:
        evidence.insert(0, "x, y on two frames in columns 2-5 (pointing, then mosaic), as NGC 1313")
    prefix = f"legus-{ncols}" + (" (positions on the pointing and the mosaic frame)" if frames == 2 else "")
    trailing = list(range(nflt + 1, ncols))
    kinds = {i: _trailing_kind(values[:, i]) for i in trailing}

    decision = nflt + 2
    if (
        frames == 1
        and ncols == len(NGC1566_39)
        and kinds[decision] == "integer"
        and set(np.unique(values[:, decision])) <= _DECISION_VALUES
    ):
        evidence.append(f"column {nflt + 3} says how the class in {nflt + 2} was decided (0, 1, 3, 4, 6)")
        names = [name for name, _ in NGC1566_39]
        return InferredLayout(
            names,
            f"{prefix}: NGC 1566 layout, hybrid class in {nflt + 2}, 3-human mode in {nflt + 4}",
            evidence,
        )

    for i in trailing:
        names.append(f"flag_{i + 1}" if kinds[i] == "flag" else f"col_{i + 1}")
        shown = (
            f" ({', '.join(f'{v}: {n}' for v, n in _counts(values[:, i]).items())})"
            if _is_integer(values[:, i])
            else f" ({values[:, i].min():g}-{values[:, i].max():g})"
        )
        evidence.append(f"column {i + 1}: {_KIND_TEXT[kinds[i]]}{shown}")
    classes = [i for i in trailing if kinds[i] == "class"]
    # A class column followed by its mean (fractional, or equal to it where every vote agreed). In a
    # small table the mode may not reach class 3, so a 0-2 column qualifies when its mean follows.
    modes = [
        i
        for i in trailing
        if kinds[i] in ("class", "integer 0-2")
        and i + 1 in kinds
        and (
            kinds[i + 1] == "mean"
            or (kinds[i + 1] in ("class", "integer 0-2") and np.array_equal(values[:, i], values[:, i + 1]))
        )
    ]
    classes = sorted({*classes, *modes})
    class_columns = tuple(LabelChoice(i + 1, names[i], _counts(values[:, i])) for i in classes)
    flags = [i + 1 for i in trailing if kinds[i] == "flag"]
    flag_text = f", flag in {', '.join(map(str, flags))}" if flags else ""
    if len(modes) == 1:
        mode = modes[0]
        names[mode], names[mode + 1] = "class_mode", "class_mean"
        class_columns = tuple(LabelChoice(c.column, names[c.column - 1], c.counts) for c in class_columns)
        evidence.append(f"column {mode + 1} is the class mode: column {mode + 2} beside it is its mean")
        return InferredLayout(
            names, f"{prefix}: mode in {mode + 1}, mean in {mode + 2}{flag_text}", evidence, class_columns
        )
    if len(classes) == 1:
        only = classes[0]
        names[only] = "class_mode"
        evidence.append(f"column {only + 1} is the only class column: taken as the class mode")
        return InferredLayout(
            names,
            f"{prefix}: classes in {only + 1}, no mean{flag_text}",
            evidence,
            (LabelChoice(only + 1, "class_mode", class_columns[0].counts),),
        )
    if not classes:
        return InferredLayout(names, f"{prefix}: no class column{flag_text}", evidence)
    listed = ", ".join(str(i + 1) for i in classes)
    evidence.append(
        f"{len(classes)} class columns ({listed}) and no mean beside one: none taken as the label"
    )
    return InferredLayout(
        names,
        f"{prefix}: class columns {listed}, which is the human mode is not known: choose one (--label-column)",
        evidence,
        class_columns,
        ambiguous=True,
    )


_KIND_TEXT = {
    "class": "classes",
    "mean": "fractional 0-5 (a class mean)",
    "flag": "0/1 flag",
    "integer 0-2": "whole numbers 0-2 (not classes: none above 2)",
    "integer": "whole numbers",
    "other": "not classes",
}
