"""``python -m starcnet_core inspect``: JSON summary and the human-readable one."""

from __future__ import annotations

import json

import numpy as np
from astropy.table import Table

from starcnet_core.cli import main
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.sim import simulate_galaxy
from tests.legus_testing import write_galaxy


def test_inspect_json(tmp_path, capsys):
    directory = write_galaxy(
        tmp_path / "g",
        [40.0, 5.0, 60.0, 20.0, 50.0],
        [30.0, 30.0, 40.0, 20.0, 20.0],
        [1, 2, 0, 4, 4],
        field="ngc7",
    )
    assert main(["inspect", str(directory), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["field"] == "ngc7"
    assert summary["shape"] == [64, 80]
    assert abs(summary["pixel_scale_arcsec"] - 0.0396) < 1e-4
    assert summary["bands"]["B"]["filter"] == "F438W"
    assert summary["bands"]["NUV"]["instrument"] == "WFC3"
    assert summary["candidates"] == 5
    assert summary["usable"] == 4
    assert summary["excluded"] == {"outside": 0, "edge": 1, "nan": 0, "zero_coverage": 0}
    assert summary["layout"] == "readme"
    assert summary["labels"] == {"LEGUS mode": {"0": 1, "1": 1, "2": 1, "3": 0, "4": 2}}


def test_inspect_text_with_catalog_and_mosaics_options(tmp_path, capsys):
    directory = write_galaxy(tmp_path / "g", [40.0], [30.0], [3])
    catalog = next(directory.glob("*.tab"))
    args = [
        "inspect",
        str(catalog),
        "--mosaics",
        str(directory),
        "--label-column",
        "34",
        "--label-source",
        "me",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 candidates" in out and "1 usable for 32-pixel stamps" in out
    assert "me: class 0: 0, class 1: 0, class 2: 0, class 3: 1" in out


def test_simulate_inspect_cutouts_round_trip(tmp_path, capsys):
    """The simulator's files read back through the LEGUS path, with stamps centred on the sources."""
    directory = simulate_galaxy(
        tmp_path / "sim", size=256, n_candidates=40, seed=3, field="simtest", filter_set="wfc3+acs"
    )
    assert main(["inspect", str(directory), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["field"] == "simtest"
    assert summary["shape"] == [256, 256]
    assert abs(summary["pixel_scale_arcsec"] - 0.0396) < 1e-4
    assert [summary["bands"][b]["instrument"] for b in ("NUV", "U", "B", "V", "I")] == [
        "WFC3",
        "WFC3",
        "ACS",
        "ACS",
        "ACS",
    ]
    # The catalog holds the candidates detected and passing LEGUS's cuts as measured: about the
    # 40 counted, up to 40% more (faint ones measured brighter than drawn are found more often).
    galaxy = read_galaxy(directory)
    n = len(galaxy.catalog)
    assert 30 <= n <= 60 and summary["candidates"] == n
    assert summary["usable"] + sum(summary["excluded"].values()) == n
    assert sum(summary["labels"]["LEGUS mode"].values()) == n

    truth = Table.read(directory / "simtest_truth.csv")
    assert truth["id"].tolist() == galaxy.catalog.table["id"].tolist()
    cut = galaxy.cutouts()
    assert int(cut.usable.sum()) == summary["usable"]
    # Compact clusters: the V-band light centroid sits where the 1-based catalog
    # position lands under the published slicing (x - 1 - int(x) + 16); a 0-based
    # or swapped-axis mistake would move it by a pixel or more.
    x, y = np.asarray(galaxy.catalog.table["x"]), np.asarray(galaxy.catalog.table["y"])
    compact = np.isin(truth["true_class"], [1, 2]) & cut.usable
    assert compact.sum() >= 5
    stamps = cut.stamps[compact][:, 3]
    core = np.clip(stamps - np.median(stamps, axis=(1, 2), keepdims=True), 0, None)[:, 11:21, 11:21]
    rows, cols = np.mgrid[11:21, 11:21]
    cx = (core * cols).sum(axis=(1, 2)) / core.sum(axis=(1, 2))
    cy = (core * rows).sum(axis=(1, 2)) / core.sum(axis=(1, 2))
    assert abs(np.median(cx - (x[compact] - 1 - np.trunc(x[compact]) + 16))) < 0.3
    assert abs(np.median(cy - (y[compact] - 1 - np.trunc(y[compact]) + 16))) < 0.3
