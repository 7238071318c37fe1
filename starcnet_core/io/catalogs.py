"""Star-cluster candidate catalogs: LEGUS ``.tab`` files and generic tables.

:func:`read_catalog` returns a :class:`Catalog`: an astropy Table with the
standard column names of :mod:`starcnet_core.io.legus_columns` (``id``, ``x``,
``y`` 1-based pixels, ``ra``, ``dec``, ``mag_<BAND>``, ``ci``, ``age``,
``mass``, ``ebv`` ...), plus the class columns found, as labels of named
sources ("LEGUS mode", "LEGUS hybrid" ...). It reads

* LEGUS ``.tab`` (or headerless CSV) files whose columns are named by a
  ``.readme`` ("N. description" lines, also when the line breaks were lost:
  "1. source id2. x coordinates ..."), matched by their descriptions;
* without a readme, every LEGUS layout (34 to 39 columns), recognised from the
  number of columns and their values by
  :func:`~starcnet_core.io.legus_columns.infer_layout`, or a plain ``id x y``
  table (what the published StarcNet reads); a header row above the numbers is
  skipped when a readme names the columns;
* CSV, ECSV and FITS tables with a header naming ``id`` and ``x``, ``y``
  (1-based as LEGUS, or 0-based with ``zero_based=True``) or RA/Dec, which are
  turned into pixels through a mosaic WCS.

Catalogs of fields that are part of a LEGUS mosaic (NGC 1313) list each
candidate's position twice, on the pointing and on the mosaic frame
(``x_mosaic``, ``y_mosaic``); ``frame`` chooses which pair becomes ``x``, ``y``.

LEGUS magnitude sentinels (99.999 not detected, 66.666 outside the field,
44.444 aperture correction undefined) become NaN. Problems a user can fix
raise :class:`~starcnet_core.errors.UserInputError` naming the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.wcs import WCS

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import band_for_filter, filter_number
from starcnet_core.io.legus_columns import (
    CLASS_COLUMNS_35,
    CLASS_COLUMNS_NGC1566,
    MAG_APCORR_UNDEFINED,
    MAG_NOT_DETECTED,
    MAG_OUTSIDE_FIELD,
    InferredLayout,
    LabelChoice,
    infer_layout,
)

__all__ = [
    "Catalog",
    "read_catalog",
    "parse_readme",
    "standard_name",
    "find_readme",
    "LABEL_SOURCES",
    "FRAMES",
]

#: Choices of the positions of catalogs that list two pairs: ``"auto"`` (the pair the
#: mosaics' WCS confirms, else the mosaic frame for a mosaic field, else the
#: pointing's), ``"pointing"`` (x, y) or ``"mosaic"`` (x_mosaic, y_mosaic).
FRAMES: tuple[str, ...] = ("auto", "pointing", "mosaic")

# Median distance (pixels) within which the RA/Dec through the WCS confirm a pair of positions;
# LEGUS writes RA/Dec with 5 decimals (up to 0.9 pixel).
_FRAME_MATCH_PX = 5.0

#: Label source name of each standard class column.
LABEL_SOURCES: dict[str, str] = {**CLASS_COLUMNS_35, **CLASS_COLUMNS_NGC1566}

# Class columns that qualify another one rather than being labels themselves.
_MEAN_OF = {"class_mean": "class_mode"}
_NOT_LABELS = {"class_decision"}

_HEADED_SUFFIXES = {".ecsv": "ascii.ecsv", ".fits": "fits", ".fit": "fits", ".fits.gz": "fits"}
_ALIASES = {
    "id": ("id", "source_id", "sourceid", "id_number", "objid", "number"),
    "x": ("x", "x_image", "xcentroid", "x_pix", "xpix", "xcenter"),
    "y": ("y", "y_image", "ycentroid", "y_pix", "ypix", "ycenter"),
    "ra": ("ra", "raj2000", "ra_deg", "alpha_j2000"),
    "dec": ("dec", "dej2000", "decj2000", "dec_deg", "delta_j2000"),
}
_SENTINELS = (MAG_NOT_DETECTED, MAG_OUTSIDE_FIELD, MAG_APCORR_UNDEFINED)


@dataclass
class Catalog:
    """Candidates of one field with their photometry and class labels.

    Attributes
    ----------
    table : astropy.table.Table
        One row per candidate, standard column names; ``x``, ``y`` are
        1-based pixels (LEGUS convention) whatever the input convention.
    labels : dict[str, numpy.ndarray]
        Label source name -> int class per row (1-4; 0 = not classified).
    label_means : dict[str, numpy.ndarray]
        Label source name -> mean class of the votes (float), where the
        catalog gives one (LEGUS ``class_mean`` goes with "LEGUS mode").
    path : pathlib.Path
    layout : str
        How the columns were found: ``"readme"``, ``"id_x_y"``, ``"table"``
        (named header), or for a LEGUS catalog without a readme what its values
        showed, e.g. ``"legus-34: classes in 34, no mean"``.
    layout_evidence : list of str
        Why: the observations the layout rests on.
    class_columns : tuple of LabelChoice
        Class-like columns found from their values (catalogs without a readme),
        with their value counts.
    label_choices : tuple of LabelChoice
        Class-like columns of which none became a label because nothing says
        which is the human mode: the user names one (``label_column``). Empty
        when the label was decided or named.
    chosen_source : str or None
        The label source of the ``label_column`` asked for, None when none was.
    frame : str or None
        For catalogs with positions on the pointing and on the mosaic frame,
        the pair in ``x``, ``y``: ``"pointing"`` (the mosaic-frame pair stays in
        ``x_mosaic``, ``y_mosaic``) or ``"mosaic"`` (the pointing's pair moves to
        ``x_pointing``, ``y_pointing``); None for catalogs with one pair.
    """

    table: Table
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    label_means: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None
    layout: str = "table"
    frame: str | None = None
    layout_evidence: list[str] = field(default_factory=list)
    class_columns: tuple[LabelChoice, ...] = ()
    label_choices: tuple[LabelChoice, ...] = ()
    chosen_source: str | None = None

    def __len__(self) -> int:
        return len(self.table)


# ----------------------------------------------------------------------------- readme


def parse_readme(text: str) -> list[str]:
    """Column descriptions of a LEGUS ``.readme``, in column order.

    Parameters
    ----------
    text : str
        The readme: free text, then ``"N. description"`` entries (also
        ``"N) ..."``, ``"Column N: ..."``), one per line, or run together on
        one line when the line breaks were lost.

    Returns
    -------
    list of str
        Description of column 1, 2, ...; empty when none is found.
    """
    # One entry per line: "N. description" lines numbered 1, 2, 3 ... in order,
    # with continuation lines appended to the entry above.
    entries: list[str] = []
    for line in text.splitlines():
        match = re.match(r"\s*(?:col(?:umn)?\s*)?(\d+)\s*[.):-]\s+(\S.*)", line, re.IGNORECASE)
        if match and int(match.group(1)) == len(entries) + 1:
            entries.append(match.group(2).strip())
        elif entries and line.strip() and not line.lstrip().startswith("#"):
            entries[-1] += " " + line.strip()
    # When the line breaks were lost the per-line pass finds only column 1.
    run_together = _parse_run_together(text)
    return run_together if len(run_together) > len(entries) else entries


def _parse_run_together(text: str) -> list[str]:
    """Find "1. ", "2. " ... in sequence in text whose line breaks were lost."""
    anchor = re.search(r"order of the columns", text, re.IGNORECASE)
    position = anchor.end() if anchor else 0
    starts: list[tuple[int, int]] = []  # (start of number, start of description)
    k = 1
    while True:
        # The number may directly follow a digit of the text before it ("reduced
        # chi232. Q probability"), so no look-behind; it must be followed by text.
        match = re.compile(rf"{k}[.)]\s*(?=[A-Za-z#(])").search(text, position)
        if match is None:
            break
        starts.append((match.start(), match.end()))
        position = match.end()
        k += 1
    descriptions = []
    for i, (_, begin) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        descriptions.append(" ".join(text[begin:end].split()))
    return descriptions


def find_readme(path: Path) -> Path | None:
    """The readme of a catalog: ``<stem>.readme``, else the readme/description file beside it.

    When several are beside it, the one whose name best matches the catalog's
    is taken; None when there is none or no clear choice.
    """
    path = Path(path)
    same = path.with_suffix(".readme")
    if same.is_file():
        return same
    others = [
        p
        for p in path.parent.iterdir()
        if p.is_file()
        and p != path
        and (p.suffix.lower() == ".readme" or re.search(r"readme|description", p.name, re.IGNORECASE))
        and p.suffix.lower() in (".readme", ".txt", ".md", "")
    ]
    if len(others) <= 1:
        return others[0] if others else None
    # Several (e.g. the avgapcor and the CI-based catalogs' readmes): the one whose
    # name shares the longest start with the catalog's, when that one is unique.
    shared = sorted(((len(os.path.commonprefix([p.stem, path.stem])), p) for p in others), reverse=True)
    return shared[0][1] if shared[0][0] > shared[1][0] else None


def standard_name(description: str, index: int) -> str:
    """Standard column name for a readme description (``col_<index>`` when unknown).

    Parameters
    ----------
    description : str
        The readme's text for the column, e.g. ``"final total mag in WFC3/F275W"``.
    index : int
        1-based column number, for the fallback names.
    """
    d = " ".join(description.lower().split())
    band = band_for_filter(filter_number(d) or "") if filter_number(d) else None
    if "class" in d and not d.startswith(("ci", "number of filter")):
        return _class_name(d, index)
    if re.match(r"(source )?id\b|identif|source number", d):
        return "id"
    for axis in ("x", "y"):
        if re.match(rf"{axis}\b|{axis}[ -]coord|{axis} position|{axis} pixel", d):
            # NGC 1313 lists positions on the pointing and on the mosaic frame.
            return f"{axis}_mosaic" if "mosaic" in d and "ref frame" not in d else axis
    if re.match(r"ra\b|right ascension", d):
        return "ra"
    if re.match(r"dec\b|declination", d):
        return "dec"
    if "chi2" in d or "chi^2" in d or "chi-square" in d:
        if "reduced" in d:
            return "chi2_red"
        return f"chi2_{band}" if band else f"col_{index}"
    if re.match(r"ci\b", d) or "concentration index" in d:
        return "ci"
    if band and ("mag" in d or "photometric error" in d or "phot err" in d):
        return f"magerr_{band}" if "err" in d else f"mag_{band}"
    for quantity, words in (("age", ("age",)), ("mass", ("mass",)), ("ebv", ("e(b-v)", "e(b - v)", "ebv"))):
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", d) for w in words):
            if re.search(r"\bmax", d):
                return f"{quantity}_max"
            if re.search(r"\bmin", d):
                return f"{quantity}_min"
            return quantity
    if "q probability" in d or d.startswith("q prob"):
        return "q_prob"
    if "number of filter" in d or "nflt" in d:
        return "nflt"
    return f"col_{index}"


def _class_name(d: str, index: int) -> str:
    """Standard name of a class column from its (lower-case) description."""
    if re.search(r"\bhow\b|decided|decision", d):
        return "class_decision"
    if "mode" in d and re.search(r"\b(3|three)\b.*human", d):
        return "class_mode_3human"
    if "hybrid" in d:
        return "class_hybrid"
    if "verif" in d:
        return "class_human_verify"
    if "re-class" in d or "re-check" in d or "recheck" in d or "reclass" in d:
        return "class_human_recheck"
    if "earlier" in d or "machine" in d or re.search(r"\bml\b", d):
        return "class_ml_early" if "earlier" in d or "final" not in d else "class_hybrid"
    # "mode" and "mean" may both appear ("... the mean. ... Class_mode and Class_mean"):
    # the first one says what the column is.
    found = [(d.find(word), word) for word in ("mode", "mean") if word in d]
    if found:
        return f"class_{min(found)[1]}"
    return f"class_{index}"


# ----------------------------------------------------------------------------- reading


def _numeric_rows(path: Path, text: str, delimiter: str | None) -> np.ndarray:
    """Parse a headerless all-numeric table into a float (N, C) array, naming bad lines."""
    rows = []
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f.strip() for f in (stripped.split(delimiter) if delimiter else stripped.split())]
        if delimiter and fields and fields[-1] == "":
            fields = fields[:-1]
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise UserInputError(f"{path}: line {number} has {len(fields)} columns, line 1 has {width}")
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise UserInputError(f"{path}: line {number}: non-numeric value {bad!r}") from None
    return np.array(rows, dtype=np.float64).reshape(len(rows), width or 0)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_data_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    return ""


def _positional_names(path: Path, values: np.ndarray, readme: Path | None) -> InferredLayout:
    """Standard names for the columns of a headerless table: from its readme, else from the values."""
    ncols = values.shape[1]
    if readme is not None:
        descriptions = _readme_descriptions(readme)
        if len(descriptions) != ncols:
            raise UserInputError(
                f"{path}: has {ncols} columns but its readme {Path(readme).name} describes {len(descriptions)}"
            )
        names = [standard_name(d, i) for i, d in enumerate(descriptions, start=1)]
        return InferredLayout(_dedupe(names), "readme", [f"columns named by {Path(readme).name}"])
    if ncols == 3:
        return InferredLayout(["id", "x", "y"], "id_x_y", ["3 columns: id, x, y"])
    return infer_layout(values, str(path))


def _readme_descriptions(readme: Path) -> list[str]:
    """The column descriptions of a readme; UserInputError when it cannot be read or lists none."""
    try:
        descriptions = parse_readme(Path(readme).read_text(errors="replace"))
    except OSError as error:
        raise UserInputError(f"{readme}: cannot read the readme ({error})") from None
    if not descriptions:
        raise UserInputError(f"{readme}: no 'N. description' column list found")
    return descriptions


def _dedupe(names: list[str]) -> list[str]:
    """Keep the first of repeated names; later ones get a ``_<column number>`` suffix."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names, start=1):
        out.append(name if name not in seen else f"{name}_{i}")
        seen.add(name)
    return out


