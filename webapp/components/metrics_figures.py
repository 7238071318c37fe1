"""Figures of the Metrics page: the paper's Figs. 3, 5, 6, 9 and 10 for the data in the database.

Plain functions of arrays and agreement dicts returning plotly figures.
Classes are coloured as everywhere in the app (:data:`CLASS_COLOURS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sklearn.metrics import precision_recall_curve

from starcnet_core.groupings import BINARY, GROUPING_TITLES, group_labels
from starcnet_core.io.bands import CLASS_NAMES
from webapp.components.candidate_figures import CLASS_COLOURS

__all__ = [
    "MIN_SHARED",
    "confusion_heatmap",
    "expert_agreement_figure",
    "precision_recall_figure",
    "score_distribution_figure",
    "accuracy_distance_figure",
    "colour_colour_figure",
    "class_distribution_figure",
    "expert_accuracy_rows",
]

_CLASSES = [1, 2, 3, 4]


def confusion_heatmap(confusion: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> go.Figure:
    """Row-normalised confusion matrix (consensus in rows, model in columns), counts in each cell."""
    counts = np.asarray(confusion, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True))
    text = [
        [f"{f:.0%}<br>({int(n)})" for f, n in zip(fr, cr, strict=True)]
        for fr, cr in zip(fraction, counts, strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=fraction,
            x=list(labels),
            y=list(labels),
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "row fraction"}},
        )
    )
    figure.update_layout(
        title=title,
        height=360,
        xaxis_title="model",
        yaxis_title="consensus",
        yaxis_autorange="reversed",
        margin={"t": 40, "b": 40},
    )
    return figure


#: Pairs of experts with fewer shared candidates than this are not coloured: their agreement says little.
MIN_SHARED = 5


def expert_agreement_figure(report: dict) -> go.Figure:
    """Pairwise agreement between experts (4-class, %), as the paper's Fig. 3, with the count in each cell.

    A cell says how many candidates both experts classified; pairs with fewer
    than :data:`MIN_SHARED` are left uncoloured, so one shared candidate never
    shows as a 100% cell. The diagonal (an expert with themself) is left empty.
    """
    names = sorted(report.get("experts", {}).values())
    index = {name: i for i, name in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    text = np.full((len(names), len(names)), "", dtype=object)
    for pair in report.get("pairwise", []):
        i, j = index[pair["expert_a"]], index[pair["expert_b"]]
        n = int(pair.get("n", 0))
        if pair.get("agreement") is None or n == 0:
            continue
        shown = f"{pair['agreement']:.0%}<br>n={n}"
        if n >= MIN_SHARED:
            matrix[i, j] = matrix[j, i] = pair["agreement"]
        else:
            shown = f"n={n}<br>(too few)"
        text[i, j] = text[j, i] = shown
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            text=text.tolist(),
            texttemplate="%{text}",
            hovertemplate="%{y} / %{x}: %{text}<extra></extra>",
            colorbar={"title": {"text": "agreement"}},
        )
    )
    figure.update_layout(
        title=f"Agreement between experts (4 classes; uncoloured: fewer than {MIN_SHARED} shared candidates)",
        height=360,
        yaxis_autorange="reversed",
    )
    return figure


def precision_recall_figure(consensus: np.ndarray, scores: np.ndarray) -> go.Figure:
    """Per-class precision-recall curves of the model's scores against the consensus (one-vs-rest)."""
    figure = go.Figure()
    for k in _CLASSES:
        truth = consensus == k
        if truth.any() and (~truth).any():
            precision, recall, _ = precision_recall_curve(truth, scores[:, k - 1])
            figure.add_trace(
                go.Scatter(
                    x=recall, y=precision, name=f"{k} {CLASS_NAMES[k]}", line={"color": CLASS_COLOURS[k]}
                )
            )
    figure.update_layout(
        title="Precision-recall per class",
        xaxis_title="recall",
        yaxis_title="precision",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        height=360,
    )
    return figure


def score_distribution_figure(consensus: np.ndarray, scores: np.ndarray) -> go.Figure:
    """Score of the consensus class, per class (the paper's Fig. 5): high is confident and right."""
    figure = go.Figure()
    for k in _CLASSES:
        here = consensus == k
        figure.add_trace(
            go.Histogram(
                x=scores[here, k - 1],
                name=f"{k} {CLASS_NAMES[k]}",
                marker_color=CLASS_COLOURS[k],
                opacity=0.6,
                xbins={"start": 0, "end": 1, "size": 0.05},
            )
        )
    figure.update_layout(
        title="Model score of the experts' class",
        barmode="overlay",
        xaxis_title="probability",
        yaxis_title="candidates",
        height=360,
    )
    return figure


