"""Images of one candidate for the review page, drawn the astronomer's way up (y grows upwards).

Plain functions of arrays returning what the browser shows (PNG data
addresses, SVG text, a plotly figure), so that they are tested and timed
without a browser. Every stamp goes through :func:`png_data_uri`, which turns
it with :func:`starcnet_core.display.sky_up`; the contours and the 3D surface
use the same axes (x to the right, y up), so that a source up and to the
right of the candidate is up and to the right in every panel, as in DS9 and
on the field map.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import contourpy
import matplotlib
import numpy as np
import plotly.graph_objects as go
from astropy.stats import sigma_clipped_stats

# The object-oriented Figure API renders with Agg and never touches pyplot's global state.
from matplotlib.figure import Figure
from PIL import Image

from starcnet_core.display import sky_up

__all__ = [
    "CLASS_COLOURS",
    "enlarge",
    "png_data_uri",
    "contour_levels",
    "contour_svg",
    "surface_png",
    "surface_figure",
    "scale_bar_arcsec",
]

#: One colour per class 1-4, shared by every page (colour-blind safe, Okabe-Ito).
CLASS_COLOURS: dict[int, str] = {1: "#0072B2", 2: "#009E73", 3: "#E69F00", 4: "#CC79A7"}

#: The 3D views look from below the stamp (south when north is up), so x runs left to right in them too.
_SURFACE_CAMERA = {"elev": 32.0, "azim": -90.0}


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (each pixel a ``factor`` x ``factor`` block), so that browsers do not blur stamps."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def png_data_uri(image: np.ndarray) -> str:
    """A uint8 image (``(H, W)`` or ``(H, W, 3)``, row 0 = y 1) as a PNG ``data:`` address, y up.

    The browser scales it with ``image-rendering: pixelated``, so the small
    original travels and pixels stay sharp at any size.
    """
    buffer = io.BytesIO()
    Image.fromarray(sky_up(image)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def contour_levels(v_band: np.ndarray, levels: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The V band above the local sky, log10, and contour levels from 2 sigma of the sky to the peak.

    The sky and its noise come from sigma-clipped statistics of the stamp,
    so that contours trace the source rather than the noise.

    Returns
    -------
    log_image : ndarray
        ``log10`` of the sky-subtracted stamp, floored at 1 sigma.
    levels : ndarray
        ``levels`` log10 values, evenly spaced.
    """
    sky, _, noise = sigma_clipped_stats(v_band, sigma=3.0)
    noise = float(noise) if np.isfinite(noise) and noise > 0 else 1e-6
    above = np.nan_to_num(v_band - sky, nan=0.0)
    floor = 2.0 * noise
    peak = max(float(above.max()), 2.0 * floor)
    start, end = np.log10(floor), np.log10(peak)
    return np.log10(np.clip(above, floor / 2.0, None)), np.linspace(start, end, levels, endpoint=False)


def contour_svg(v_band: np.ndarray, *, levels: int = 8) -> str:
    """V-band contours (:func:`contour_levels`) as SVG on the stamp's pixel grid, y up.

    The view box is the stamp itself (``0 0 W H``, one unit per pixel), so the
    figure has the stamp's aspect and nothing is clipped; pixel centres are at
    half-integers, as in the PNG stamps.
    """
    log_image, values = contour_levels(v_band, levels)
    height, width = log_image.shape
    generator = contourpy.contour_generator(z=log_image, line_type="Separate")
    colormap = matplotlib.colormaps["viridis"]
    paths = []
    for i, level in enumerate(values):
        colour = matplotlib.colors.to_hex(colormap(i / max(1, len(values) - 1)))
        for line in generator.lines(float(level)):
            points = " ".join(f"{x + 0.5:.2f},{height - (y + 0.5):.2f}" for x, y in line)
            paths.append(f'<polyline points="{points}" stroke="{colour}" data-level="{i}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" fill="none" stroke-width="0.35" '
        f'stroke-linejoin="round">'
        f'<rect width="{width}" height="{height}" fill="#0e1117"/>' + "".join(paths) + "</svg>"
    )


def surface_png(v_band: np.ndarray, *, side_px: int = 300) -> str:
    """A shaded 3D surface of the V band (e-/s), seen from below the stamp, as a PNG ``data:`` address.

    x runs left to right and y away from the viewer, as in the stamps; the
    box has equal x and y sides.
    """
    z = np.nan_to_num(np.asarray(v_band, dtype=float))
    yy, xx = np.mgrid[: z.shape[0], : z.shape[1]]
    dpi = 100
    figure = Figure(figsize=(side_px / dpi, side_px / dpi), dpi=dpi, facecolor="#0e1117")
    axes = figure.add_axes((0, 0, 1, 1), projection="3d", facecolor="#0e1117")
    axes.plot_surface(xx, yy, z, cmap="viridis", rstride=1, cstride=1, linewidth=0, antialiased=False)
    axes.view_init(**_SURFACE_CAMERA)
    axes.set_box_aspect((1.0, 1.0, 0.75))
    axes.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=figure.get_facecolor())
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def surface_figure(v_band: np.ndarray) -> go.Figure:
    """Interactive 3D surface of the V band (e-/s), as LEGUS classifiers used to judge peaks.

    The camera starts where :func:`surface_png` looks from (below the stamp,
    x to the right), and the x and y sides are equal.
    """
    figure = go.Figure(
        go.Surface(
            z=np.nan_to_num(v_band),
            colorscale="Viridis",
            showscale=False,
            hovertemplate="x %{x}, y %{y}: %{z:.2f} e-/s<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "V band in 3D (drag to turn)", "font": {"size": 12}},
        scene={
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "zaxis": {"title": {"text": "e-/s"}},
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": 1, "z": 0.75},
            "camera": {"eye": {"x": 0.0, "y": -1.9, "z": 1.2}},
        },
        margin={"l": 4, "r": 4, "t": 26, "b": 4},
        height=420,
    )
    return figure


def scale_bar_arcsec(side_px: int, arcsec_per_px: float, *, fraction: float = 0.3) -> float:
    """A round length (arcsec) for a scale bar at most ``fraction`` of a stamp's side.

    Parameters
    ----------
    side_px : int
        Stamp side in pixels.
    arcsec_per_px : float
        Pixel scale.
    fraction : float
        Longest bar as a share of the side.
    """
    longest = fraction * side_px * arcsec_per_px
    steps: Sequence[float] = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
    fitting = [s for s in steps if s <= longest]
    return fitting[-1] if fitting else steps[0]
