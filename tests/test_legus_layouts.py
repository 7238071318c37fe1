"""LEGUS catalogs without a readme, in every layout the survey ships, built here from random values.

Each case writes a headerless ``.tab`` of one layout (columns 1-33 as every
LEGUS catalog, or NGC 1313's two position frames, then the trailing class,
mean and flag columns of one real field) and checks that the reader places
every column, takes the label only where the values make it unambiguous,
and lists the class columns otherwise. Also: a header row above the numbers
with a readme beside, ``inspect`` on a catalog alone, and candidates outside
the mosaics.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from starcnet_core.cli import main as core_main
from starcnet_core.errors import UserInputError
from starcnet_core.io.catalogs import read_catalog
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.io.inspect import summarize_galaxy
from starcnet_core.io.legus_columns import STANDARD_35, readme_text
from tests.legus_testing import catalog_rows, tiny_wcs, write_galaxy, write_tab

N = 60


def _photometry(rng: np.random.Generator, frames: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Columns 1-33 (35 with two position frames) of N random LEGUS candidates, and the true values."""
    true = {
        "id": np.arange(1, N + 1, dtype=float),
        "x": np.round(rng.uniform(100, 4000, N), 3),
        "y": np.round(rng.uniform(100, 4000, N), 3),
        "ra": np.round(rng.uniform(49.50, 49.60, N), 5),
        "dec": np.round(rng.uniform(-66.50, -66.45, N), 5),
    }
    columns = [true["id"], true["x"], true["y"]]
    if frames == 2:
        true["x_mosaic"], true["y_mosaic"] = true["x"] + 3000.5, true["y"] + 2000.25
        columns += [true["x_mosaic"], true["y_mosaic"]]
    columns += [true["ra"], true["dec"]]
    for _ in range(5):
        mag = np.round(rng.uniform(19, 27, N), 3)
        err = np.round(rng.uniform(0.01, 0.5, N), 3)
        missing = rng.random(N) < 0.1
        mag[missing] = err[missing] = rng.choice([99.999, 66.666])
        columns += [mag, err]
    true["mag_V"] = np.where(columns[-4] > 60, np.nan, columns[-4])
    columns.append(np.round(rng.uniform(0.8, 2.5, N), 2))  # CI
    for low, high in ((1e6, 1e10), (1e2, 1e6), (0.0, 1.0)):  # age, mass, E(B-V): best, max, min
        columns += [rng.uniform(low, high, N) for _ in range(3)]
    columns += [rng.uniform(0, 200, N) for _ in range(6)]  # 5 chi2, reduced chi2
    columns.append(rng.uniform(0, 1, N))  # Q
    true["nflt"] = rng.choice([3, 4, 5, 200], N).astype(float)
    columns.append(true["nflt"])
    return np.column_stack(columns), true


def _trailing(kind: str, rng: np.random.Generator, previous: np.ndarray | None) -> np.ndarray:
    if kind == "class":
        return rng.integers(0, 5, N).astype(float)
    if kind == "class05":
        return rng.integers(0, 6, N).astype(float)
    if kind == "mean":  # of the class column before it
        return np.round(np.clip(previous + rng.uniform(-0.45, 0.45, N), 0, 4), 3)
    if kind == "flag":
        return (rng.random(N) < 0.2).astype(float)
    if kind == "int02":
        return rng.integers(0, 3, N).astype(float)
    if kind == "decision":
        return rng.choice([0, 1, 3, 4, 6], N).astype(float)
    raise AssertionError(kind)


