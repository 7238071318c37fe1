"""Catalogs: readme parsing (line and run-together forms), LEGUS layouts, generic tables."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from starcnet_core.io.catalogs import parse_readme, read_catalog, standard_name
from starcnet_core.io.legus_columns import NGC1566_39, STANDARD_35, readme_text
from tests.legus_testing import catalog_rows, tiny_wcs, write_tab


@pytest.mark.parametrize("layout", [STANDARD_35, NGC1566_39])
def test_every_layout_description_maps_to_its_standard_name(layout):
    assert [standard_name(d, i) for i, (_, d) in enumerate(layout, 1)] == [n for n, _ in layout]


def test_readme_one_per_line_with_continuations():
    text = "# header\nOrder of the columns\n1. source id\n2. x coordinates\n   in the ref frame\n3. y coordinates\n"
    assert parse_readme(text) == ["source id", "x coordinates in the ref frame", "y coordinates"]


def test_readme_column_colon_form():
    text = "Columns:\nColumn 1: ID\nColumn 2: X position (pixels)\nColumn 3: Y position\nColumn 4: x in the mosaic frame\n"
    descriptions = parse_readme(text)
    assert [standard_name(d, i) for i, d in enumerate(descriptions, 1)] == ["id", "x", "y", "x_mosaic"]


def test_readme_run_together():
    text = (
        "# Final catalogue# 99.999 means not detected.Order of the columns1. source id2. x coordinates"
        "3. y coordinates16. wrong4. CI=mag(1px)-mag(3px) in F555W with CI>=1.4.5. best age in yr"
    )
    assert parse_readme(text) == [
        "source id",
        "x coordinates",
        "y coordinates16. wrong",
        "CI=mag(1px)-mag(3px) in F555W with CI>=1.4.",
        "best age in yr",
    ]


@pytest.mark.parametrize(
    ("description", "name"),
    [
        ("final total mag in  WFC3/F336W", "mag_U"),
        ("final photometric error in ACS/F435W", "magerr_B"),
        ("Vega magnitude error, F606W", "magerr_V"),
        ("CI=mag(1px)-mag(3px) measured in the F555W.", "ci"),
        ("best E(B-V)", "ebv"),
        ("max mass in solar masses (within 68 % confidence level)", "mass_max"),
        (
            "Final assigned class of the source after visual inspection, applying the mean. Class_mode",
            "class_mean",
        ),
        ("Class=1 symmetric; final class, applying the mode", "class_mode"),
        ("some new quantity", "col_7"),
    ],
)
def test_descriptions(description, name):
    assert standard_name(description, 7) == name


def test_tab_with_readme_sentinels_and_labels(tmp_path):
    rows = catalog_rows([10.0, 20.5, 30.0], [11.0, 12.0, 13.0], [1, 0, 4], means=[1.333, 0, 3.667])
    rows[1, 7] = 66.666
    path = write_tab(tmp_path / "cat.tab", rows)
    catalog = read_catalog(path)
    assert catalog.layout == "readme"
    t = catalog.table
    assert t["id"].tolist() == [1, 2, 3]
    assert t["x"].tolist() == [10.0, 20.5, 30.0]
    assert np.isnan(t["mag_NUV"]).all()
    assert np.isnan(t["mag_U"][1]) and t["mag_U"][0] == 22.5
    assert catalog.labels["LEGUS mode"].tolist() == [1, 0, 4]
    np.testing.assert_allclose(catalog.label_means["LEGUS mode"], [1.333, 0, 3.667])


def test_35_columns_without_readme(tmp_path):
    path = write_tab(tmp_path / "cat.tab", catalog_rows([5.0], [6.0], [2]), readme=False)
    catalog = read_catalog(path)
    assert catalog.layout == "legus-35: mode in 34, mean in 35"
    assert catalog.labels["LEGUS mode"].tolist() == [2]


def test_id_x_y_table_zero_based_and_named_class_column(tmp_path):
    path = tmp_path / "coords.txt"
    path.write_text("1 10 20\n2 30.5 40\n")
    catalog = read_catalog(path, zero_based=True)
    assert catalog.layout == "id_x_y"
    assert catalog.table["x"].tolist() == [11.0, 31.5]
    assert catalog.labels == {}

    rows = catalog_rows([5.0, 6.0], [6.0, 7.0], [2, 3])
    rows[:, 20] = [1, 4]
    path = write_tab(tmp_path / "c.tab", rows, readme=False)
    catalog = read_catalog(path, label_column="21", label_source="my expert")
    assert catalog.labels["my expert"].tolist() == [1, 4]
    assert catalog.labels["LEGUS mode"].tolist() == [2, 3]


def test_csv_with_header_and_class_column(tmp_path):
    path = tmp_path / "cands.csv"
    path.write_text("ID,X,Y,Class,notes,class_name\n3,1.5,2.5,2,a,sym\n4,5,6,5,b,none\n")
    catalog = read_catalog(path)
    assert catalog.layout == "table"
    assert catalog.table["id"].tolist() == [3, 4]
    assert catalog.table["y"].tolist() == [2.5, 6.0]
    assert catalog.labels["Class"].tolist() == [2, 0]
    assert list(catalog.labels) == ["Class"]  # 5 (not inspected) -> 0; text class_name is no label
    assert catalog.table["notes"].tolist() == ["a", "b"]


def test_ecsv_and_fits_with_ra_dec_through_wcs(tmp_path):
    wcs = tiny_wcs((50, 60))
    ra, dec = wcs.pixel_to_world_values([9.0, 29.0], [4.0, 39.0])
    table = Table({"source_id": [1, 2], "RA": ra, "DEC": dec})
    for name in ("c.ecsv", "c.fits"):
        table.write(tmp_path / name)
        catalog = read_catalog(tmp_path / name, wcs=wcs)
        np.testing.assert_allclose(catalog.table["x"], [10.0, 30.0], atol=1e-6)
        np.testing.assert_allclose(catalog.table["y"], [5.0, 40.0], atol=1e-6)


def test_readme_file_given_explicitly(tmp_path):
    path = tmp_path / "cat.csv"
    rows = catalog_rows([1.0, 2.0], [3.0, 4.0], [3, 1])
    np.savetxt(path, rows, delimiter=",")
    description = tmp_path / "elsewhere.txt"
    description.write_text(readme_text(STANDARD_35).replace("\n", ""))
    catalog = read_catalog(path, readme=description)
    assert catalog.layout == "readme"
    assert catalog.labels["LEGUS mode"].tolist() == [3, 1]


@pytest.mark.shared_data
def test_real_ngc1566_hybrid_counts(shared_data):
    path = shared_data / "legus/ngc1566/hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    catalog = read_catalog(path)
    assert len(catalog) == 2752
    assert catalog.layout.startswith("legus-39: NGC 1566 layout")
    assert np.bincount(catalog.labels["LEGUS hybrid"], minlength=5)[1:].tolist() == [477, 404, 692, 878]
    assert np.count_nonzero(catalog.labels["LEGUS 3-human mode"]) == 1061
    assert np.isnan(catalog.table["mag_NUV"][0])


@pytest.mark.shared_data
def test_real_ngc628_csv_with_run_together_readme(shared_data):
    catalog = read_catalog(shared_data / "legus/ngc628/ngc628_catalog_wClass0.csv")
    assert catalog.layout == "readme"
    assert len(catalog) == 2271
    assert np.bincount(catalog.labels["LEGUS mode"], minlength=5).tolist() == [381, 416, 428, 409, 637]
    assert {"mag_B", "magerr_I", "ci", "age", "mass_min", "ebv_max", "chi2_red", "nflt"} <= set(
        catalog.table.colnames
    )
    assert "LEGUS mode" in catalog.label_means


def test_readme_chosen_among_several_by_name(tmp_path):
    path = write_tab(
        tmp_path / "hlsp_x_multiband_v1_avgapcor.tab", catalog_rows([1.0], [2.0], [4]), readme=False
    )
    (tmp_path / "hlsp_x_multiband_v1_avgapcor_description.txt").write_text(readme_text(STANDARD_35))
    (tmp_path / "hlsp_x_multiband_v1_cibased_description.txt").write_text("1. nothing useful")
    catalog = read_catalog(path)
    assert catalog.layout == "readme"
    assert catalog.labels["LEGUS mode"].tolist() == [4]


def test_whitespace_table_with_commented_header(tmp_path):
    path = tmp_path / "cands.dat"
    path.write_text("# my clusters\n# ID X Y mag class_expert\n1 10 20 21.5 3\n2 11 21 22.0 1\n")
    catalog = read_catalog(path)
    assert catalog.layout == "table"
    assert catalog.table.colnames[:3] == ["id", "x", "y"]
    assert catalog.labels["class_expert"].tolist() == [3, 1]
