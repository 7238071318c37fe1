"""Column layouts of LEGUS cluster catalogs (``.tab`` files) and their names here.

LEGUS ``.tab`` catalogs are whitespace-separated tables without a header; the
``.readme`` beside each lists the columns as ``"N. description"`` lines. This
module holds the two layouts met without a readme — the classic 35-column one
(class mode and mean in 34, 35) and the 39-column NGC 1566 one (hybrid class in
34) — as ``(standard name, readme description)`` pairs, and the standard
column names every reader in this package returns.

Standard names: ``id``, ``x``, ``y`` (1-based pixels, as LEGUS), ``ra``,
``dec`` (deg), ``mag_<BAND>`` / ``magerr_<BAND>`` (Vega mag, NaN when LEGUS
writes 99.999 "not detected" or 66.666 "outside the field"), ``ci`` (mag),
``age``/``age_max``/``age_min`` (yr), ``mass``/``mass_max``/``mass_min``
(Msun), ``ebv``/``ebv_max``/``ebv_min`` (mag), ``chi2_<BAND>``, ``chi2_red``,
``q_prob``, ``nflt``. Class columns are kept by source name, see
:data:`CLASS_COLUMNS_35` and :data:`CLASS_COLUMNS_NGC1566`.
"""

from __future__ import annotations

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
