"""Simulator outputs: a galaxy the data layer reads, a survey stamp set, the CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

from starcnet_core.cli import main
from starcnet_core.io.bands import BANDS, VEGA_ZEROPOINTS
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.io.stampset import StampSet
from starcnet_core.sim import simulate_galaxy, simulate_survey
from starcnet_core.sim.background import interpolate_coarse
from starcnet_core.sim.calibration import ACS_GALAXIES, INSPECTION_LIMITS, PEAK_CI_MAX
from starcnet_core.sim.photometry import Photometry
from starcnet_core.sim.scene import faintest_inspected, in_legus_catalog, inspected_by_legus
from starcnet_core.sim.survey import survey_counts


@pytest.fixture(scope="module")
def galaxy_dir(tmp_path_factory):
    return simulate_galaxy(
        tmp_path_factory.mktemp("gal"), size=400, n_candidates=120, distance_mpc=6.0, seed=4, field="tiny"
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
    assert header["APCOR"] < 0  # the 4 px aperture misses some light: total is brighter
    with open(galaxy_dir / "tiny_truth.csv") as handle:
        rows = list(csv.DictReader(handle))
    # The catalog is what detection and LEGUS's cuts keep of the 120 candidates counted: about
    # as many, more where faint candidates are measured brighter than drawn (detection acts on
    # the measured V); three experts and two tie-breaker columns per candidate.
    assert 90 <= len(rows) <= 200 and {"id", "true_class", "vote_1", "vote_3", "vote_5"} <= set(rows[0])


def test_galaxy_reads_through_the_data_layer(galaxy_dir):
    galaxy = read_galaxy(galaxy_dir)
    assert galaxy.mosaics.shape == (400, 400)
    n = len(galaxy.catalog)
    assert galaxy.catalog.layout and n == len((galaxy_dir / "tiny_truth.csv").read_text().splitlines()) - 1
    (labels,) = galaxy.catalog.labels.values()
    assert np.all((labels >= 0) & (labels <= 4))
    table = galaxy.catalog.table
    # LEGUS's catalog cut: CI at or above the field's cut (default 1.35), V detected.
    assert np.nanmedian(table["mag_V"]) < 26 and np.all(table["ci"] >= 1.35)
    assert np.all(np.asarray(table["magerr_V"]) <= 0.3)
    # Positions follow the WCS written in the mosaic headers.
    ra, dec = galaxy.mosaics.wcs.all_pix2world(table["x"] - 1, table["y"] - 1, 0)
    np.testing.assert_allclose(ra, table["ra"], atol=1e-6)
    cut = galaxy.cutouts(32)
    assert cut.usable.sum() >= 0.9 * n
    # Background is uneven: arms and disk make the V image vary over the field.
    v = galaxy.mosaics.arrays()[BANDS.index("V")]
    blocks = np.median(v.reshape(8, 50, 8, 50).transpose(0, 2, 1, 3).reshape(64, -1), axis=1)
    assert blocks.max() > 1.3 * blocks.min()


def test_galaxy_classified_only_where_legus_inspects(galaxy_dir):
    catalog = read_galaxy(galaxy_dir).catalog
    table, mode = catalog.table, np.asarray(catalog.labels["LEGUS mode"])
    with open(galaxy_dir / "tiny_truth.csv") as handle:
        truth = list(csv.DictReader(handle))
    # Classified exactly where LEGUS looks: Nflt >= 4 and measured M_V <= -6; class 0, no votes, elsewhere.
    m_v = np.asarray(table["mag_V"]) - 5 * np.log10(6.0e6) + 5
    nflt = np.asarray(table["nflt"])
    inspected = (nflt >= 4) & (m_v <= -6.0)
    # At 6 Mpc most candidates are fainter than M_V = -6 (LEGUS NGC 3344 at 7 Mpc: 64% class 0).
    assert inspected.sum() >= 10 and (~inspected).sum() >= 10
    np.testing.assert_array_equal(mode > 0, inspected)
    assert np.all(np.asarray(table["class_mean"])[~inspected] == 0)
    assert all((truth[i]["vote_1"] == "0") == (not inspected[i]) for i in range(len(truth)))
    # Nflt counts the bands measured to 0.3 mag; the file's 99.999 (no positive flux) reads as NaN.
    errors = np.column_stack([np.asarray(table[f"magerr_{b}"]) for b in BANDS])
    np.testing.assert_array_equal(nflt, np.sum(errors <= 0.3, axis=1))
    mags = np.column_stack([np.asarray(table[f"mag_{b}"]) for b in BANDS])
    assert np.all((mags < 40) | np.isnan(mags)) and np.isnan(mags).any()
    assert "99.999" in next(galaxy_dir.glob("*.tab")).read_text()
    # SED fit where LEGUS makes one (Nflt >= 4), 0 elsewhere; mass follows V luminosity.
    fitted = nflt >= 4
    assert fitted.sum() >= 40
    for name in ("age", "age_max", "age_min", "mass", "mass_max", "mass_min"):
        values = np.asarray(table[name])
        assert np.all(values[fitted] > 0) and np.all(values[~fitted] == 0), name
    assert np.all(table["age"][fitted] >= 1e6) and np.all(table["ebv"][fitted] <= 1.5)
    log_mass = np.log10(np.asarray(table["mass"])[fitted])
    assert np.corrcoef(np.asarray(table["mag_V"])[fitted], log_mass)[0, 1] < -0.5


def test_galaxy_catalog_describes_the_pixels(galaxy_dir):
    # Every catalog magnitude is what photutils measures on the mosaic files, artifacts included.
    galaxy = read_galaxy(galaxy_dir)
    table = galaxy.catalog.table
    xy = np.column_stack([np.asarray(table["x"]) - 1, np.asarray(table["y"]) - 1])
    for band in BANDS:
        mosaic = galaxy.mosaics.bands[band]
        image = np.asarray(mosaic.data, float)
        sky = np.asarray(ApertureStats(image, CircularAnnulus(xy, 7.0, 8.0)).median)
        flux = (
            np.asarray(aperture_photometry(image, CircularAperture(xy, 4.0))["aperture_sum"])
            - sky * 16 * np.pi
        )
        with np.errstate(invalid="ignore"):
            measured = VEGA_ZEROPOINTS[(mosaic.instrument, mosaic.filter)] - 2.5 * np.log10(flux)
        measured += mosaic.header["APCOR"]
        catalog = np.asarray(table[f"mag_{band}"])
        detected = catalog < 90
        np.testing.assert_array_equal(detected, flux > 0)
        np.testing.assert_allclose(catalog[detected], measured[detected], atol=2e-4)
    v = galaxy.mosaics.bands["V"]
    image = np.asarray(v.data, float)
    sky = np.asarray(ApertureStats(image, CircularAnnulus(xy, 7.0, 8.0)).median)
    f1, f3 = (
        np.asarray(aperture_photometry(image, CircularAperture(xy, r))["aperture_sum"]) - sky * np.pi * r**2
        for r in (1.0, 3.0)
    )
    np.testing.assert_allclose(np.asarray(table["ci"]), 2.5 * np.log10(f3 / f1), atol=2e-4)


def test_background_interpolation_is_registered_on_the_coarse_grid():
    # A plane sampled every 8 pixels comes back exactly at every pixel, also for a
    # side that is not a multiple of 8: pixel p sits at p / 8 on the coarse grid.
    for size in (96, 101):
        coarse_xy = np.arange(0, size + 8, 8, dtype=float)
        plane = lambda x, y: 6.0 + 0.01 * x - 0.03 * y  # noqa: E731
        cx, cy = np.meshgrid(coarse_xy, coarse_xy)
        image = interpolate_coarse(np.stack([plane(cx, cy), 2 * plane(cx, cy)]), size, 8)
        yy, xx = np.mgrid[0:size, 0:size]
        assert image.shape == (2, size, size) and image.dtype == np.float32
        np.testing.assert_allclose(image[1], 2 * plane(xx, yy), rtol=1e-6)


def test_background_follows_the_arms_into_the_centre_and_patches_match_the_mosaic():
    import dataclasses

    from starcnet_core.sim.background import COARSE_STEP, GalaxyBackground
    from starcnet_core.sim.calibration import SKY_E_S

    size = 1000
    sky = np.array([SKY_E_S[b] for b in BANDS])[:, None, None]
    for seed in (0, 3):
        # Clumps aside: the arms and dust lanes are what winds faster than the grid towards the centre.
        host = dataclasses.replace(GalaxyBackground.random(size, np.random.default_rng(seed)), clumps=np.empty((0, 4)))
        yy, xx = np.mgrid[0:size, 0:size].astype(float)
        exact = host.evaluate(xx, yy)
        inner = np.hypot(xx - host.x0, yy - host.y0) < host.fine_radius() / 4

        def error(image, exact=exact):
            return np.abs(image - exact) / (exact - sky)

        rendered = host.render(np.zeros((1, 2)), size)[0]
        grid = np.arange(0, size + COARSE_STEP, COARSE_STEP, dtype=float)
        interpolated = interpolate_coarse(host.evaluate(*np.meshgrid(grid, grid)), size, COARSE_STEP)
        assert error(rendered).max() < 0.05
        # interpolated everywhere, the spiral near the centre comes out as blocks
        assert error(interpolated)[:, inner].max() > 1.0
        # a patch cut from the galaxy is the same light
        x0, y0 = int(host.x0) - 20, int(host.y0) - 30
        patch = host.render(np.array([[x0, y0], [40, 900]]), 64)
        np.testing.assert_allclose(patch[0], rendered[:, y0 : y0 + 64, x0 : x0 + 64], rtol=2e-3)
        np.testing.assert_allclose(patch[1], rendered[:, 900:964, 40:104], rtol=2e-3)


def test_same_seed_same_files(tmp_path):
    names = []
    for run in ("a", "b"):
        directory = simulate_galaxy(tmp_path / run, size=96, n_candidates=6, seed=9)
        names.append({p.name: p.read_bytes() for p in directory.iterdir()})
    assert names[0] == names[1] and len(names[0]) == 8


def test_galaxy_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        simulate_galaxy(tmp_path, size=96, n_candidates=5, ci_cut=5.0)
    with pytest.raises(ValueError):
        simulate_galaxy(tmp_path, size=96, n_candidates=5, filter_set="nircam")


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
    # Table 6 counts candidates LEGUS classified: every stamp passed its cuts as measured.
    assert np.all(table["nflt"] >= 4) and np.all(table["mass"] > 0)
    m_v = np.asarray(table["mag_V"]) - 5 * np.log10(np.asarray(table["distance_mpc"]) * 1e6) + 5
    # NGC 628 classified somewhat past -6 mag (its own, soft limit); every other field stops there.
    soft = np.asarray(table["galaxy"]) == "NGC 628"
    assert np.all(m_v[~soft] <= -6.0) and np.all(m_v[soft] <= faintest_inspected("NGC 628"))
    assert np.all(table["ci"] >= 1.2) and np.all(table["ci"] <= PEAK_CI_MAX)
    # Fields with ACS B, V, I are measured with ACS zeropoints.
    acs = np.asarray(table["filter_set"]) == "wfc3+acs"
    assert set(table["galaxy"][acs]) == ACS_GALAXIES & set(counts)
    assert acs.any() and not acs.all()
    assert 0.5 < np.mean(table["label"] == table["true_class"]) < 0.95
    again = simulate_survey(None, seed=7, fraction=0.01)
    np.testing.assert_array_equal(again.stamps, survey.stamps)
    assert len(StampSet.load(tmp_path / "s")) == len(survey)


@pytest.mark.slow
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
                "--inspection-like",
                "NGC 628",
            ]
        )
        == 0
    )
    assert (tmp_path / "g" / "hlsp_legus_hst_acs_simgal_f435w_v1_drc.fits").exists()
    with pytest.raises(SystemExit):
        main(["simulate", "galaxy", str(tmp_path / "h"), "--inspection-like", "NGC 9999"])
    assert main(["simulate", "survey", str(tmp_path / "s"), "--fraction", "0"]) == 2
    assert main(["simulate", "galaxy", str(tmp_path / "h"), "--size", "10"]) == 2
    assert main(["simulate", "galaxy", str(tmp_path / "h"), "--ci-cut", "5"]) == 2
    assert "error" in capsys.readouterr().err.lower()


def test_legus_selection_peak_limit_and_soft_inspection():
    n = 4000
    ci = np.linspace(1.0, 3.5, n)
    phot = Photometry(np.full((n, 5), 22.0), np.full((n, 5), 0.05), ci, np.full(n, 5))
    kept = in_legus_catalog(phot, 1.3)
    # A detected source is a light peak: CI at most that of a uniform disk, 2.5 log10(9).
    assert np.array_equal(kept, (ci >= 1.3) & (ci <= 2.5 * np.log10(9.0)))
    m_v = np.linspace(-8.0, -4.0, n)
    assert np.array_equal(inspected_by_legus(phot, m_v), m_v <= -6.0)
    rng = np.random.default_rng(0)
    soft = inspected_by_legus(phot, m_v, "NGC 628", rng)
    m50, width = INSPECTION_LIMITS["NGC 628"]
    near = np.abs(m_v - m50) < 0.05
    assert soft[m_v < m50 - 1.0].all() and not soft[m_v > faintest_inspected("NGC 628") + 0.3].any()
    assert 0.3 < soft[near].mean() < 0.7
    with pytest.raises(ValueError):
        inspected_by_legus(phot, m_v, "NGC 628")


def test_detection_acts_on_the_measured_v_and_the_draw_leaves_nothing_out():
    from starcnet_core.sim.calibration import CLASS_DETECTION
    from starcnet_core.sim.population import DRAWN_PAST_DETECTION, draw_candidates
    from starcnet_core.sim.scene import detected_by_legus

    rng = np.random.default_rng(5)
    n = 40000
    v50, width = CLASS_DETECTION[2]
    drawn = np.full(n, v50)

    def found(measured_v):
        mag = np.full((n, 5), 22.0)
        mag[:, BANDS.index("V")] = measured_v
        phot = Photometry(mag, np.full((n, 5), 0.05), np.full(n, 1.5), np.full(n, 5))
        return detected_by_legus(phot.mag[:, BANDS.index("V")], np.full(n, 2), drawn, rng).mean()

    # drawn and measured at the 50% limit: the draw applied the moved completeness already,
    # so the rest is kept with completeness / moved completeness
    moved = 1.0 / (1.0 + np.exp(-DRAWN_PAST_DETECTION / width))
    assert abs(found(drawn) - 0.5 / moved) < 0.01
    # measured 1 mag brighter than drawn: always found; fainter than the limit by 6 widths, or not
    # detected at all (99.999): never
    assert found(drawn - 1.0) == 1.0 and found(drawn + 6 * width) < 0.01 and found(np.full(n, 99.999)) == 0.0
    # point-like class 4 is drawn deeper than asymmetric clusters (its limit is 0.4 mag fainter)
    candidates = draw_candidates(np.repeat([2, 4], 5000), 17.9, rng)
    v = candidates.mag[:, BANDS.index("V")]
    assert np.quantile(v[5000:], 0.9) > np.quantile(v[:5000], 0.9) + 0.2
    assert v.max() < CLASS_DETECTION[4][0] + DRAWN_PAST_DETECTION + 6 * CLASS_DETECTION[4][1]


def test_a_deeper_field_draws_and_finds_fainter_candidates():
    from starcnet_core.sim.calibration import FIELD_DETECTION_DEPTH
    from starcnet_core.sim.population import draw_candidates
    from starcnet_core.sim.scene import detected_by_legus, detection_depth

    assert detection_depth("NGC 628") == FIELD_DETECTION_DEPTH["NGC 628"] > 0
    assert detection_depth("NGC 1566") == detection_depth(None) == 0.0
    rng = np.random.default_rng(8)
    depth = 0.4
    v = {d: draw_candidates(np.full(6000, 2), 9.9, rng, depth=d).mag[:, BANDS.index("V")] for d in (0.0, depth)}
    # the faint end moves by the depth; the bright end, above any limit, does not
    assert abs(np.quantile(v[depth], 0.9) - np.quantile(v[0.0], 0.9) - depth) < 0.1
    assert abs(np.quantile(v[depth], 0.01) - np.quantile(v[0.0], 0.01)) < 0.3
    # measured as drawn, a candidate 0.3 mag past the shallow limit is found more often in the deep field
    faint = np.full(20000, np.median(v[0.0]) + 0.3)
    shallow = detected_by_legus(faint, np.full(len(faint), 2), faint, rng).mean()
    deep = detected_by_legus(faint, np.full(len(faint), 2), faint, rng, depth).mean()
    assert deep > shallow + 0.1


def test_artifacts_outside_v_do_not_enter_the_catalog(tmp_path):
    # Hot pixels and cosmic rays in NUV/U/B/I, seen in V only through their
    # neighbours' light, have no peak there: LEGUS's catalog does not hold them.
    from starcnet_core.sim.background import GalaxyBackground
    from starcnet_core.sim.population import draw_candidates
    from starcnet_core.sim.survey import render_local_scenes

    rng = np.random.default_rng(3)
    host = GalaxyBackground.random(4000, rng)
    candidates = draw_candidates(np.full(1500, 4), 9.9, rng)
    positions = host.sample_positions(1500, 4000, rng, margin=32)
    scenes = render_local_scenes(candidates, positions, host, 9.9, rng)
    artifact = np.isin(candidates.kind, ["hot_pixel", "cosmic_ray"])
    comps = candidates.components
    in_v = np.zeros(len(artifact), bool)
    in_v[comps.patch[comps.sharp & (comps.flux[:, BANDS.index("V")] > 0)]] = True
    kept = in_legus_catalog(scenes.phot, 1.3)
    assert (artifact & ~in_v).sum() > 100
    # A few sit on a neighbour's peak (a real source is then catalogued there).
    assert kept[artifact & ~in_v].mean() < 0.05
    assert kept[~artifact].mean() > 0.2


def test_candidates_are_kept_apart_as_a_detection_finds_them():
    from scipy.spatial import cKDTree

    from starcnet_core.sim.background import GalaxyBackground
    from starcnet_core.sim.calibration import DETECTION_SEPARATION_PX

    rng = np.random.default_rng(12)
    host = GalaxyBackground.random(600, rng)
    free = host.sample_positions(3000, 600, rng)
    first = host.sample_positions(1500, 600, rng, apart=DETECTION_SEPARATION_PX)
    more = host.sample_positions(1500, 600, rng, apart=DETECTION_SEPARATION_PX, taken=first)

    def closest(xy):
        return cKDTree(xy).query(xy, k=2)[0][:, 1]

    # independent positions this dense have many close pairs; kept apart, none
    assert np.mean(closest(free) < DETECTION_SEPARATION_PX) > 0.05
    assert len(first) == len(more) == 1500
    assert closest(np.concatenate([first, more])).min() >= DETECTION_SEPARATION_PX


def test_a_simulated_galaxy_lists_no_two_candidates_closer_than_a_detection_separates(galaxy_dir):
    from scipy.spatial import cKDTree

    from starcnet_core.sim.calibration import DETECTION_SEPARATION_PX

    table = read_galaxy(galaxy_dir).catalog.table
    xy = np.column_stack([np.asarray(table["x"], float), np.asarray(table["y"], float)])
    assert cKDTree(xy).query(xy, k=2)[0][:, 1].min() >= DETECTION_SEPARATION_PX


def test_field_stars_are_mostly_faint():
    from starcnet_core.sim.calibration import distance_modulus
    from starcnet_core.sim.population import WFC3_FILTERS, band_zeropoints, field_stars

    rng = np.random.default_rng(2)
    m = 20000
    stars = field_stars(np.arange(m), np.zeros(m), np.zeros(m), 10.0, rng)
    v = BANDS.index("V")
    m_v = -2.5 * np.log10(stars.flux[:, v]) + band_zeropoints(WFC3_FILTERS)[v] - distance_modulus(10.0)
    # a luminosity function rising to the faint end (-7.5 to -3 mag, dN/dM ~ (M_V + 7.5)^2,
    # median -3.9, 0.6 mag of colour scatter): few neighbours as bright as a cluster at the limit
    assert np.median(m_v) > -4.5
    assert np.mean(m_v < -6.5) < 0.05
