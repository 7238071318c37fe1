"""Static PNG figures of an evaluation report (matplotlib), after the paper's Figs. 4-7.

Each ``plot_*`` function takes a report of :func:`starcnet_core.evaluation.evaluate.evaluate`
and returns a matplotlib Figure; :func:`write_figures` saves all of them in a
directory. Drawing uses the non-interactive Agg canvas, so no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from starcnet_core.evaluation.evaluate import DISTANCE_BIN_LIMITS
from starcnet_core.groupings import BINARY, GROUPING_TITLES, GROUPINGS

__all__ = [
    "plot_confusion",
    "plot_precision_recall",
    "plot_score_distributions",
    "plot_accuracy_vs_distance",
    "plot_comparison",
    "plot_reliability",
    "write_figures",
]


def plot_confusion(report: Mapping) -> Figure:
    """Row-normalised confusion matrices with counts in parentheses (Fig. 4), one panel per grouping."""
    names = ["four_class", *GROUPINGS]
    fig = Figure(figsize=(4.2 * len(names), 4.2), layout="constrained")
    for ax, name in zip(fig.subplots(1, len(names)), names, strict=True):
        block = report[name]
        norm, counts = np.array(block["confusion_normalised"]), np.array(block["confusion_counts"])
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(norm):
            ax.text(
                j,
                i,
                f"{value:.2f}\n({counts[i, j]})",
                ha="center",
                va="center",
                color="white" if value > 0.5 else "black",
                fontsize=8,
            )
        ticks = range(len(block["labels"]))
        ax.set_xticks(ticks, block["labels"])
        ax.set_yticks(ticks, block["labels"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("human label")
        ax.set_title(f"{GROUPING_TITLES[name]}: {block['accuracy']:.1%}")
    return fig


def plot_precision_recall(report: Mapping) -> Figure:
    """Precision-recall curve of each class against the rest (Figs. 4 and 7)."""
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    for cls, entry in report["per_class"].items():
        if "pr_curve" in entry:
            curve = entry["pr_curve"]
            ax.plot(
                curve["recall"],
                curve["precision"],
                label=f"class {cls} (AP {entry['average_precision']:.2f})",
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(loc="lower left")
    return fig


def plot_score_distributions(report: Mapping) -> Figure:
    """Cumulative distribution of the winning score per predicted class, medians marked (Fig. 5)."""
    dist = report["score_distributions"]
    edges = np.array(dist["bin_edges"])
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    for cls in ("1", "2", "3", "4"):
        entry = dist[cls]
        if entry["n"] == 0:
            continue
        cumulative = np.concatenate([[0], np.cumsum(entry["histogram"])]) / entry["n"]
        (line,) = ax.step(edges, cumulative, where="post", label=f"class {cls} (n={entry['n']})")
        ax.axvline(entry["median"], color=line.get_color(), linestyle=":")
    ax.set_xlabel("score of the predicted class")
    ax.set_ylabel("cumulative fraction")
    ax.legend(loc="upper left")
    return fig


def plot_accuracy_vs_distance(report: Mapping) -> Figure:
    """Accuracy per galaxy against distance, marker size by number of candidates (Fig. 6)."""
    rows = report["per_galaxy"]["galaxies"]
    fig = Figure(figsize=(9, 4), layout="constrained")
    spearman = report["per_galaxy"]["spearman"] or {}
    for ax, key in zip(fig.subplots(1, 2), ("accuracy", "binary_accuracy"), strict=True):
        distance = [r["distance_mpc"] for r in rows]
        ax.scatter(distance, [r[key] for r in rows], s=[10 + r["n"] / 2 for r in rows], alpha=0.7)
        title = GROUPING_TITLES["four_class" if key == "accuracy" else BINARY]
        if spearman.get(key):
            title += f": Spearman rho {spearman[key]['rho']:.2f} (p {spearman[key]['p_value']:.2f})"
        bins = [b for b in report["per_galaxy"].get("distance_bins") or [] if b["n"]]
        if bins:
            ax.scatter(
                [b["mean_distance_mpc"] for b in bins],
                [b[key] for b in bins],
                marker="*",
                s=160,
                color="tab:orange",
                label="weighted, per distance bin",
                zorder=3,
            )
            for limit in DISTANCE_BIN_LIMITS:
                ax.axvline(limit, color="0.5", linestyle=":", linewidth=0.8)
            ax.legend(fontsize=8, loc="lower left")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("distance (Mpc)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.05)
    return fig


def plot_reliability(report: Mapping) -> Figure:
    """Reliability diagram: accuracy against mean top-class score per bin, with the ECE."""
    calibration = report["calibration"]
    curve = calibration["reliability"]
    edges = np.asarray(curve["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    filled = [i for i, n in enumerate(curve["count"]) if n]
    fig = Figure(figsize=(4.5, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="perfectly calibrated")
    ax.bar(
        centres[filled],
        [curve["accuracy"][i] for i in filled],
        width=np.diff(edges)[filled] * 0.9,
        alpha=0.6,
        label="accuracy in bin",
    )
    ax.plot(
        [curve["confidence"][i] for i in filled],
        [curve["accuracy"][i] for i in filled],
        marker="o",
        color="tab:red",
        label="(mean score, accuracy)",
    )
    ax.set_xlabel("top-class score")
    ax.set_ylabel("fraction correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"ECE {100 * calibration['ece']:.1f}% over {sum(curve['count'])} candidates", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_comparison(reports: Mapping[str, Mapping]) -> Figure:
    """Accuracies (with 95% bootstrap intervals) of several classifiers side by side."""
    names = ["four_class", *GROUPINGS]
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(len(reports), 1)
    for k, (label, report) in enumerate(reports.items()):
        acc = np.array([report[n]["accuracy"] for n in names])
        ci = np.array([report[n]["accuracy_ci95"] for n in names])
        x = np.arange(len(names)) + k * width
        ax.bar(x, acc, width, label=label, yerr=[acc - ci[:, 0], ci[:, 1] - acc], capsize=3)
    ax.set_xticks(np.arange(len(names)) + width * (len(reports) - 1) / 2, [GROUPING_TITLES[n] for n in names])
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    return fig


def write_figures(report: Mapping, directory: str | os.PathLike, prefix: str = "") -> list[Path]:
    """Save every figure of ``report`` as PNG in ``directory``; returns the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "confusion": plot_confusion(report),
        "precision_recall": plot_precision_recall(report),
        "score_distributions": plot_score_distributions(report),
    }
    if "calibration" in report:
        figures["reliability"] = plot_reliability(report)
    if "per_galaxy" in report:
        figures["accuracy_vs_distance"] = plot_accuracy_vs_distance(report)
    paths = []
    for name, fig in figures.items():
        path = out / f"{prefix}{name}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