def _commented_header(text: str, ncols: int, delimiter: str | None) -> list[str] | None:
    """Names from a ``# id x y ...`` comment line just above the data, when it names every column."""
    previous = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        previous = stripped.lstrip("#").strip()
    if previous is None:
        return None
    names = [n.strip() for n in (previous.split(delimiter) if delimiter else previous.split())]
    lower = {n.lower() for n in names}
    if len(names) != ncols or len(lower) != ncols or not lower & set(_ALIASES["id"]):
        return None
    return names


def _read_headed(path: Path, text: str | None, fmt: str) -> Table:
    """Read a table whose header names its columns, with standard names."""
    try:
        table = Table.read(text if text is not None else path, format=fmt)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as error:
        message = " ".join(str(error).split())[:200]
        raise UserInputError(f"{path}: cannot read the table ({message})") from None
    return _standard_names(table)


def _standard_names(table: Table) -> Table:
    """Rename id, x, y, ra, dec aliases (any case) to the standard names; keep other columns."""
    renamed = Table(masked=False)
    lower = {name.lower().strip(): name for name in table.colnames}
    used = set()
    for standard, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lower and lower[alias] not in used:
                renamed[standard] = table[lower[alias]]
                used.add(lower[alias])
                break
    for name in table.colnames:
        if name not in used:
            clean = name.strip()
            renamed[clean if clean not in renamed.colnames else f"{clean}_extra"] = table[name]
    return renamed


