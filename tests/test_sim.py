"""Simulator outputs: a galaxy the data layer reads, a survey stamp set, the CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from starcnet_core.cli import main
from starcnet_core.io.bands import BANDS
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.io.stampset import StampSet
from starcnet_core.sim import simulate_galaxy, simulate_survey
from starcnet_core.sim.galaxy import _interpolate
from starcnet_core.sim.survey import survey_counts


@pytest.fixture(scope="module")
def galaxy_dir(tmp_path_factory):
    return simulate_galaxy(
        tmp_path_factory.mktemp("gal"), size=400, n_candidates=80, distance_mpc=6.0, seed=4, field="tiny"
    )


def test_galaxy_files_and_headers(galaxy_dir):
    names = sorted(p.name for p in galaxy_dir.iterdir())
    assert "hlsp_legus_hst_wfc3_tiny_f275w_v1_drc.fits" in names
    assert "hlsp_legus_hst_wfc3_tiny_multiband_v1_padagb-mwext-avgapcor.tab" in names
    assert "hlsp_legus_hst_wfc3_tiny_multiband_v1_padagb-mwext-avgapcor.readme" in names
    header = fits.getheader(galaxy_dir / "hlsp_legus_hst_wfc3_tiny_f555w_v1_drc.fits")
    assert header["BUNIT"] == "ELECTRONS/S" and header["FILTER"] == "F555W" and header["INSTRUME"] == "WFC3"
    assert header["EXPTIME"] > 0 and header["PHOTFLAM"] > 0 and header["PHOTPLAM"] > 5000
    wcs = WCS(header)
    assert wcs.wcs.ctype[0] == "RA---TAN"
    assert abs(abs(wcs.pixel_scale_matrix[0, 0]) * 3600 - 0.0396) < 1e-6
    with open(galaxy_dir / "tiny_truth.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 80 and {"id", "true_class", "vote_1", "vote_3"} <= set(rows[0])


def test_galaxy_reads_through_the_data_layer(galaxy_dir):
    galaxy = read_galaxy(galaxy_dir)
    assert galaxy.mosaics.shape == (400, 400)
    assert galaxy.catalog.layout and len(galaxy.catalog) == 80
    (labels,) = galaxy.catalog.labels.values()
    assert np.all((labels >= 0) & (labels <= 4))
    table = galaxy.catalog.table
    assert np.nanmedian(table["mag_V"]) < 26 and np.all(table["ci"] >= 0)
    # Positions follow the WCS written in the mosaic headers.
    ra, dec = galaxy.mosaics.wcs.all_pix2world(table["x"] - 1, table["y"] - 1, 0)
    np.testing.assert_allclose(ra, table["ra"], atol=1e-6)
    cut = galaxy.cutouts(32)
    assert cut.usable.sum() >= 70
    # Background is uneven: arms and disk make the V image vary over the field.
    v = galaxy.mosaics.arrays()[BANDS.index("V")]
    blocks = np.median(v.reshape(8, 50, 8, 50).transpose(0, 2, 1, 3).reshape(64, -1), axis=1)
    assert blocks.max() > 1.3 * blocks.min()


def test_galaxy_catalog_has_sed_columns_and_uninspected_candidates(galaxy_dir):
    catalog = read_galaxy(galaxy_dir).catalog
    table, mode = catalog.table, catalog.labels["LEGUS mode"]
    with open(galaxy_dir / "tiny_truth.csv") as handle:
        truth = list(csv.DictReader(handle))
    # 15% never inspected (as NGC 628's 381 of 2,271): class mode and mean 0, no votes, fainter.
    uninspected = mode == 0
    assert uninspected.sum() == 12
    assert np.all(np.asarray(table["class_mean"])[uninspected] == 0)
    assert all(truth[i]["vote_1"] == "0" for i in np.flatnonzero(uninspected))
    assert all(truth[i]["vote_1"] != "0" for i in np.flatnonzero(~uninspected))
    m_v = np.asarray(table["mag_V"]) - 5 * np.log10(6.0e6) + 5
    assert np.nanmedian(m_v[uninspected]) > -6.0 > np.nanmedian(m_v[~uninspected])
    # SED fit where LEGUS makes one (Nflt >= 4), 0 elsewhere; mass follows V luminosity.
    fitted = np.asarray(table["nflt"]) >= 4
    assert fitted.sum() >= 60
    for name in ("age", "age_max", "age_min", "mass", "mass_max", "mass_min"):
        values = np.asarray(table[name])
        assert np.all(values[fitted] > 0) and np.all(values[~fitted] == 0), name
    assert np.all(table["age"][fitted] >= 1e6) and np.all(table["ebv"][fitted] <= 1.5)
    log_mass = np.log10(np.asarray(table["mass"])[fitted])
    assert np.corrcoef(np.asarray(table["mag_V"])[fitted], log_mass)[0, 1] < -0.5


def test_background_interpolation_is_registered_on_the_coarse_grid():
    # A plane sampled every 8 pixels comes back exactly at every pixel, also for a
    # side that is not a multiple of 8: pixel p sits at p / 8 on the coarse grid.
    for size in (96, 101):
        coarse_xy = np.arange(0, size + 8, 8, dtype=float)
        plane = lambda x, y: 6.0 + 0.01 * x - 0.03 * y  # noqa: E731
        cx, cy = np.meshgrid(coarse_xy, coarse_xy)
        image = _interpolate(np.stack([plane(cx, cy), 2 * plane(cx, cy)]), size, 8)
        yy, xx = np.mgrid[0:size, 0:size]
        assert image.shape == (2, size, size) and image.dtype == np.float32
        np.testing.assert_allclose(image[1], 2 * plane(xx, yy), rtol=1e-6)


def test_same_seed_same_files(tmp_path):
    names = []
    for run in ("a", "b"):
        directory = simulate_galaxy(tmp_path / run, size=96, n_candidates=6, seed=9)
        names.append({p.name: p.read_bytes() for p in directory.iterdir()})
    assert names[0] == names[1] and len(names[0]) == 8


def test_no_uninspected_candidates_when_asked(tmp_path):
    directory = simulate_galaxy(tmp_path, size=96, n_candidates=20, seed=1, unclassified_fraction=0.0)
    assert np.all(read_galaxy(directory).catalog.labels["LEGUS mode"] > 0)
    with pytest.raises(ValueError):
        simulate_galaxy(tmp_path, size=96, n_candidates=5, unclassified_fraction=1.0)


@pytest.mark.slow
def test_survey_matches_table6_and_is_reproducible(tmp_path):
    survey = simulate_survey(tmp_path / "s", seed=7, fraction=0.01)
    counts = survey_counts(0.01)
    assert len(survey) == sum(int(c.sum()) for _, c in counts.values())
    assert survey.stamps.shape[1:] == (5, 32, 32) and np.isfinite(survey.stamps).all()
    table = survey.table
    for name, (distance, per_class) in counts.items():
        rows = table["galaxy"] == name
        assert np.all(table["distance_mpc"][rows] == distance)
        assert np.bincount(table["true_class"][rows], minlength=5)[1:].tolist() == per_class.tolist()
    assert {"label", "label_mean", "true_class", "vote_1", "vote_2", "vote_3", "mag_V", "ci"} <= set(
        table.colnames
    )
    fitted = table["nflt"] >= 4
    assert fitted.mean() > 0.8 and np.all(table["mass"][fitted] > 0) and np.all(table["age"][~fitted] == 0)
    assert 0.5 < np.mean(table["label"] == table["true_class"]) < 0.95
    again = simulate_survey(None, seed=7, fraction=0.01)
    np.testing.assert_array_equal(again.stamps, survey.stamps)
    assert len(StampSet.load(tmp_path / "s")) == len(survey)


def test_survey_stamps_centred_like_galaxy_cutouts(galaxy_dir):
    # Both modes put a candidate at stamp pixel 15 + its sub-pixel fraction.
    survey = simulate_survey(None, seed=2, fraction=0.01)
    bright = np.argsort(survey.table["mag_V"])[:20]
    v = survey.stamps[bright, BANDS.index("V")]
    peaks = np.array([np.unravel_index(np.argmax(s[12:20, 12:20]), (8, 8)) for s in v]) + 12
    assert np.median(peaks) in (15, 15.5, 16)
    galaxy = read_galaxy(galaxy_dir)
    cut = galaxy.cutouts(32)
    brightest = np.argsort(np.asarray(galaxy.catalog.table["mag_V"]))[:10]
    g = cut.stamps[brightest, BANDS.index("V")]
    gpeaks = np.array([np.unravel_index(np.argmax(s[12:20, 12:20]), (8, 8)) for s in g]) + 12
    assert np.median(gpeaks) in (15, 15.5, 16)


@pytest.mark.slow
def test_cli(tmp_path, capsys):
    assert (
        main(
            [
                "simulate",
                "galaxy",
                str(tmp_path / "g"),
                "--size",
                "128",
                "--n-candidates",
                "5",
                "--filter-set",
                "wfc3+acs",
            ]
        )
        == 0
    )
    assert (tmp_path / "g" / "hlsp_legus_hst_acs_simgal_f435w_v1_drc.fits").exists()
    assert main(["simulate", "survey", str(tmp_path / "s"), "--fraction", "0"]) == 2
    assert main(["simulate", "galaxy", str(tmp_path / "h"), "--size", "10"]) == 2
    assert main(["simulate", "galaxy", str(tmp_path / "h"), "--unclassified-fraction", "1.5"]) == 2
    assert "error" in capsys.readouterr().err.lower()
