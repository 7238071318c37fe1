"""Figures of one candidate for the review page: V-band contours, 3D light surface, class scores.

Plain functions of arrays returning plotly figures, so that they are tested
and timed without a browser. Sizes suit a 1440x900 laptop screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from astropy.stats import sigma_clipped_stats

from starcnet_core.io.bands import CLASS_NAMES

__all__ = ["CLASS_COLOURS", "enlarge", "contour_figure", "surface_figure", "scores_figure"]

#: One colour per class 1-4, shared by every page (colour-blind safe, Okabe-Ito).
CLASS_COLOURS: dict[int, str] = {1: "#0072B2", 2: "#009E73", 3: "#E69F00", 4: "#CC79A7"}

_COMPACT = {"margin": {"l": 4, "r": 4, "t": 26, "b": 4}, "height": 230}


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (each pixel a ``factor`` x ``factor`` block), so that browsers do not blur stamps."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def contour_figure(v_band: np.ndarray, *, levels: int = 8) -> go.Figure:
    """Contours of the V band (e-/s above the local sky), log-spaced from 2 sigma of the sky to the peak.

    The sky and its noise come from sigma-clipped statistics of the stamp,
    so that contours trace the source rather than the noise.
    """
    sky, _, noise = sigma_clipped_stats(v_band, sigma=3.0)
    noise = float(noise) if np.isfinite(noise) and noise > 0 else 1e-6
    above = np.nan_to_num(v_band - sky, nan=0.0)
    floor = 2.0 * noise
    peak = max(float(above.max()), 2.0 * floor)
    start, end = np.log10(floor), np.log10(peak)
    figure = go.Figure(
        go.Contour(
            z=np.log10(np.clip(above, floor / 2.0, None)),
            contours={"coloring": "lines", "start": start, "end": end, "size": (end - start) / levels},
            colorscale="Viridis",
            showscale=False,
            line={"width": 1.5},
            hovertemplate="x %{x}, y %{y}<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "V contours (2 sigma to peak, log)", "font": {"size": 12}}, **_COMPACT
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, scaleanchor="x")
    return figure


def surface_figure(v_band: np.ndarray) -> go.Figure:
    """Interactive 3D surface of the V band (e-/s), as LEGUS classifiers used to judge peaks."""
    figure = go.Figure(
        go.Surface(
            z=np.nan_to_num(v_band),
            colorscale="Viridis",
            showscale=False,
            hovertemplate="%{z:.2f} e-/s<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "V band in 3D (drag to turn)", "font": {"size": 12}},
        scene={
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "zaxis": {"title": {"text": "e-/s"}},
            "camera": {"eye": {"x": 1.4, "y": -1.4, "z": 0.9}},
        },
        **_COMPACT,
    )
    return figure


def scores_figure(scores: Sequence[float]) -> go.Figure:
    """StarcNet's four class probabilities as horizontal bars (class 1 on top)."""
    classes = list(range(1, 5))
    figure = go.Figure(
        go.Bar(
            x=list(scores),
            y=[f"{k} {CLASS_NAMES[k]}" for k in classes],
            orientation="h",
            marker_color=[CLASS_COLOURS[k] for k in classes],
            text=[f"{s:.2f}" for s in scores],
            textposition="auto",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "StarcNet scores", "font": {"size": 12}},
        xaxis={"range": [0, 1], "title": {"text": "probability"}},
        yaxis={"autorange": "reversed"},
        **{**_COMPACT, "height": 200, "margin": {"l": 4, "r": 4, "t": 26, "b": 30}},
    )
    return figure