# (case, position frames, trailing columns, layout, label source -> column (1-based), choices)
CASES = [
    ("ngc4485", 1, ["class"], "legus-34: classes in 34, no mean", {"LEGUS mode": 34}, []),
    ("ngc3274", 1, ["class", "flag"], "legus-35: classes in 34, no mean, flag in 35", {"LEGUS mode": 34}, []),
    ("ngc3344", 1, ["class", "mean"], "legus-35: mode in 34, mean in 35", {"LEGUS mode": 34}, []),
    (
        "ngc5253",
        1,
        ["class", "mean", "flag"],
        "legus-36: mode in 34, mean in 35, flag in 36",
        {"LEGUS mode": 34},
        [],
    ),
    (
        "ngc3351",
        1,
        ["flag", "class", "class", "class"],
        "legus-37: class columns 35, 36, 37",
        {},
        [35, 36, 37],
    ),
    (
        "ngc1313",
        2,
        ["class", "mean"],
        "legus-37 (positions on the pointing and the mosaic frame): mode in 36, mean in 37",
        {"LEGUS mode": 36},
        [],
    ),
    (
        "ngc4449",
        1,
        ["class05", "int02", "class", "class", "int02"],
        "legus-38: class columns 34, 36, 37",
        {},
        [34, 36, 37],
    ),
    ("ngc45", 1, ["flag", "class", "int02", "class"], "legus-37: class columns 35, 37", {}, [35, 37]),
    (
        "ngc1566",
        1,
        ["class", "decision", "class", "class", "class", "class"],
        "legus-39: NGC 1566 layout",
        {
            "LEGUS hybrid": 34,
            "LEGUS 3-human mode": 36,
            "LEGUS early ML": 37,
            "LEGUS human verify": 38,
            "LEGUS human re-check": 39,
        },
        [],
    ),
]


def _write_case(tmp_path, frames, trailing, seed=0):
    rng = np.random.default_rng(seed)
    values, true = _photometry(rng, frames)
    extra = []
    for kind in trailing:
        extra.append(_trailing(kind, rng, extra[-1] if extra else None))
    table = np.column_stack([values, *extra])
    path = tmp_path / "hlsp_legus_hst_wfc3_ngc9999_multiband_v1_padagb-mwext-avgapcor.tab"
    np.savetxt(path, table, fmt="%.10g")
    return path, table, true