def accuracy_distance_figure(
    galaxy: np.ndarray, distance_mpc: np.ndarray, consensus: np.ndarray, predicted: np.ndarray
) -> go.Figure:
    """Model accuracy against consensus per galaxy, against distance (the paper's Fig. 6)."""
    names, x, y, n, binary = [], [], [], [], []
    for name in np.unique(galaxy):
        here = galaxy == name
        names.append(str(name))
        x.append(float(np.nanmean(distance_mpc[here])) if np.isfinite(distance_mpc[here]).any() else np.nan)
        y.append(float(np.mean(consensus[here] == predicted[here])))
        binary.append(float(np.mean(group_labels(consensus[here]) == group_labels(predicted[here]))))
        n.append(int(here.sum()))
    figure = go.Figure(
        [
            go.Scatter(
                x=x,
                y=y,
                mode="markers+text",
                text=names,
                textposition="top center",
                name="4 classes",
                customdata=n,
                hovertemplate="%{text}: %{y:.0%} of %{customdata}<extra></extra>",
            ),
            go.Scatter(x=x, y=binary, mode="markers", name=GROUPING_TITLES[BINARY], marker_symbol="diamond"),
        ]
    )
    figure.update_layout(
        title="Accuracy against distance",
        xaxis_title="distance (Mpc)",
        yaxis_title="accuracy",
        yaxis_range=[0, 1.05],
        yaxis_tickformat=".0%",
        height=360,
    )
    return figure


def colour_colour_figure(data: dict[str, np.ndarray]) -> go.Figure:
    """U-B against V-I (Vega mag) per class, experts' classes left and the model's right (Fig. 9)."""
    figure = make_subplots(1, 2, shared_yaxes=True, subplot_titles=("experts (consensus)", "StarcNet"))
    u_b = data["mag_u"] - data["mag_b"]
    v_i = data["mag_v"] - data["mag_i"]
    for column, classes in ((1, data["consensus"]), (2, data["predicted"])):
        for k in _CLASSES:
            here = classes == k
            figure.add_trace(
                go.Scattergl(
                    x=v_i[here],
                    y=u_b[here],
                    mode="markers",
                    name=f"{k} {CLASS_NAMES[k]}",
                    marker={"color": CLASS_COLOURS[k], "size": 4, "opacity": 0.6},
                    showlegend=column == 1,
                    legendgroup=str(k),
                ),
                1,
                column,
            )
    figure.update_xaxes(title_text="V - I (mag)")
    figure.update_yaxes(title_text="U - B (mag)", autorange="reversed", col=1)
    figure.update_layout(title="Colour-colour diagram", height=380)
    return figure


def class_distribution_figure(
    values: np.ndarray, data: dict[str, np.ndarray], axis_title: str, *, log: bool = False
) -> go.Figure:
    """Distribution of one quantity per class, experts' classes against the model's (Fig. 10).

    ``log`` draws the quantity on a logarithmic axis (ages and masses span
    decades, as in the paper's figure); non-positive values are left out then.
    """
    figure = make_subplots(1, 2, shared_yaxes=True, subplot_titles=("experts", "StarcNet"))
    shown = np.isfinite(values) & (values > 0 if log else True)
    for column, classes in ((1, data["consensus"]), (2, data["predicted"])):
        for k in _CLASSES:
            here = (classes == k) & shown
            figure.add_trace(
                go.Box(
                    y=values[here],
                    name=str(k),
                    marker_color=CLASS_COLOURS[k],
                    showlegend=False,
                    boxpoints=False,
                ),
                1,
                column,
            )
    figure.update_xaxes(title_text="class")
    figure.update_yaxes(title_text=axis_title, col=1)
    if log:
        figure.update_yaxes(type="log", exponentformat="power")
    figure.update_layout(height=340, margin={"t": 40})
    return figure


def expert_accuracy_rows(experts: list[dict]) -> list[dict[str, object]]:
    """Table rows of a Dawid-Skene report: each expert's accuracy per class as "92% (n=35)"."""
    rows = []
    for row in experts:
        cells = {
            f"class {k}": f"{accuracy:.0%} (n={count:.0f})"
            for k, (accuracy, count) in enumerate(
                zip(row["accuracy"], row["labels_per_class"], strict=True), 1
            )
        }
        rows.append({"expert": row["expert"], "labels": row["n_labels"], **cells})
    return rows
