"""Mosaics: band slotting by filter, instruments, memory mapping, pixel scale, field name."""

from __future__ import annotations

import gzip
import mmap

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.mosaics import field_from_filename, open_mosaics
from tests.legus_testing import tiny_wcs, write_mosaic, write_mosaics


def _is_memory_mapped(array) -> bool:
    """True when the array's memory comes from a memory-mapped file (somewhere down .base)."""
    while array is not None:
        if isinstance(array, np.memmap | mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def test_directory_of_wfc3_acs_mosaics(tmp_path):
    paths = write_mosaics(tmp_path, (40, 50), field="ngc628-c", acs=True)
    (tmp_path / "notes.txt").write_text("not a mosaic")
    mosaics = open_mosaics(tmp_path)
    assert list(mosaics.bands) == list(BANDS)
    assert mosaics.field == "ngc628-c"
    assert mosaics.shape == (40, 50)
    assert abs(mosaics.pixel_scale_arcsec - 0.0396) < 1e-6
    assert {b: m.filter for b, m in mosaics.bands.items()} == {
        "NUV": "F275W",
        "U": "F336W",
        "B": "F435W",
        "V": "F606W",
        "I": "F814W",
    }
    assert {b: m.instrument for b, m in mosaics.bands.items()} == {
        "NUV": "WFC3",
        "U": "WFC3",
        "B": "ACS",
        "V": "ACS",
        "I": "ACS",
    }
    assert mosaics.bands["V"].path == paths["V"]
    arrays = mosaics.arrays()
    assert len(arrays) == 5
    assert all(_is_memory_mapped(a) for a in arrays)
    np.testing.assert_allclose(arrays[1], fits.getdata(paths["U"]))


def test_explicit_paths_in_any_order_slot_by_header_filter(tmp_path):
    wcs = tiny_wcs((30, 30))
    rng = np.random.default_rng(0)
    paths = []
    # Names say nothing about the filter: the FILTER header decides.
    for i, f in enumerate(["F814W", "F555W", "F275W", "F438W", "F336W"]):
        paths.append(write_mosaic(tmp_path / f"img{i}.fits", rng.random((30, 30)), f, "WFC3", wcs))
    mosaics = open_mosaics(paths)
    assert [mosaics.bands[b].path.name for b in BANDS] == [
        "img2.fits",
        "img4.fits",
        "img3.fits",
        "img1.fits",
        "img0.fits",
    ]


def test_image_in_first_extension_and_filter1_keyword(tmp_path):
    paths = write_mosaics(tmp_path, (20, 20))
    data = fits.getdata(paths["B"])
    header = fits.Header()
    header["FILTER1"] = "CLEAR1L"
    header["FILTER2"] = "F435W"
    header["DETECTOR"] = "WFC"
    header["INSTRUME"] = "ACS"
    paths["B"].unlink()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header=header)]).writeto(tmp_path / "b_sci.fits")
    mosaics = open_mosaics(tmp_path)
    assert mosaics.bands["B"].filter == "F435W"
    assert mosaics.bands["B"].instrument == "ACS"
    np.testing.assert_array_equal(mosaics.bands["B"].data, data)


def test_without_wcs_the_scale_is_unknown(tmp_path):
    rng = np.random.default_rng(0)
    for f in ["F275W", "F336W", "F438W", "F555W", "F814W"]:
        write_mosaic(tmp_path / f"x_{f}.fits", rng.random((10, 12)), f, "WFC3", None)
    mosaics = open_mosaics(tmp_path)
    assert not _is_memory_mapped(np.ones(3))
    assert mosaics.wcs is None and mosaics.pixel_scale_arcsec is None
    assert mosaics.field == tmp_path.name


def test_field_from_legus_names():
    assert field_from_filename("hlsp_legus_hst_acs_ngc628-c_f435w_v1_drc.fits") == "ngc628-c"
    assert field_from_filename("hlsp_legus_hst_wfc3_ngc1566_f275w_v1_sci.fits") == "ngc1566"
    assert field_from_filename("image.fits") is None


def _gzip_all(directory):
    directory.mkdir(exist_ok=True)
    plain = write_mosaics(directory, (16, 24), seed=4)
    arrays = {band: np.array(fits.getdata(path)) for band, path in plain.items()}
    for path in plain.values():
        (directory / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    return arrays


def test_small_gzipped_mosaics_are_read_into_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    arrays = _gzip_all(tmp_path / "g")
    mosaics = open_mosaics(tmp_path / "g")
    assert all(image.path.name.endswith(".fits.gz") for image in mosaics.bands.values())
    for band, image in mosaics.bands.items():
        np.testing.assert_array_equal(image.data, arrays[band])
        assert not _is_memory_mapped(image.data)
    assert not (tmp_path / "data").exists()  # nothing cached for small files


def test_large_gzipped_mosaics_are_decompressed_once_into_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("starcnet_core.io.mosaics.IN_MEMORY_BYTES", 0)
    arrays = _gzip_all(tmp_path / "g")
    mosaics = open_mosaics(tmp_path / "g")
    assert "decompressing" in capsys.readouterr().err  # the progress bar
    cached = sorted((tmp_path / "data" / "cache" / "mosaics").iterdir())
    assert len(cached) == 5 and all(p.name.endswith("_drc.fits") for p in cached)
    for band, image in mosaics.bands.items():
        assert image.path.name.endswith(".fits.gz")
        np.testing.assert_array_equal(image.data, arrays[band])
        assert _is_memory_mapped(image.data)
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = open_mosaics(sorted((tmp_path / "g").glob("*.gz")))
    assert "decompressing" not in capsys.readouterr().err  # reused
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    np.testing.assert_array_equal(again.bands["V"].data, arrays["V"])


def test_corrupt_gzip_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    _gzip_all(tmp_path)
    broken = next(tmp_path.glob("*f555w*.gz"))
    broken.write_bytes(broken.read_bytes()[:-40] + bytes(40))
    with pytest.raises(UserInputError, match=r"_f555w_v1_drc\.fits\.gz: not a readable gzip file"):
        open_mosaics(tmp_path)
    monkeypatch.setattr("starcnet_core.io.mosaics.IN_MEMORY_BYTES", 0)
    with pytest.raises(UserInputError, match=r"_f555w_v1_drc\.fits\.gz: not a readable gzip file"):
        open_mosaics(tmp_path)
    assert [p.name for p in (tmp_path / "data/cache/mosaics").iterdir() if "f555w" in p.name] == []


def test_fits_table_beside_the_mosaics_is_ignored_but_refused_as_a_mosaic(tmp_path):
    write_mosaics(tmp_path, (8, 8))
    Table({"id": [1], "x": [2.0], "y": [3.0]}).write(tmp_path / "candidates_f555w.fits")
    assert open_mosaics(tmp_path).bands["V"].path.name.endswith("_drc.fits")
    paths = sorted(tmp_path.glob("*_drc.fits"))[:4] + [tmp_path / "candidates_f555w.fits"]
    with pytest.raises(UserInputError, match="no image in any HDU"):
        open_mosaics(paths)