def _column_as_float(path: Path, table: Table, name: str) -> np.ndarray:
    """A column as float64, raising UserInputError naming the row of a non-numeric value."""
    column = table[name]
    if hasattr(column, "mask") and np.any(column.mask):
        row = int(np.flatnonzero(column.mask)[0])
        raise UserInputError(f"{path}: column {name!r} is empty in row {row + 1}")
    try:
        return np.asarray(column, dtype=np.float64)
    except (ValueError, TypeError):
        for row, value in enumerate(column):
            if not _is_number(str(value)):
                raise UserInputError(
                    f"{path}: column {name!r} row {row + 1}: non-numeric value {value!r}"
                ) from None
        raise


def read_catalog(
    path: str | Path,
    readme: str | Path | None = None,
    *,
    label_column: str | None = None,
    label_source: str | None = None,
    zero_based: bool = False,
    wcs: WCS | None = None,
    frame: str = "auto",
    mosaic_field: bool = False,
) -> Catalog:
    """Read a candidate catalog into standard columns and labels.

    Parameters
    ----------
    path : str or Path
        LEGUS ``.tab`` (whitespace), headerless CSV, or a CSV/ECSV/FITS table
        with a header.
    readme : str or Path, optional
        Readme naming the columns of a headerless table; by default
        ``<stem>.readme`` or the only readme/description file beside the
        catalog is used when present. Without one, a LEGUS layout is
        recognised from the values (:func:`~starcnet_core.io.legus_columns.infer_layout`);
        where several class columns leave the label open, none is taken and
        ``Catalog.label_choices`` lists them.
    label_column : str, optional
        A further class column to keep as labels: a header name, a standard
        name, or a 1-based column number of a headerless table.
    label_source : str, optional
        Name under which ``label_column`` is kept (default: the column name).
    zero_based : bool
        The table's x, y are 0-based array indices (they are stored 1-based).
    wcs : astropy.wcs.WCS, optional
        Mosaic WCS, used to place candidates given only by RA/Dec (deg), and
        to tell which pair of positions the mosaics use.
    frame : {"auto", "pointing", "mosaic"}
        Positions to use when the catalog lists them on the pointing and on
        the mosaic frame (NGC 1313): ``"auto"`` takes the pair that the
        candidates' RA/Dec through ``wcs`` confirm, else the mosaic frame when
        ``mosaic_field``, else the pointing's. Ignored for catalogs with one pair.
    mosaic_field : bool
        The mosaics are a LEGUS mosaic field (``..._sci.fits``), for ``"auto"``.

    Returns
    -------
    Catalog

    Raises
    ------
    UserInputError
        Unreadable file, wrong number of columns, non-numeric values,
        duplicate ids, no positions, or no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such catalog file")
    name = path.name.lower()
    fmt = next((f for suffix, f in _HEADED_SUFFIXES.items() if name.endswith(suffix)), None)
    if fmt is not None:
        table = _read_headed(path, None, fmt)
        found = InferredLayout(table.colnames, "table")
    else:
        try:
            text = path.read_text(errors="strict")
        except (OSError, UnicodeDecodeError) as error:
            raise UserInputError(f"{path}: not a text catalog ({error})") from None
        first = _first_data_line(text)
        if not first:
            raise UserInputError(f"{path}: the catalog has no candidates")
        delimiter = "," if name.endswith(".csv") or ("," in first and "\t" not in first) else None
        fields = first.split(delimiter) if delimiter else first.split()
        header = _commented_header(text, len([f for f in fields if f.strip()]), delimiter)
        if readme is None and header is not None:
            values = _numeric_rows(path, text, delimiter)
            table = _standard_names(Table(list(values.T), names=header))
            found = InferredLayout(header, "table")
        else:
            header_row = not all(_is_number(f) for f in fields if f.strip())
            if readme is None:
                readme = find_readme(path)
            if header_row and not _readme_names_columns(readme, text, delimiter, first):
                table = _read_headed(path, text, "ascii.csv" if delimiter else "ascii.basic")
                found = InferredLayout(table.colnames, "table")
            else:
                # A header row above the numbers says less than the readme: it is skipped.
                body = text.replace(first, "", 1) if header_row else text
                values = _numeric_rows(path, body, delimiter)
                found = _positional_names(path, values, readme)
                table = Table(list(values.T), names=found.names)
                if header_row:
                    found.evidence.append(f"header row {first[:60]!r} skipped: the readme names the columns")
    if len(table) == 0:
        raise UserInputError(f"{path}: the catalog has no candidates")

    label_name = _resolve_column(path, table, label_column) if label_column is not None else None
    chosen = _choose_frame(path, table, frame, wcs, mosaic_field)
    table = _standardise(path, table, zero_based=zero_based, wcs=wcs)
    labels, label_means, chosen_source = _labels(path, table, label_name, label_source)
    return Catalog(
        table=table,
        labels=labels,
        label_means=label_means,
        path=path,
        layout=found.description,
        frame=chosen,
        layout_evidence=found.evidence,
        class_columns=found.class_columns,
        label_choices=found.class_columns if found.ambiguous and label_name is None else (),
        chosen_source=chosen_source,
    )


def _readme_names_columns(readme: Path | None, text: str, delimiter: str | None, header: str) -> bool:
    """Whether a readme lists as many columns as the data rows below a header row have."""
    if readme is None:
        return False
    rows = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(rows) < 2:
        return False
    second = rows[1].strip()
    fields = [f for f in (second.split(delimiter) if delimiter else second.split()) if f.strip()]
    return all(_is_number(f) for f in fields) and len(_readme_descriptions(readme)) == len(fields)


def _choose_frame(path: Path, table: Table, frame: str, wcs: WCS | None, mosaic_field: bool) -> str | None:
    """Put the chosen pair of positions in ``x``, ``y``; the frame chosen, None with one pair."""
    if frame not in FRAMES:
        raise UserInputError(f"frame must be one of {', '.join(FRAMES)}, not {frame!r}")
    names = set(table.colnames)
    if {"x_mosaic", "y_mosaic"} <= names and not names & {"x", "y"}:
        # Only mosaic-frame positions: they are the positions.
        table.rename_columns(["x_mosaic", "y_mosaic"], ["x", "y"])
        return "mosaic"
    two = {"x", "y", "x_mosaic", "y_mosaic"} <= names
    if frame == "mosaic" and not two:
        raise UserInputError(
            f"{path}: no positions on the mosaic frame (x_mosaic, y_mosaic) besides x, y; "
            "use the catalog's x, y (frame 'pointing' or 'auto')"
        )
    if not two:
        return None
    if frame == "auto":
        frame = _frame_from_wcs(path, table, wcs) or ("mosaic" if mosaic_field else "pointing")
    if frame == "mosaic":
        table.rename_columns(["x", "y"], ["x_pointing", "y_pointing"])
        table.rename_columns(["x_mosaic", "y_mosaic"], ["x", "y"])
    return frame


def _frame_from_wcs(path: Path, table: Table, wcs: WCS | None) -> str | None:
    """The pair of positions (``"pointing"`` or ``"mosaic"``) that RA/Dec through the WCS confirm, if one does."""
    if wcs is None or not {"ra", "dec"} <= set(table.colnames):
        return None
    x0, y0 = wcs.world_to_pixel_values(
        _column_as_float(path, table, "ra"), _column_as_float(path, table, "dec")
    )
    distance = {}
    for frame, (xname, yname) in (("pointing", ("x", "y")), ("mosaic", ("x_mosaic", "y_mosaic"))):
        # LEGUS positions are 1-based; a 0-based catalog is off by 1.4 pixels, well within the match.
        offset = np.hypot(
            _column_as_float(path, table, xname) - (np.asarray(x0) + 1.0),
            _column_as_float(path, table, yname) - (np.asarray(y0) + 1.0),
        )
        offset = offset[np.isfinite(offset)]
        distance[frame] = float(np.median(offset)) if len(offset) else np.inf
    best, other = sorted(distance, key=distance.get)
    if distance[best] <= _FRAME_MATCH_PX and distance[other] > 2.0 * distance[best] + 1.0:
        return best
    return None


def _standardise(path: Path, table: Table, *, zero_based: bool, wcs: WCS | None) -> Table:
    """Check ids and positions, make x, y 1-based, turn LEGUS sentinels into NaN."""
    if "id" not in table.colnames:
        raise UserInputError(f"{path}: no id column (expected one of {', '.join(_ALIASES['id'])})")
    ids = _column_as_float(path, table, "id")
    if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
        raise UserInputError(f"{path}: ids must be whole numbers")
    table["id"] = ids.astype(np.int64)
    unique, counts = np.unique(table["id"], return_counts=True)
    if np.any(counts > 1):
        repeated = unique[counts > 1]
        shown = ", ".join(str(i) for i in repeated[:5])
        raise UserInputError(f"{path}: duplicate ids ({len(repeated)} repeated: {shown})")

    if "x" in table.colnames and "y" in table.colnames:
        offset = 1.0 if zero_based else 0.0
        table["x"] = _column_as_float(path, table, "x") + offset
        table["y"] = _column_as_float(path, table, "y") + offset
    elif "ra" in table.colnames and "dec" in table.colnames:
        if wcs is None:
            raise UserInputError(
                f"{path}: candidates are given by RA/Dec only; give the mosaics so their WCS places them"
            )
        ra, dec = _column_as_float(path, table, "ra"), _column_as_float(path, table, "dec")
        x0, y0 = wcs.world_to_pixel_values(ra, dec)
        table["x"], table["y"] = np.asarray(x0) + 1.0, np.asarray(y0) + 1.0
    else:
        raise UserInputError(f"{path}: no positions (needs x and y columns, or ra and dec)")
    bad = ~(np.isfinite(table["x"]) & np.isfinite(table["y"]))
    if np.any(bad):
        raise UserInputError(f"{path}: candidate id {table['id'][bad][0]} has no finite x, y")

    for name in table.colnames:
        if name.startswith(("mag_", "magerr_")) or name == "ci":
            values = _column_as_float(path, table, name)
            sentinel = np.zeros(values.shape, dtype=bool)
            for value in _SENTINELS:
                sentinel |= np.isclose(values, value, atol=5e-4)
            table[name] = np.where(sentinel, np.nan, values)
    order = ["id", "x", "y"] + [n for n in table.colnames if n not in ("id", "x", "y")]
    return table[order]


def _labels(
    path: Path, table: Table, label_column: str | None, label_source: str | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str | None]:
    """Class columns as labels (ints, 0 = not classified) by source, class means, the source of ``label_column``."""
    labels: dict[str, np.ndarray] = {}
    means: dict[str, np.ndarray] = {}
    for name in table.colnames:
        lower = name.lower()
        if not lower.startswith("class") or name in _NOT_LABELS:
            continue
        if name in _MEAN_OF:
            source = LABEL_SOURCES.get(_MEAN_OF[name], name)
            means[source] = _column_as_float(path, table, name)
            continue
        try:
            values = np.asarray(table[name], dtype=np.float64)
        except (TypeError, ValueError):
            # A text column such as "class_name" is description, not numeric labels.
            continue
        labels[LABEL_SOURCES.get(name, name)] = _as_classes(values)
    if label_column is not None:
        if label_source is not None:
            # The column is kept once, under the name the user gave it.
            labels.pop(LABEL_SOURCES.get(label_column, label_column), None)
        # A column whose meaning the reader could not tell is named by its number.
        number = re.fullmatch(r"col_(\d+)", label_column)
        default = (
            f"catalog column {number.group(1)}" if number else LABEL_SOURCES.get(label_column, label_column)
        )
        source = label_source or default
        labels[source] = _as_classes(_column_as_float(path, table, label_column))
        return labels, means, source
    return labels, means, None


def _resolve_column(path: Path, table: Table, label_column: str) -> str:
    """A column name from a name, a case-insensitive name, or a 1-based column number."""
    if label_column in table.colnames:
        return label_column
    lower = {n.lower(): n for n in table.colnames}
    if label_column.lower() in lower:
        return lower[label_column.lower()]
    number = re.fullmatch(r"(?:col(?:umn)?_?)?(\d+)", label_column.strip(), re.IGNORECASE)
    if number and 1 <= int(number.group(1)) <= len(table.colnames):
        return table.colnames[int(number.group(1)) - 1]
    raise UserInputError(f"{path}: no label column {label_column!r} (columns: {', '.join(table.colnames)})")


def _as_classes(values: np.ndarray) -> np.ndarray:
    """Classes 1-4 as ints; anything else (0, 5 = not inspected, NaN) becomes 0."""
    rounded = np.where(np.isfinite(values), np.round(values), 0).astype(np.int64)
    return np.where((rounded >= 1) & (rounded <= 4), rounded, 0)
