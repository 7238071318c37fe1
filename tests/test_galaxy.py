"""Galaxies: a directory or catalog + mosaics read together, cutouts of all candidates."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from starcnet_core.errors import UserInputError
from starcnet_core.io.galaxy import find_catalog, read_galaxy
from tests.legus_testing import write_galaxy


def test_directory_galaxy_and_cutouts(tmp_path):
    directory = write_galaxy(
        tmp_path / "g", [40.0, 5.0, 60.0], [30.0, 30.0, 40.0], [1, 2, 0], field="ngc4242"
    )
    galaxy = read_galaxy(directory)
    assert galaxy.field == "ngc4242"
    assert galaxy.catalog.labels["LEGUS mode"].tolist() == [1, 2, 0]
    cut = galaxy.cutouts()
    assert cut.reason.tolist() == ["", "edge", ""]
    v = fits.getdata(galaxy.mosaics.bands["V"].path)
    np.testing.assert_array_equal(cut.stamps[2, 3], v[40 - 16 : 40 + 16, 60 - 16 : 60 + 16])


def test_catalog_file_with_explicit_mosaic_paths(tmp_path):
    directory = write_galaxy(tmp_path / "g", [40.0], [30.0], [3])
    mosaics = sorted(directory.glob("*.fits"))
    other = tmp_path / "elsewhere"
    other.mkdir()
    catalog = other / "mine.csv"
    Table({"id": [5], "x": [39.0], "y": [29.0]}).write(catalog)
    galaxy = read_galaxy(catalog, mosaics=mosaics, zero_based=True)
    assert galaxy.catalog.table["x"].tolist() == [40.0]
    assert galaxy.cutouts(size=16).usable.tolist() == [True]


def test_directory_with_several_tables_needs_a_choice(tmp_path):
    directory = write_galaxy(tmp_path / "g", [40.0], [30.0], [3])
    (directory / "a.csv").write_text("id,x,y\n1,2,3\n")
    assert find_catalog(directory).name.endswith("avgapcor.tab")
    for tab in directory.glob("*.tab"):
        tab.unlink()
    (directory / "b.csv").write_text("id,x,y\n1,2,3\n")
    with pytest.raises(UserInputError, match="several possible catalogs"):
        read_galaxy(directory)
    galaxy = read_galaxy(directory, catalog=directory / "b.csv")
    assert galaxy.catalog.table["id"].tolist() == [1]


def test_avgapcor_catalog_preferred_over_ci_based(tmp_path):
    directory = write_galaxy(tmp_path / "g", [40.0], [30.0], [3], field="ngc77")
    tab = next(directory.glob("*avgapcor.tab"))
    ci_based = directory / tab.name.replace("avgapcor", "cibased")
    ci_based.write_text(tab.read_text())
    assert find_catalog(directory) == tab
    ci_based.with_suffix(".readme").write_text(tab.with_suffix(".readme").read_text())
    assert read_galaxy(directory).catalog.path == tab
