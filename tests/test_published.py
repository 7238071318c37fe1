"""Published StarcNet output files and DS9 regions: read, write, round trip."""

from __future__ import annotations

import numpy as np
import pytest
from regions import Regions

from starcnet_core.errors import UserInputError
from starcnet_core.io.published import (
    read_predictions_csv,
    read_starcnet_tab,
    write_predictions_csv,
    write_starcnet_tab,
)
from starcnet_core.io.regions import write_ds9_regions


def test_tab_round_trip_and_published_format(tmp_path):
    scores = np.array([[0.004, 0.0, 0.02, 0.976], [0.53, 0.19, 0.02, 0.26]])
    path = tmp_path / "g.tab"
    write_starcnet_tab(path, [1, 2], [3006.0, 2797.5], [5901.0, 5852.25], [4, 1], scores)
    assert path.read_text().splitlines()[0] == "1\t3006\t5901\t4\t[0.00 - 0.00 - 0.02 - 0.98]"
    table = read_starcnet_tab(path)
    assert table["id"].tolist() == [1, 2]
    assert table["x"].tolist() == [3006.0, 2797.5]
    assert table["pred_class"].tolist() == [4, 1]
    np.testing.assert_allclose(table["p1"], [0.0, 0.53])


def test_tab_with_crlf_and_bad_line(tmp_path):
    path = tmp_path / "g.tab"
    path.write_bytes(b"1\t30\t59\t4\t[0.00 - 0.00 - 0.02 - 0.98]\r\n")
    assert read_starcnet_tab(path)["p4"].tolist() == [0.98]
    path.write_bytes(b"1\t30\t59\t4\t[0.00 - 0.02 - 0.98]\r\n")
    with pytest.raises(UserInputError, match="line 1"):
        read_starcnet_tab(path)


def test_predictions_csv_round_trip(tmp_path):
    path = tmp_path / "predictions.csv"
    write_predictions_csv(path, "ngc1566", [7, 8], [1.0, 2.5], [3.0, 4.0], [2, 3])
    assert path.read_text().splitlines()[:2] == ["Galaxy,Id,X,Y,Prediction", "ngc1566,7,1,3,2"]
    table = read_predictions_csv(path)
    assert table["galaxy"].tolist() == ["ngc1566", "ngc1566"]
    assert table["pred_class"].tolist() == [2, 3]
    (tmp_path / "bad.csv").write_text("Galaxy,Id,X\n")
    with pytest.raises(UserInputError, match="missing column"):
        read_predictions_csv(tmp_path / "bad.csv")


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "g.tab"
    with pytest.raises(ValueError):
        write_starcnet_tab(path, [1, 2], [1.0], [1.0], [1], [[0.25] * 4])
    assert list(tmp_path.iterdir()) == []


def test_ds9_regions(tmp_path):
    path = tmp_path / "g.reg"
    write_ds9_regions(path, [10.0, 20.0], [5.0, 6.5], [1, 4], labels=["1", "2"], radius=6)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Region file format: DS9") and lines[1] == "image"
    assert lines[2].startswith("circle(10.0") and "color=green" in lines[2] and "text={1}" in lines[2]
    shapes = Regions.read(path, format="ds9")  # 0-based pixel regions again
    assert [(r.center.x, r.center.y, r.radius) for r in shapes] == [(9.0, 4.0, 6.0), (19.0, 5.5, 6.0)]
    assert [r.visual["edgecolor"] for r in shapes] == ["green", "red"]
    assert [str(r.meta["text"]) for r in shapes] == ["1", "2"]


@pytest.mark.shared_data
def test_real_published_ngc1566_output(shared_data):
    table = read_starcnet_tab(shared_data / "starcnet_published/ngc1566.tab")
    assert len(table) == 2752
    assert set(np.unique(table["pred_class"])) <= {1, 2, 3, 4}
    np.testing.assert_allclose(table["p1"] + table["p2"] + table["p3"] + table["p4"], 1.0, atol=0.03)
