"""The five LEGUS bands: order, filters, instruments, zeropoints, display mix.

This is the one place that knows the StarcNet band order (NUV, U, B, V, I),
which HST filters fill each band, the Vega zeropoints of the LEGUS release
and the paper's RGB mix (Pérez et al. 2021, Fig. 2). Everything else asks
this module.
"""

from __future__ import annotations

import re

__all__ = [
    "BANDS",
    "BAND_FILTERS",
    "VEGA_ZEROPOINTS",
    "ACS_DISPLAY_SCALE",
    "RGB_WEIGHTS",
    "CLASS_NAMES",
    "CLASS_DESCRIPTIONS",
    "PIXEL_SCALE_ARCSEC",
    "band_for_filter",
    "filter_number",
    "normalise_instrument",
]

#: StarcNet's band order: index i of a stamp's first axis is BANDS[i].
BANDS: tuple[str, ...] = ("NUV", "U", "B", "V", "I")

#: Filters that may fill each band (LEGUS: WFC3/UVIS or archival ACS/WFC).
BAND_FILTERS: dict[str, tuple[str, ...]] = {
    "NUV": ("F275W",),
    "U": ("F336W",),
    "B": ("F435W", "F438W"),
    "V": ("F555W", "F606W"),
    "I": ("F814W",),
}

#: Vega zeropoints (mag for 1 e-/s) of the LEGUS release, by (instrument, filter).
VEGA_ZEROPOINTS: dict[tuple[str, str], float] = {
    ("WFC3", "F275W"): 22.632,
    ("WFC3", "F336W"): 23.484,
    ("WFC3", "F438W"): 24.974,
    ("WFC3", "F555W"): 25.816,
    ("WFC3", "F814W"): 24.680,
    ("ACS", "F435W"): 25.784,
    ("ACS", "F555W"): 25.731,
    ("ACS", "F606W"): 26.407,
    ("ACS", "F814W"): 25.530,
}

#: Factors applied to ACS bands before the RGB mix, so that they match WFC3.
ACS_DISPLAY_SCALE: dict[str, float] = {
    "F435W": 0.474,
    "F555W": 1.083,
    "F606W": 0.689,
    "F814W": 0.471,
}

#: The paper's RGB mix: channel -> {band: weight}; the result is clipped to [0, 1].
#: blue = (21.63 NUV + 8.63 U) / 2, green = 4.52 B, red = (1.23 V + I) / 2.
RGB_WEIGHTS: dict[str, dict[str, float]] = {
    "red": {"V": 1.23 / 2, "I": 1.0 / 2},
    "green": {"B": 4.52},
    "blue": {"NUV": 21.63 / 2, "U": 8.63 / 2},
}

#: LEGUS morphological classes (Adamo et al. 2017; the paper's section 2).
CLASS_NAMES: dict[int, str] = {
    1: "symmetric cluster",
    2: "asymmetric cluster",
    3: "compact association",
    4: "non-cluster",
}

CLASS_DESCRIPTIONS: dict[int, str] = {
    1: "Symmetric, compact object with a light distribution more extended than a star's.",
    2: "Compact object with a slightly elongated or asymmetric density profile.",
    3: "Multiple-peak system on top of diffuse underlying emission (compact association).",
    4: "Spurious: single star, asterism, background galaxy, artifact — anything not a cluster.",
}

#: The common LEGUS drizzle grid, arcsec per pixel (0.0396, rounded in the paper).
PIXEL_SCALE_ARCSEC = 0.0396

_FILTER_RE = re.compile(r"F(\d{3})([WMNLP])", re.IGNORECASE)


def filter_number(text: str) -> str | None:
    """Return the HST filter name found in ``text`` (e.g. ``"F336W"``), or None."""
    match = _FILTER_RE.search(text)
    if match is None:
        return None
    return f"F{match.group(1)}{match.group(2).upper()}"


def band_for_filter(filter_name: str) -> str | None:
    """Return the StarcNet band (``"NUV"``..``"I"``) an HST filter fills, or None."""
    name = filter_number(filter_name)
    for band, filters in BAND_FILTERS.items():
        if name in filters:
            return band
    return None


def normalise_instrument(text: str) -> str | None:
    """Map ``"WFC3/UVIS"``, ``"uvis"``, ``"wfc3"``, ``"ACS/WFC"``, ``"acs"`` to WFC3 or ACS."""
    upper = text.upper()
    if "ACS" in upper:
        return "ACS"
    if "WFC3" in upper or "UVIS" in upper:
        return "WFC3"
    return None
