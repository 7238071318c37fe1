"""The whole field of a galaxy with its candidates marked by predicted class and confidence.

:func:`field_figure` draws it; each marker carries its catalog id, which
:func:`selected_source_id` reads back from the selection event of
``st.plotly_chart(..., on_select="rerun")`` when an expert clicks a marker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from starcnet_core.io.bands import CLASS_NAMES
from webapp.components.candidate_figures import CLASS_COLOURS

__all__ = ["field_figure", "selected_source_id"]


def field_figure(
    image: np.ndarray,
    factor: int,
    x: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
    confidence: np.ndarray,
    source_ids: np.ndarray,
) -> go.Figure:
    """The field's RGB image (block-averaged by ``factor``) with candidates on top.

    Parameters
    ----------
    image : ndarray
        ``(h, w, 3)`` uint8 from :func:`starcnet_core.display.field_image`.
    factor : int
        Mosaic pixels per displayed pixel.
    x, y : ndarray
        Candidate positions, 1-based mosaic pixels.
    classes : ndarray
        Predicted class 1-4 (0: not scored).
    confidence : ndarray
        Top score (0-1); sets the marker opacity.
    source_ids : ndarray
        Catalog ids, returned when a marker is clicked (``customdata``).
    """
    figure = px.imshow(image, origin="lower")
    figure.update_traces(hoverinfo="skip", hovertemplate=None)
    for k in range(0, 5):
        here = classes == k
        if not here.any():
            continue
        figure.add_trace(
            go.Scattergl(
                x=(x[here] - 0.5) / factor,
                y=(y[here] - 0.5) / factor,
                mode="markers",
                name=f"{k} {CLASS_NAMES[k]}" if k else "not scored",
                customdata=source_ids[here],
                marker={
                    "size": 7,
                    "color": CLASS_COLOURS.get(k, "#999999"),
                    "opacity": 0.35 + 0.65 * np.nan_to_num(confidence[here]),
                    "line": {"width": 1, "color": "white"},
                },
                hovertemplate="id %{customdata}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        height=620,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"orientation": "h", "y": 1.02, "x": 0},
        dragmode="pan",
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def selected_source_id(event: Any) -> int | None:
    """The catalog id of the first candidate marker in a plotly selection event, or None.

    Parameters
    ----------
    event : dict-like or None
        What ``st.plotly_chart(figure, on_select="rerun")`` returns for a
        :func:`field_figure`: ``{"selection": {"points": [...]}}``, each point
        with the ``customdata`` of its trace (the catalog id; the field image
        itself has none).

    Returns
    -------
    int or None
        None when nothing, or nothing but the image, is selected.
    """
    selection = (event or {}).get("selection") or {}
    for point in selection.get("points") or []:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if data is not None:
            return int(data)
    return None
