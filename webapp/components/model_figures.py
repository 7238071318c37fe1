"""Plotly figures of retraining and model versions: curves, confusion, and the science diff.

Plain functions from the dicts the services return to figures, so the
Retrain and Models pages stay thin and the figures are testable without a page.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from starcnet_core.io.bands import CLASS_NAMES
from webapp.components.candidate_figures import CLASS_COLOURS
from webapp.services.held_out import interval_text

__all__ = [
    "training_curves_figure",
    "held_out_figure",
    "confusion_figure",
    "reliability_figure",
    "class_fractions_figure",
    "colour_colour_figure",
    "changed_positions_figure",
]

_CLASS_LABELS = [f"{k}: {v}" for k, v in CLASS_NAMES.items()]


def training_curves_figure(history: list[dict[str, Any]]) -> go.Figure:
    """Training and validation loss, and validation accuracy, per epoch."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "validation accuracy"))
    epochs = [h["epoch"] for h in history]
    figure.add_trace(go.Scatter(x=epochs, y=[h.get("train_loss") for h in history], name="train loss"), 1, 1)
    figure.add_trace(
        go.Scatter(x=epochs, y=[h.get("val_loss") for h in history], name="validation loss"), 1, 1
    )
    figure.add_trace(
        go.Scatter(x=epochs, y=[h.get("val_accuracy") for h in history], name="validation accuracy"), 1, 2
    )
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="cross-entropy", col=1)
    # a fixed 0-100% axis: a tiny validation set gives one repeated value, which plotly would pad to -100%..400%
    figure.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], col=2)
    figure.update_layout(height=320, margin={"t": 40, "b": 40})
    return figure


def held_out_figure(new: dict[str, Any], old: dict[str, Any], new_name: str, old_name: str) -> go.Figure:
    """4-class and binary held-out accuracy of two versions, with their bootstrap 95% intervals."""
    figure = go.Figure()
    keys = ("accuracy", "binary_accuracy")
    names = ["4 classes", "clusters (1+2) vs not (3+4)"]
    for metrics, name, colour in ((new, new_name, "#d62728"), (old, old_name, "#1f77b4")):
        values = [metrics.get(key) for key in keys]
        low = [metrics.get(f"{key}_ci95", (None, None))[0] for key in keys]
        high = [metrics.get(f"{key}_ci95", (None, None))[1] for key in keys]
        figure.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=f"{name} (n={metrics.get('n', 0)})",
                marker_color=colour,
                text=[interval_text(metrics, key) for key in keys],
                textposition="outside",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        None if h is None or v is None else h - v for v, h in zip(values, high, strict=True)
                    ],
                    "arrayminus": [
                        None if lo is None or v is None else v - lo for v, lo in zip(values, low, strict=True)
                    ],
                },
            )
        )
    figure.update_layout(
        title="Held-out accuracy with bootstrap 95% intervals",
        barmode="group",
        yaxis_range=[0, 1.15],
        yaxis_tickformat=".0%",
        height=340,
    )
    return figure


def confusion_figure(metrics: dict[str, Any], title: str) -> go.Figure:
    """The held-out confusion matrix (rows: expert class, columns: predicted), titled with n and accuracy [95%]."""
    title = f"{title}: n={metrics.get('n', 0)}, accuracy {interval_text(metrics, 'accuracy')}"
    figure = go.Figure(
        go.Heatmap(
            z=metrics.get("confusion", [[0] * 4] * 4),
            x=_CLASS_LABELS,
            y=_CLASS_LABELS,
            text=metrics.get("confusion"),
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    figure.update_layout(
        title=title, height=320, xaxis_title="predicted", yaxis_title="experts", yaxis_autorange="reversed"
    )
    return figure


def reliability_figure(versions: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    """Reliability diagram of held-out metrics: fraction correct against the mean top score per bin.

    One line per ``(name, metrics)`` with a ``reliability`` curve; the legend gives each version's ECE.
    """
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"dash": "dot", "color": "grey"},
        )
    )
    for (name, metrics), colour in zip(versions, ("#d62728", "#1f77b4"), strict=False):
        curve = metrics.get("reliability")
        if not curve:
            continue
        filled = [i for i, n in enumerate(curve["count"]) if n]
        figure.add_trace(
            go.Scatter(
                x=[curve["confidence"][i] for i in filled],
                y=[curve["accuracy"][i] for i in filled],
                mode="lines+markers",
                marker={"size": [6 + 14 * (curve["count"][i] / max(curve["count"])) ** 0.5 for i in filled]},
                line={"color": colour},
                name=f"{name}: ECE {metrics['ece']:.1%}",
                customdata=[curve["count"][i] for i in filled],
                hovertemplate="mean top score %{x:.0%}<br>correct %{y:.0%}<br>%{customdata} candidates",
            )
        )
    figure.update_layout(
        title="Calibration on the held-out set (marker size: candidates per bin)",
        xaxis={"title": "mean top-class score in bin", "range": [0, 1], "tickformat": ".0%"},
        yaxis={"title": "fraction correct", "range": [0, 1.02], "tickformat": ".0%", "scaleanchor": "x"},
        height=360,
    )
    return figure


def class_fractions_figure(diff: dict[str, Any]) -> go.Figure:
    """Per galaxy, the fraction of candidates in each class under the old and the new model."""
    figure = go.Figure()
    for entry in diff["class_fractions"]:
        for key in ("old", "new"):
            figure.add_trace(
                go.Bar(x=_CLASS_LABELS, y=entry[key], name=f"{entry['galaxy']} {key} (n={entry['n']})")
            )
    figure.update_layout(
        title="Predicted class fractions, active (old) and new model",
        barmode="group",
        yaxis_title="fraction of candidates",
        yaxis_tickformat=".0%",
        height=340,
    )
    return figure


def colour_colour_figure(diff: dict[str, Any]) -> go.Figure:
    """U-B against V-I (Vega mag) of the candidates each model calls clusters (class 1 or 2)."""
    figure = go.Figure()
    # fixed, distinct colours for old and new, whatever theme draws the chart
    for key, symbol, colour in (("old", "circle-open", "#1f77b4"), ("new", "x", "#d62728")):
        colours = diff["colour_colour"][key]
        figure.add_trace(
            go.Scatter(
                x=colours["v_i"],
                y=colours["u_b"],
                mode="markers",
                name=f"{key} model ({len(colours['v_i'])})",
                marker={"symbol": symbol, "color": colour},
            )
        )
    figure.update_layout(
        title="Colour-colour of the predicted clusters (classes 1 and 2)",
        xaxis_title="V - I (mag)",
        yaxis_title="U - B (mag)",
        yaxis_autorange="reversed",
        height=420,
    )
    return figure


def changed_positions_figure(diff: dict[str, Any]) -> go.Figure:
    """Where in the field the predicted class changed (1-based mosaic pixels), one colour per new class."""
    figure = go.Figure()
    for k, name in CLASS_NAMES.items():
        changed = [c for c in diff["changed"] if c["new_class"] == k]
        if not changed:
            continue
        figure.add_trace(
            go.Scatter(
                x=[c["x"] for c in changed],
                y=[c["y"] for c in changed],
                mode="markers",
                name=f"now {k}: {name}",
                marker={"color": CLASS_COLOURS[k], "size": 7},
                text=[f"{c['galaxy']} #{c['candidate_id']}: class {c['old_class']} -> {k}" for c in changed],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        title=f"Where the class changes ({len(diff['changed'])} candidates)",
        xaxis_title="x (pixels)",
        yaxis_title="y (pixels)",
        yaxis_scaleanchor="x",
        height=420,
    )
    return figure
