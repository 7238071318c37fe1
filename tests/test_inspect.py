"""``python -m starcnet_core inspect``: JSON summary and the human-readable one."""

from __future__ import annotations

import json

from starcnet_core.cli import main
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
    assert summary["excluded"] == {"edge": 1, "nan": 0, "zero_coverage": 0}
    assert summary["catalog_layout"] == "readme"
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
    assert "1 candidates, 1 usable" in out
    assert "me: class 0: 0, class 1: 0, class 2: 0, class 3: 1" in out
