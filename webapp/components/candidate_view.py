"""The review page's candidate panel: one browser component that draws a whole candidate at once.

:func:`candidate_payload` turns a :class:`webapp.services.review.CandidateView`
into what the browser draws (PNG data addresses turned y up, contour SVG,
3D surface, context cut-out with its neighbours, position on the field map,
scores, photometry); :func:`show_candidate` mounts the component with the
current candidate's payload and those of the candidates a key may bring next,
so that the next one appears without waiting for the server. The component
reads the keyboard at the document level (``candidate_view.js``): whatever
widget had focus, a shortcut is taken, and one that cannot be taken says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from starcnet_core.io.bands import BANDS, CLASS_NAMES
from starcnet_core.scores import scored_with
from webapp.components.candidate_figures import (
    CLASS_COLOURS,
    contour_svg,
    png_data_uri,
    scale_bar_arcsec,
    surface_png,
)
from webapp.services.review import CONTEXT_SIZE, NETWORK_VIEWS, CandidateView

__all__ = ["APERTURE_PX", "candidate_payload", "field_map_payload", "show_candidate"]

#: Radius (pixels) of the LEGUS photometric aperture drawn as the "aperture" marker.
APERTURE_PX = 4.0
_HERE = Path(__file__).parent
_COMPONENT = st.components.v2.component(
    "starcnet_candidate_view",
    js=(_HERE / "candidate_view.js").read_text(),
    css=(_HERE / "candidate_view.css").read_text(),
)
_UNSCORED = "#bbbbbb"


@st.cache_data(max_entries=512, show_spinner=False)
def _v_band_figures(v_band: np.ndarray) -> tuple[str, str]:
    """Contours and 3D surface of a V stamp (the slow part of a payload: cached per stamp)."""
    return contour_svg(v_band), surface_png(v_band)


def field_map_payload(image: np.ndarray, factor: int, x: float, y: float, side: int) -> dict[str, Any]:
    """The small field map with a box where the candidate's context cut-out lies.

    Parameters
    ----------
    image : ndarray
        ``(h, w, 3)`` uint8 field image (:func:`starcnet_core.display.field_image`), row 0 at the bottom.
    factor : int
        Mosaic pixels per field-image pixel.
    x, y : float
        The candidate, 1-based mosaic pixels.
    side : int
        Side of the box, mosaic pixels.
    """
    height, width = image.shape[:2]
    half = side / factor / 2
    # SVG y grows downwards, the field image is drawn y up; the box stops at the field's edges
    cx, cy = (x - 0.5) / factor, height - (y - 0.5) / factor
    left, right = max(0.0, cx - half), min(float(width), cx + half)
    top, bottom = max(0.0, cy - half), min(float(height), cy + half)
    return {
        "src": png_data_uri(image),
        "width": width,
        "height": height,
        "box": {"x": left, "y": top, "w": right - left, "h": bottom - top},
    }


def _scores_title(view: CandidateView) -> str:
    """The scores panel title, with the precision and engine that computed them where recorded."""
    if view.scored_with is None:
        return "StarcNet scores"
    return "StarcNet scores · " + scored_with(*view.scored_with)


def candidate_payload(
    view: CandidateView,
    *,
    progress: str = "",
    note: str = "",
    scores_note: str = "",
    field_map: dict[str, Any] | None = None,
    previous_id: int | None = None,
    following_id: int | None = None,
    next_id: int | None = None,
) -> dict[str, Any]:
    """What the browser draws for one candidate (JSON-serialisable; every text is shown as plain text).

    Parameters
    ----------
    view : CandidateView
    progress : str
        The expert's counts for the header.
    note : str
        A line above the panels (e.g. why the queue order changed).
    scores_note : str
        Shown instead of the scores when there are none (blind mode, not scored).
    field_map : dict, optional
        :func:`field_map_payload`.
    previous_id, following_id, next_id : int, optional
        The candidates ``←``, ``→`` and a label bring, for the browser's cache.
    """
    side = int(view.rgb.shape[0])
    range_text = "" if view.stretch == "zscale" else f", {view.percentiles[0]:g}-{view.percentiles[1]:g}%"
    frames = [
        {"name": f"RGB ({view.stretch}{range_text}), {view.context_size} px", "src": png_data_uri(view.rgb)}
    ]
    frames += [
        {"name": band, "src": png_data_uri(image)} for band, image in zip(BANDS, view.bands, strict=True)
    ]
    network = [
        {"name": f"network {name}", "src": png_data_uri(image)}
        for name, image in zip(NETWORK_VIEWS, view.network_rgb, strict=True)
    ]
    contours, surface = _v_band_figures(view.v_band)
    scale_bar = None
    if view.arcsec_per_px:
        arcsec = scale_bar_arcsec(side, view.arcsec_per_px)
        scale_bar = {"px": arcsec / view.arcsec_per_px, "label": f'{arcsec:g}"'}
    photometry = [f"{k} {v:.2f}" for k, v in view.photometry.items() if v is not None]
    lines = ["Photometry (Vega mag): " + (" · ".join(photometry) or "none")]
    units = {"age": "yr", "mass": "Msun", "ebv": "mag E(B-V)"}
    extra = [
        f"{key} {view.properties[key]:.3g} {unit}" for key, unit in units.items() if view.properties.get(key)
    ]
    if extra:
        lines.append(" · ".join(extra))
    if view.labels is not None:
        votes = ", ".join(f"{name}: {c}" for name, c in sorted(view.labels.items())) or "no other labels"
        lines.append(f"Others: {votes} · consensus {(view.consensus or {}).get('consensus') or '—'}")
    else:
        lines.append("Others' labels hidden until you label (blind mode).")
    context = None
    if view.context_rgb is not None:
        context = {
            "src": png_data_uri(view.context_rgb),
            "side": CONTEXT_SIZE,
            "stamp_side": view.context_size,
            "caption": f"{CONTEXT_SIZE} px around it; others circled by class",
            "neighbours": [
                {"dx": n.dx, "dy": n.dy, "colour": CLASS_COLOURS.get(n.predicted_class, _UNSCORED)}
                for n in view.neighbours
            ],
        }
    return {
        "candidate_id": view.candidate_id,
        "source_id": view.source_id,
        "title": f"{view.galaxy} #{view.source_id}",
        "subtitle": f"x {view.x:.1f}, y {view.y:.1f}"
        + (f" · your label: {view.my_label}" if view.my_label else ""),
        "progress": progress,
        "note": note,
        "flagged": view.flagged,
        "side": side,
        "v_side": int(view.v_band.shape[0]),
        "aperture_px": APERTURE_PX,
        "frames": frames,
        "strip": frames[1:] + network,
        "contour_svg": contours,
        "surface": surface,
        "context": context,
        "field_map": field_map,
        "compass": None
        if view.north_east is None
        else {"north": view.north_east[0], "east": view.north_east[1]},
        "scale_bar": scale_bar,
        "scores": None
        if view.scores is None
        else [
            {"name": f"{k} {CLASS_NAMES[k]}", "p": float(p), "colour": CLASS_COLOURS[k]}
            for k, p in zip(range(1, 5), view.scores, strict=True)
        ],
        "scores_title": _scores_title(view),
        "scores_note": scores_note,
        "lines": lines,
        "previous_id": previous_id,
        "following_id": following_id,
        "next_id": next_id,
    }


def show_candidate(
    current: dict[str, Any] | None,
    extra: list[dict[str, Any]],
    *,
    marker: str,
    render_seq: int,
    message: str = "",
    on_key: Callable[[], None],
    on_marker: Callable[[], None],
    key: str = "candidate_view",
) -> Any:
    """Mount the candidate component.

    Parameters
    ----------
    current : dict or None
        :func:`candidate_payload` of the candidate on screen.
    extra : list of dict
        Payloads a key may show next (the next queue entry), drawn at once on that key.
    marker : str
        One of :data:`webapp.services.preferences.MARKERS`.
    render_seq : int
        Grows with every server answer: the browser takes keys again once it sees a new one.
    message : str
        A toast (e.g. why a key was not taken).
    on_key, on_marker : callable
        Called before the next run when a key action arrives (``st.session_state[key]["key"]``:
        ``{"action", "candidate_id", "seq"}``) or the marker changes (``...["marker"]``).
    """
    return _COMPONENT(
        key=key,
        data={
            "current": current,
            "extra": extra,
            "marker": marker,
            "render_seq": render_seq,
            "message": message,
        },
        default={"marker": marker},
        on_key_change=on_key,
        on_marker_change=on_marker,
    )
