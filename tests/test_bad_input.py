"""Bad input: each mistake gives one clear line naming the file and the problem, exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from starcnet_core.cli import main
from tests.legus_testing import catalog_rows, tiny_wcs, write_galaxy, write_mosaic, write_tab


@pytest.fixture
def galaxy_dir(tmp_path) -> Path:
    return write_galaxy(tmp_path / "g", [40.0, 50.0], [30.0, 32.0], [1, 2], field="ngc5")


def _mosaic(directory: Path, band_filter: str) -> Path:
    return next(directory.glob(f"*_{band_filter.lower()}_*.fits"))


def _catalog(directory: Path) -> Path:
    return next(directory.glob("*.tab"))


def _break_missing_band(d: Path) -> str:
    _mosaic(d, "F336W").unlink()
    return "missing band(s) U"


def _break_two_files_for_band(d: Path) -> str:
    (d / "copy_f435w.fits").write_bytes(_mosaic(d, "F438W").read_bytes())
    return "two files for band B"


def _break_shape(d: Path) -> str:
    write_mosaic(_mosaic(d, "F555W"), np.ones((64, 81)), "F555W", "WFC3", tiny_wcs((64, 81)))
    return "shape (64, 81) differs"


def _break_wcs(d: Path) -> str:
    wcs = tiny_wcs((64, 80))
    wcs.wcs.crval = [24.174, 15.79]  # 0.006 deg = 545 pixels away
    write_mosaic(_mosaic(d, "F814W"), np.ones((64, 80)), "F814W", "WFC3", wcs)
    return "WCS differs"


def _break_truncated(d: Path) -> str:
    path = _mosaic(d, "F275W")
    path.write_bytes(path.read_bytes()[: 2880 + 5000])
    return "truncated FITS file"


def _break_not_fits(d: Path) -> str:
    _mosaic(d, "F275W").write_text("<html>404 not found</html>")
    return "not a readable FITS file"


def _break_missing_columns(d: Path) -> str:
    write_tab(_catalog(d), catalog_rows([40.0], [30.0], [1])[:, :34])
    return "has 34 columns but its readme"


def _break_extra_columns(d: Path) -> str:
    rows = catalog_rows([40.0], [30.0], [1])
    write_tab(_catalog(d), rows[:, :20], readme=False)
    _catalog(d).with_suffix(".readme").unlink()
    return "20 columns without a readme, not recognised as a LEGUS catalog"


def _break_non_numeric(d: Path) -> str:
    path = _catalog(d)
    lines = path.read_text().splitlines()
    fields = lines[1].split()
    fields[5] = "n/a"
    lines[1] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return "line 2: non-numeric value 'n/a'"


def _break_ragged(d: Path) -> str:
    path = _catalog(d)
    path.write_text(path.read_text() + "3 4 5\n")
    return "line 3 has 3 columns"


def _break_duplicate_ids(d: Path) -> str:
    rows = catalog_rows([40.0, 50.0], [30.0, 32.0], [1, 2])
    rows[:, 0] = 7
    write_tab(_catalog(d), rows)
    return "duplicate ids (1 repeated: 7)"


def _break_outside(d: Path) -> str:
    write_tab(_catalog(d), catalog_rows([40.0, 500.0, 600.0], [30.0, 32.0, 33.0], [1, 2, 3]))
    return "2 of 3 candidates lie outside the 80x64-pixel mosaics (e.g. id 2"


def _break_empty(d: Path) -> str:
    _catalog(d).write_text("# nothing here\n")
    return "no candidates"


def _break_no_positions(d: Path) -> str:
    _catalog(d).unlink()
    (d / "cands.csv").write_text("id,flux\n1,2.0\n")
    return "no positions"


BREAKS = [
    _break_missing_band,
    _break_two_files_for_band,
    _break_shape,
    _break_wcs,
    _break_truncated,
    _break_not_fits,
    _break_missing_columns,
    _break_extra_columns,
    _break_non_numeric,
    _break_ragged,
    _break_duplicate_ids,
    _break_outside,
    _break_empty,
    _break_no_positions,
]


@pytest.mark.parametrize("breaker", BREAKS, ids=[b.__name__.removeprefix("_break_") for b in BREAKS])
def test_bad_input_is_one_line_naming_the_file(galaxy_dir, breaker, capsys):
    assert main(["inspect", str(galaxy_dir), "--json"]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in galaxy_dir.iterdir())
    expected = breaker(galaxy_dir)
    status = main(["inspect", str(galaxy_dir), "--json"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert expected in lines[0]
    assert str(galaxy_dir) in lines[0]
    assert "Traceback" not in captured.err
    # Nothing written: the directory holds what the breaker left, no partial outputs.
    after = sorted(p.name for p in galaxy_dir.iterdir())
    assert set(after) <= set(before) | {"copy_f435w.fits", "cands.csv"}


def test_missing_path_and_mosaic_given_as_catalog(tmp_path, galaxy_dir, capsys):
    assert main(["inspect", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["inspect", str(_mosaic(galaxy_dir, "F275W"))]) == 2
    assert "a mosaic, not a catalog" in capsys.readouterr().err


def test_ra_dec_catalog_without_mosaic_wcs(tmp_path, capsys):
    directory = tmp_path / "g"
    directory.mkdir()
    rng = np.random.default_rng(0)
    for f in ["F275W", "F336W", "F438W", "F555W", "F814W"]:
        write_mosaic(directory / f"x_{f}.fits", rng.random((20, 20)) + 1, f, "WFC3", None)
    (directory / "c.csv").write_text("id,ra,dec\n1,24.1,15.7\n")
    assert main(["inspect", str(directory)]) == 2
    assert "RA/Dec only" in capsys.readouterr().err
    assert fits.getheader(directory / "x_F275W.fits")["FILTER"] == "F275W"
