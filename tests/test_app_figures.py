"""Figures of the review and metrics pages, from small arrays with known answers."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

from webapp.components.candidate_figures import (
    contour_levels,
    contour_svg,
    enlarge,
    png_data_uri,
    scale_bar_arcsec,
    surface_figure,
    surface_png,
)
from webapp.components.field_figure import field_figure, selected_source_id
from webapp.components.metrics_figures import (
    accuracy_distance_figure,
    class_distribution_figure,
    confusion_heatmap,
    expert_agreement_figure,
    precision_recall_figure,
)
from webapp.components.model_figures import changed_positions_figure, training_curves_figure


def _source(size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    return (5 + 100 * np.exp(-(xx**2 + yy**2) / 8) + rng.normal(0, 1, (size, size))).astype(np.float32)


def test_enlarge_repeats_pixels() -> None:
    image = np.arange(4, dtype=np.uint8).reshape(2, 2)
    assert enlarge(image, 2).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


def test_contours_start_above_the_sky_noise() -> None:
    _, levels = contour_levels(_source())
    # sky 5 +- 1 e-/s: the lowest contour is 2 sigma above the sky, the highest below the 100 e-/s peak
    assert len(levels) == 8  # the default levels
    assert 1.5 < 10 ** levels[0] < 3.0
    assert 40 < 10 ** levels[-1] < 100
    svg = contour_svg(_source())
    assert svg.startswith("<svg") and 'viewBox="0 0 32 32"' in svg and svg.count("<polyline") >= 8


def test_surfaces_and_scale_bar() -> None:
    assert surface_figure(_source()).data[0].z.shape == (32, 32)
    assert Image.open(io.BytesIO(base64.b64decode(surface_png(_source()).split(",", 1)[1]))).size == (
        300,
        300,
    )
    assert scale_bar_arcsec(48, 0.04) == 0.5  # at most 30% of 1.92"
    assert scale_bar_arcsec(32, 0.1) == 0.5


def test_an_off_centre_source_is_up_and_right_in_every_view() -> None:
    """The rendered stamp and the contour figure put a source above-right of the centre at the same place."""
    yy, xx = np.mgrid[:32, :32]
    v_band = 1.0 + 200.0 * np.exp(-((xx - 24.0) ** 2 + (yy - 22.0) ** 2) / 3.0)  # x 24, y 22 (row 22)
    grey = np.round(255 * v_band / v_band.max()).astype(np.uint8)
    png = Image.open(io.BytesIO(base64.b64decode(png_data_uri(grey).split(",", 1)[1])))
    row, col = np.unravel_index(np.argmax(np.asarray(png)), (32, 32))
    stamp_xy = (col + 0.5, row + 0.5)  # display pixels, y down as the browser draws
    svg = contour_svg(v_band)
    innermost = max(re.findall(r'points="([^"]+)"[^>]*data-level="(\d+)"', svg), key=lambda m: int(m[1]))[0]
    points = np.array([[float(v) for v in pair.split(",")] for pair in innermost.split()])
    contour_xy = points.mean(axis=0)
    assert stamp_xy[0] > 16 and stamp_xy[1] < 16  # right of and above the centre on screen
    assert np.allclose(contour_xy, stamp_xy, atol=1.0), (contour_xy, stamp_xy)


def test_field_markers_at_downsampled_positions() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    figure = field_figure(
        image,
        4,
        np.array([4.5, 100.5]),
        np.array([8.5, 20.5]),
        np.array([1, 0]),
        np.array([0.9, np.nan]),
        np.array([7, 8]),
    )
    by_name = {trace.name: trace for trace in figure.data[1:]}
    assert list(by_name) == ["not scored", "1 symmetric cluster"]
    assert by_name["1 symmetric cluster"].x[0] == 1.0 and by_name["1 symmetric cluster"].y[0] == 2.0
    assert list(by_name["not scored"].customdata) == [8]


def test_confusion_is_row_normalised_with_counts() -> None:
    heatmap = confusion_heatmap([[3, 1], [0, 4]], ["a", "b"], "t").data[0]
    assert np.allclose(heatmap.z, [[0.75, 0.25], [0.0, 1.0]])
    assert heatmap.text[0][0] == "75%<br>(3)"


def test_agreement_pr_and_distance_figures() -> None:
    report = {
        "experts": {1: "ann", 2: "bob", 3: "cy"},
        "pairwise": [
            {"expert_a": "ann", "expert_b": "bob", "agreement": 0.5, "n": 20},
            {"expert_a": "ann", "expert_b": "cy", "agreement": 1.0, "n": 1},
        ],
    }
    agreement = expert_agreement_figure(report).data[0]
    z = np.asarray(agreement.z, dtype=float)
    assert z[0, 1] == z[1, 0] == 0.5 and agreement.text[0][1] == "50%<br>n=20"
    # one shared candidate is no 100% cell: uncoloured, and its count is shown
    assert np.isnan(z[0, 2]) and agreement.text[0][2] == "n=1<br>(too few)"
    assert np.isnan(z[0, 0]) and agreement.text[0][0] == ""
    consensus = np.array([1, 1, 2, 3, 4, 4])
    scores = np.eye(4)[consensus - 1]
    curves = precision_recall_figure(consensus, scores).data
    # perfect scores: every class reaches recall 1 at precision 1
    assert len(curves) == 4 and all(((c.x == 1) & (c.y == 1)).any() for c in curves)
    figure = accuracy_distance_figure(
        np.array(["a", "a", "b", "b"]),
        np.array([3.0, 3.0, 9.0, 9.0]),
        np.array([1, 3, 1, 4]),
        np.array([1, 4, 2, 1]),
    )
    assert list(figure.data[0].y) == [0.5, 0.0] and list(figure.data[1].y) == [1.0, 0.5]


def test_a_clicked_marker_gives_its_catalog_id() -> None:
    # what st.plotly_chart(on_select="rerun") returns for the field figure
    marker = {"curve_number": 2, "point_index": 0, "x": 1.0, "y": 2.0, "customdata": 7}
    image_pixel = {"curve_number": 0, "point_index": 5, "x": 3, "y": 4}
    assert selected_source_id({"selection": {"points": [marker]}}) == 7
    assert selected_source_id({"selection": {"points": [image_pixel, {**marker, "customdata": [9]}]}}) == 9
    assert selected_source_id({"selection": {"points": [image_pixel]}}) is None
    assert selected_source_id({"selection": {"points": []}}) is None
    assert selected_source_id(None) is None
    # the figure's markers carry what the selection reads back
    figure = field_figure(
        np.zeros((10, 10, 3), np.uint8),
        1,
        np.array([3.5]),
        np.array([4.5]),
        np.array([2]),
        np.array([0.5]),
        np.array([42]),
    )
    assert selected_source_id({"selection": {"points": [{"customdata": figure.data[1].customdata[0]}]}}) == 42


def test_age_and_mass_on_log_axes_and_changes_coloured_by_class() -> None:
    data = {"consensus": np.array([1, 2, 1]), "predicted": np.array([1, 1, 2])}
    ages = np.array([1e6, 1e8, 0.0])
    figure = class_distribution_figure(ages, data, "age (yr)", log=True)
    assert figure.layout.yaxis.type == "log"
    assert list(figure.data[0].y) == [1e6]  # class 1 of the experts: the age 0 cannot be drawn on a log axis
    assert class_distribution_figure(ages, data, "E(B-V) (mag)").layout.yaxis.type != "log"
    changed = [
        {"galaxy": "g", "candidate_id": 1, "x": 5.0, "y": 6.0, "old_class": 4, "new_class": 1},
        {"galaxy": "g", "candidate_id": 2, "x": 7.0, "y": 8.0, "old_class": 1, "new_class": 3},
        {"galaxy": "g", "candidate_id": 3, "x": 9.0, "y": 9.0, "old_class": 2, "new_class": 3},
    ]
    traces = changed_positions_figure({"changed": changed}).data
    assert [t.name for t in traces] == ["now 1: symmetric cluster", "now 3: compact association"]
    assert [len(t.x) for t in traces] == [1, 2] and traces[0].marker.color == "#0072B2"
    curves = training_curves_figure([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2, "val_accuracy": 0.4}])
    assert curves.layout.yaxis.title.text == "cross-entropy" and curves.layout.yaxis2.tickformat == ".0%"
