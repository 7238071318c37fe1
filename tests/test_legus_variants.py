"""LEGUS-format directories as a new user brings them: names, layouts and readmes we have not seen.

Each test builds a tiny galaxy (five small mosaics, a catalog) in a variant a
real download or a colleague's copy plausibly has, and reads it through the
same path as any galaxy (:func:`starcnet_core.io.galaxy.read_galaxy`, the
``inspect`` summary).
"""

from __future__ import annotations

import gzip
import json
import shutil
import textwrap

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from starcnet_core.errors import UserInputError
from starcnet_core.io.galaxy import find_catalog, read_galaxy
from starcnet_core.io.inspect import summarize_galaxy
from starcnet_core.io.legus_columns import STANDARD_35, readme_text
from tests.legus_testing import catalog_rows, tiny_wcs, write_tab

SHAPE = (64, 80)
X, Y, CLASSES = [40.0, 20.0, 60.0], [30.0, 20.0, 40.0], [1, 3, 0]


def _mosaics(directory, names_filters, *, instruments=None, detectors=None, header_filter=True):
    """Write one mosaic per (file name, filter); INSTRUME/DETECTOR only where given."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    wcs = tiny_wcs(SHAPE)
    paths = []
    for i, (name, filter_name) in enumerate(names_filters):
        header = wcs.to_header()
        if header_filter:
            header["FILTER"] = filter_name
        if instruments:
            header["INSTRUME"] = instruments[i]
        if detectors:
            header["DETECTOR"] = detectors[i]
        data = (1.0 + 0.1 * rng.random(SHAPE)).astype(np.float32)
        fits.PrimaryHDU(data, header=header).writeto(directory / name)
        paths.append(directory / name)
    return paths


def _legus_names(field, filters=("f275w", "f336w", "f438w", "f555w", "f814w"), inst="uvis", suffix="drc"):
    return [(f"hlsp_legus_hst_{inst}_{field}_{f}_v1_{suffix}.fits", f.upper()) for f in filters]


def _catalog(directory, field="ngc9999"):
    directory.mkdir(parents=True, exist_ok=True)
    name = f"hlsp_legus_hst_uvis_{field}_multiband_v1_padagb-mwext-avgapcor.tab"
    return write_tab(directory / name, catalog_rows(X, Y, CLASSES))


def test_mosaic_field_sci_files_with_weight_maps_beside_them(tmp_path):
    names = _legus_names("ngc628-mosaic", inst="acs-wfc3", suffix="sci")
    paths = _mosaics(tmp_path, names)
    for path in paths:  # drizzle weight maps share the filter; they are not science images
        shutil.copy(path, path.with_name(path.name.replace("_sci.fits", "_wht.fits")))
    _catalog(tmp_path, "ngc628-mosaic")
    galaxy = read_galaxy(tmp_path)
    assert galaxy.field == "ngc628-mosaic"
    assert all(image.path.name.endswith("_sci.fits") for image in galaxy.mosaics.bands.values())
    assert galaxy.catalog.labels["LEGUS mode"].tolist() == CLASSES


def test_one_gzipped_mosaic_among_plain_ones_and_beside_its_gunzipped_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    paths = _mosaics(tmp_path / "g", _legus_names("ngc4395"))
    _catalog(tmp_path / "g", "ngc4395")
    compressed = paths[3].with_name(paths[3].name + ".gz")
    compressed.write_bytes(gzip.compress(paths[3].read_bytes()))
    # Both the .fits and the .fits.gz of one band: the same mosaic, the plain file is used.
    assert read_galaxy(tmp_path / "g").mosaics.bands["V"].path == paths[3]
    expected = fits.getdata(paths[3])
    paths[3].unlink()
    galaxy = read_galaxy(tmp_path / "g")
    assert galaxy.mosaics.bands["V"].path == compressed
    np.testing.assert_array_equal(galaxy.mosaics.bands["V"].data, expected)
    assert galaxy.cutouts().usable.all()
    explicit = read_galaxy(next((tmp_path / "g").glob("*.tab")), mosaics=[*paths[:3], compressed, paths[4]])
    assert explicit.mosaics.bands["V"].path == compressed


def test_mosaics_and_catalog_in_sub_folders(tmp_path):
    # As two unpacked MAST archives leave them, plus macOS archive debris.
    _mosaics(tmp_path / "ngc3344_drc" / "ngc3344", _legus_names("ngc3344"))
    _catalog(tmp_path / "catalogs", "ngc3344")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._hlsp_legus_hst_uvis_ngc3344_f275w_v1_drc.fits").write_bytes(b"\0\5\26\7")
    (tmp_path / "ngc3344_drc" / "._hlsp_legus_hst_uvis_ngc3344_f336w_v1_drc.fits").write_bytes(b"\0\5\26\7")
    galaxy = read_galaxy(tmp_path)
    assert galaxy.field == "ngc3344"
    assert galaxy.catalog.path.parent.name == "catalogs" and galaxy.catalog.layout == "readme"
    assert galaxy.mosaics.bands["NUV"].path.parent.name == "ngc3344"
    assert galaxy.cutouts(16).usable.tolist() == [True, True, True]


def test_upper_case_names_without_filter_headers(tmp_path):
    names = [(name.upper(), f) for name, f in _legus_names("ngc5474")]
    _mosaics(tmp_path, names, header_filter=False)
    catalog = _catalog(tmp_path, "ngc5474")
    catalog.rename(catalog.with_name(catalog.name.upper()))
    catalog.with_suffix(".readme").rename(catalog.with_name(catalog.with_suffix(".readme").name.upper()))
    galaxy = read_galaxy(tmp_path)
    assert {b: m.filter for b, m in galaxy.mosaics.bands.items()} == {
        "NUV": "F275W",
        "U": "F336W",
        "B": "F438W",
        "V": "F555W",
        "I": "F814W",
    }
    assert galaxy.field == "ngc5474"
    assert galaxy.catalog.layout == "readme" and galaxy.catalog.labels["LEGUS mode"].tolist() == CLASSES


def test_wfc3_uvis_and_acs_mix_with_f606w_as_v_and_f438w_as_b(tmp_path):
    # WFC3/UVIS NUV, U, B (F438W) and ACS/WFC V (F606W), I (F814W), as in some LEGUS fields.
    names = [
        ("hlsp_legus_hst_uvis_ngc628-e_f275w_v1_drc.fits", "F275W"),
        ("hlsp_legus_hst_uvis_ngc628-e_f336w_v1_drc.fits", "F336W"),
        ("hlsp_legus_hst_uvis_ngc628-e_f438w_v1_drc.fits", "F438W"),
        ("hlsp_legus_hst_acs_ngc628-e_f606w_v1_drc.fits", "F606W"),
        ("hlsp_legus_hst_acs_ngc628-e_f814w_v1_drc.fits", "F814W"),
    ]
    _mosaics(
        tmp_path / "by_header",
        names,
        instruments=["WFC3"] * 3 + ["ACS"] * 2,
        detectors=["UVIS"] * 3 + ["WFC"] * 2,
    )
    # Without INSTRUME/DETECTOR: from the names; with a combined "acs-wfc3" name, from the filter.
    _mosaics(tmp_path / "by_name", names)
    combined = [(n.replace("_uvis_", "_acs-wfc3_").replace("_acs_", "_acs-wfc3_"), f) for n, f in names]
    _mosaics(tmp_path / "by_filter", combined)
    for folder in ("by_header", "by_name", "by_filter"):
        _catalog(tmp_path / folder, "ngc628-e")
        bands = read_galaxy(tmp_path / folder).mosaics.bands
        assert {b: m.filter for b, m in bands.items()} == dict(zip(bands, [f for _, f in names], strict=True))
        expected = ["WFC3", "WFC3", "WFC3", "ACS", "ACS" if folder != "by_filter" else None]
        assert [m.instrument for m in bands.values()] == expected, folder
    summary = summarize_galaxy(read_galaxy(tmp_path / "by_header"))
    assert [summary["bands"][b]["instrument"] for b in ("B", "V")] == ["WFC3", "ACS"]


def test_readme_whose_lines_wrap(tmp_path):
    _mosaics(tmp_path, _legus_names("ngc45"))
    catalog = tmp_path / "hlsp_legus_hst_uvis_ngc45_multiband_v1_padagb-mwext-avgapcor.tab"
    write_tab(catalog, catalog_rows(X, Y, CLASSES), readme=False)
    lines = [
        "# LEGUS cluster catalog of NGC 45. Photometry at an aperture radius of",
        "# 4 px, sky at 7 px.",
        "",
        "Order of the columns",
    ]
    for i, (_, description) in enumerate(STANDARD_35, start=1):
        # Wrapped at 36 characters, continuation lines indented, as an editor or e-mail leaves them.
        lines += textwrap.wrap(f"{i}. {description}", 36, subsequent_indent="    ")
    catalog.with_suffix(".readme").write_text("\n".join(lines) + "\n")
    galaxy = read_galaxy(tmp_path)
    assert galaxy.catalog.layout == "readme"
    table = galaxy.catalog.table
    assert {"mag_NUV", "magerr_I", "ci", "age_max", "mass_min", "ebv", "chi2_red", "q_prob", "nflt"} <= set(
        table.colnames
    )
    assert table["x"].tolist() == X and np.isnan(table["mag_NUV"]).all()
    assert galaxy.catalog.labels["LEGUS mode"].tolist() == CLASSES


def test_extra_unknown_columns_are_kept(tmp_path):
    _mosaics(tmp_path, _legus_names("ngc1705"))
    rows = catalog_rows(X, Y, CLASSES)
    extra = np.column_stack([rows, [7.5, 8.5, 9.5], [0, 1, 0]])
    catalog = tmp_path / "hlsp_legus_hst_uvis_ngc1705_multiband_v1_padagb-mwext-avgapcor.tab"
    np.savetxt(catalog, extra, fmt="%12.5f")
    described = [
        *STANDARD_35,
        ("", "distance to the nearest neighbour in px"),
        ("", "flag for sources in the overlap region"),
    ]
    catalog.with_suffix(".readme").write_text(readme_text(tuple(described), "# with two extra columns"))
    table = read_galaxy(tmp_path).catalog.table
    assert table["col_36"].tolist() == [7.5, 8.5, 9.5] and table["col_37"].tolist() == [0, 1, 0]
    assert table["x"].tolist() == X
    # A headed table with columns of its own keeps them too.
    for tab in tmp_path.glob("*.tab"):
        tab.unlink()
    Table({"ID": [1, 2, 3], "X": X, "Y": Y, "FWHM": [2.1, 2.5, 3.0], "notes": ["a", "b", "c"]}).write(
        tmp_path / "candidates.ecsv"
    )
    table = read_galaxy(tmp_path).catalog.table
    assert table["FWHM"].tolist() == [2.1, 2.5, 3.0] and table["notes"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("suffix", [".fits", ".ecsv", ".csv"])
def test_catalog_as_a_table_file_is_found(tmp_path, suffix):
    _mosaics(tmp_path, _legus_names("ugc695"))
    table = Table({"id": [1, 2, 3], "x": X, "y": Y, "class_mode": CLASSES})
    path = tmp_path / f"ugc695_clusters{suffix}"
    table.write(path, format="ascii.csv" if suffix == ".csv" else None)
    assert find_catalog(tmp_path) == path
    galaxy = read_galaxy(tmp_path)
    assert galaxy.catalog.labels["LEGUS mode"].tolist() == CLASSES
    # An older copy in a sub-folder does not compete with the directory's own table ...
    older = tmp_path / "old" / f"ugc695_clusters{suffix}"
    older.parent.mkdir()
    shutil.copy(path, older)
    shutil.copy(tmp_path / "hlsp_legus_hst_uvis_ugc695_f555w_v1_drc.fits", older.parent)
    assert read_galaxy(tmp_path).catalog.path == path
    # ... a second table of the same kind beside it does: both are named, and the user chooses.
    other = tmp_path / f"old_candidates{suffix}"
    shutil.copy(path, other)
    with pytest.raises(UserInputError, match="several possible catalogs") as error:
        read_galaxy(tmp_path)
    assert f"old_candidates{suffix}, ugc695_clusters{suffix}; name the one to use" in str(error.value)
    assert read_galaxy(tmp_path, catalog=other).catalog.path == other


def _ngc1313_style(directory, *, suffix="drc", wcs=True):
    """A field whose catalog lists positions on the pointing and on the mosaic frame (37 columns).

    The mosaics are the mosaic frame: the mosaic-frame positions agree with RA/Dec
    through their WCS; the pointing's are 7 and -5 pixels away.
    """
    names = _legus_names("ngc1313-mosaic" if suffix == "sci" else "ngc1313-e", suffix=suffix)
    paths = _mosaics(directory, names)
    if not wcs:
        for path in paths:
            data = fits.getdata(path)
            header = fits.Header({"FILTER": fits.getheader(path)["FILTER"]})
            fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)
    rows = catalog_rows(X, Y, CLASSES)
    ra, dec = tiny_wcs(SHAPE).all_pix2world(np.array(X) - 1, np.array(Y) - 1, 0)
    rows[:, 3], rows[:, 4] = ra, dec
    pointing = np.column_stack([np.array(X) + 7.0, np.array(Y) - 5.0])
    table = np.column_stack([rows[:, :1], pointing, rows[:, 1:3], rows[:, 3:]])
    layout = list(STANDARD_35)
    layout[1:3] = [
        ("x", "x coordinates in the ref frame of the pointing"),
        ("y", "y coordinates in the ref frame of the pointing"),
        ("x_mosaic", "x coordinates in the mosaic frame"),
        ("y_mosaic", "y coordinates in the mosaic frame"),
    ]
    catalog = directory / "hlsp_legus_hst_uvis_ngc1313_multiband_v1_padagb-mwext-avgapcor.tab"
    np.savetxt(catalog, table, fmt="%.7f")
    catalog.with_suffix(".readme").write_text(readme_text(tuple(layout), "# NGC 1313 style"))
    return catalog


def test_positions_on_the_mosaic_frame_confirmed_by_the_wcs(tmp_path):
    _ngc1313_style(tmp_path)
    galaxy = read_galaxy(tmp_path)
    assert galaxy.catalog.frame == "mosaic"
    table = galaxy.catalog.table
    assert table["x"].tolist() == X and table["y"].tolist() == Y
    assert table["x_pointing"].tolist() == [x + 7 for x in X]
    assert galaxy.catalog.labels["LEGUS mode"].tolist() == CLASSES
    pointing = read_galaxy(tmp_path, frame="pointing")
    assert pointing.catalog.frame == "pointing" and pointing.catalog.table["x"].tolist() == [x + 7 for x in X]
    assert pointing.catalog.table["x_mosaic"].tolist() == X
    assert summarize_galaxy(galaxy)["position_frame"] == "mosaic"
    with pytest.raises(UserInputError, match="frame must be one of"):
        read_galaxy(tmp_path, frame="sky")


@pytest.mark.parametrize(("suffix", "frame"), [("sci", "mosaic"), ("drc", "pointing")])
def test_without_wcs_a_mosaic_field_takes_the_mosaic_frame(tmp_path, suffix, frame):
    _ngc1313_style(tmp_path, suffix=suffix, wcs=False)
    galaxy = read_galaxy(tmp_path)
    assert galaxy.mosaics.wcs is None
    assert galaxy.catalog.frame == frame


def test_mosaic_frame_asked_of_a_catalog_without_one(tmp_path):
    _mosaics(tmp_path, _legus_names("ngc4449"))
    _catalog(tmp_path, "ngc4449")
    assert read_galaxy(tmp_path).catalog.frame is None
    with pytest.raises(UserInputError, match=r"no positions on the mosaic frame \(x_mosaic, y_mosaic\)"):
        read_galaxy(tmp_path, frame="mosaic")


def test_frame_and_catalog_options_of_the_inspect_and_import_commands(tmp_path, monkeypatch, capsys):
    from sqlalchemy import select

    from db.engine import make_engine, session_factory
    from db.models import Candidate
    from starcnet_core.cli import main as core_main
    from webapp.cli import main as webapp_main

    directory = tmp_path / "ngc1313"
    catalog = _ngc1313_style(directory)
    shutil.copy(catalog, directory / "old_candidates.tab")  # two .tab files: the multiband one is chosen
    assert core_main(["inspect", str(directory), "--json", "--frame", "pointing"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["position_frame"] == "pointing" and summary["catalog"] == str(catalog)
    assert core_main(["inspect", str(directory)]) == 0
    assert "positions on the mosaic frame" in capsys.readouterr().out
    database = tmp_path / "app.sqlite"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert webapp_main(["init-db"]) == 0
    catalog.rename(directory / "candidates.tab")  # now two plain .tab files: one must be named
    assert webapp_main(["import", str(directory)]) == 2
    assert "several possible catalogs" in capsys.readouterr().err
    options = [
        "--catalog",
        str(directory / "candidates.tab"),
        "--readme",
        str(catalog.with_suffix(".readme")),
    ]
    assert webapp_main(["import", str(directory), *options, "--frame", "pointing"]) == 0
    with session_factory(make_engine(f"sqlite:///{database}"))() as session:
        xs = session.scalars(select(Candidate.x).order_by(Candidate.source_id)).all()
    assert xs == [x + 7 for x in X]