@pytest.mark.parametrize(
    ("case", "frames", "trailing", "layout", "labels", "choices"), CASES, ids=[c[0] for c in CASES]
)
def test_every_layout_without_a_readme(tmp_path, capsys, case, frames, trailing, layout, labels, choices):
    path, table, true = _write_case(tmp_path, frames, trailing)
    catalog = read_catalog(path)
    assert catalog.layout.startswith(layout)
    assert table.shape[1] == 33 + 2 * (frames - 1) + len(trailing)
    for name, values in true.items():
        np.testing.assert_allclose(np.asarray(catalog.table[name], dtype=float), values, rtol=1e-6)
    assert catalog.frame == ("pointing" if frames == 2 else None)
    assert set(catalog.labels) == set(labels)
    for source, column in labels.items():
        expected = np.where(
            (table[:, column - 1] >= 1) & (table[:, column - 1] <= 4), table[:, column - 1], 0
        )
        assert catalog.labels[source].tolist() == expected.astype(int).tolist()
    assert [c.column for c in catalog.label_choices] == choices
    for choice in catalog.label_choices:
        values, counts = np.unique(table[:, choice.column - 1].astype(int), return_counts=True)
        assert choice.counts == {str(v): int(n) for v, n in zip(values, counts, strict=True)}

    # inspect on the catalog alone reports the same, and what cutting stamps needs
    assert core_main(["inspect", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layout"] == catalog.layout and summary["candidates"] == N
    assert summary["layout_evidence"] and "mosaics" in summary["needs"]
    assert [c["column"] for c in summary["label_choices"]] == choices
    assert summary["ranges"]["ra"]["min"] == pytest.approx(true["ra"].min())
    assert summary["photometry"]["V"]["detected"] == int(np.count_nonzero(np.isfinite(true["mag_V"])))
    if choices:
        chosen = read_catalog(path, label_column=str(choices[-1]))
        column = table[:, choices[-1] - 1]
        expected = np.where((column >= 1) & (column <= 4), column, 0).astype(int)
        assert chosen.labels[f"catalog column {choices[-1]}"].tolist() == expected.tolist()
        assert chosen.label_choices == ()
        assert core_main(["inspect", str(path)]) == 0
        out = capsys.readouterr().out
        assert "name one with --label-column" in out and f"column {choices[0]}: " in out


def test_columns_that_are_not_legus_photometry_are_refused_naming_the_column(tmp_path):
    path, table, _ = _write_case(tmp_path, 1, ["class", "mean", "flag"])
    table[0, 32] = 2.5  # Nflt
    np.savetxt(path, table, fmt="%.10g")
    with pytest.raises(UserInputError, match=r"36 columns without a readme.*column 33 is not Nflt"):
        read_catalog(path)
    table[0, 32], table[3, 9] = 5, 250.0  # a magnitude of 250
    np.savetxt(path, table, fmt="%.10g")
    with pytest.raises(UserInputError, match="column 10 is not a magnitude"):
        read_catalog(path)


def test_header_row_skipped_when_a_readme_names_the_columns(tmp_path):
    rows = catalog_rows([10.0, 20.0], [11.0, 12.0], [2, 4], means=[2.333, 3.667])
    path = write_tab(tmp_path / "cat.tab", rows)
    path.write_text("ID X Y RA DEC " + " ".join(f"c{i}" for i in range(6, 36)) + "\n" + path.read_text())
    catalog = read_catalog(path)
    assert catalog.layout == "readme" and catalog.table["x"].tolist() == [10.0, 20.0]
    assert catalog.labels["LEGUS mode"].tolist() == [2, 4]
    assert any("header row" in line for line in catalog.layout_evidence)
    # Without the readme the header names the columns.
    path.with_suffix(".readme").unlink()
    headed = read_catalog(path)
    assert headed.layout == "table" and headed.table["x"].tolist() == [10.0, 20.0]


def test_few_candidates_outside_the_mosaics_are_flagged(tmp_path, monkeypatch):
    from db.engine import make_engine, session_factory
    from db.models import Candidate
    from webapp.cli import main as webapp_main

    x, y = [40.0, 20.0, 60.0, 500.0, -30.0], [30.0, 20.0, 40.0, 30.0, 20.0]
    directory = write_galaxy(tmp_path / "g", x, y, [1, 2, 3, 4, 1])
    galaxy = read_galaxy(directory)
    assert galaxy.cutouts().reason.tolist() == ["", "", "", "outside", "outside"]
    assert summarize_galaxy(galaxy)["excluded"]["outside"] == 2
    database = tmp_path / "app.sqlite"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert webapp_main(["init-db"]) == 0
    assert webapp_main(["import", str(directory)]) == 0
    with session_factory(make_engine(f"sqlite:///{database}"))() as session:
        reasons = session.execute(select(Candidate.source_id, Candidate.unusable_reason)).all()
    assert sorted(reasons) == [(1, ""), (2, ""), (3, ""), (4, "outside"), (5, "outside")]


def test_most_candidates_outside_is_an_error_naming_the_likely_cause(tmp_path):
    shape = (64, 80)
    x, y = np.array([40.0, 20.0, 60.0]), np.array([30.0, 20.0, 40.0])
    directory = write_galaxy(tmp_path / "g", x, y, [1, 2, 3])
    tab = next(directory.glob("*.tab"))
    # RA/Dec of another field (the catalog rows' default) and x, y off the image.
    write_tab(tab, catalog_rows(x + 1000, y, [1, 2, 3]))
    with pytest.raises(UserInputError, match=r"3 of 3 candidates lie outside.*not on these mosaics either"):
        read_galaxy(directory)
    # RA/Dec on the mosaics but x, y on another pixel frame.
    rows = catalog_rows(x + 1000, y, [1, 2, 3])
    rows[:, 3], rows[:, 4] = tiny_wcs(shape).all_pix2world(x - 1, y - 1, 0)
    write_tab(tab, rows)
    with pytest.raises(UserInputError, match="their RA/Dec are on these mosaics but their x, y are not"):
        read_galaxy(directory)
    # Positions on both frames: the other one fits.
    table = np.column_stack([rows[:, :1], rows[:, 1:3], x, y, rows[:, 3:]])
    layout = list(STANDARD_35)
    layout[1:3] = [
        ("x", "x coordinates in the ref frame of the pointing"),
        ("y", "y coordinates in the ref frame of the pointing"),
        ("x_mosaic", "x coordinates in the mosaic frame"),
        ("y_mosaic", "y coordinates in the mosaic frame"),
    ]
    np.savetxt(tab, table, fmt="%.7f")
    tab.with_suffix(".readme").write_text(readme_text(tuple(layout)))
    with pytest.raises(UserInputError, match="use --frame mosaic"):
        read_galaxy(directory, frame="pointing")
    assert read_galaxy(directory).catalog.frame == "mosaic"
