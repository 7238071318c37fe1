"""Catalog photometry measured on noisy pixels, LEGUS style: magnitudes, errors, CI, Nflt."""

from __future__ import annotations

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import EXPTIME_S
from starcnet_core.sim.noise import add_noise
from starcnet_core.sim.photometry import (
    NOT_DETECTED,
    aperture_correction,
    measure_photometry,
    tile_patches,
)
from starcnet_core.sim.render import Components, render_patches
from starcnet_core.sim.scene import typical_aperture_correction

_ZP = np.full(5, 25.0)
_T = np.array([EXPTIME_S[b] for b in BANDS])


def _sources(flux, a=0.0, sharp=False, n=1):
    return Components(
        np.arange(n),
        np.full(n, 0.3),
        np.full(n, -0.2),
        np.broadcast_to(np.asarray(flux, float), (n, 5)).copy(),
        np.full(n, a),
        np.full(n, 1.8),
        np.ones(n),
        np.zeros(n),
        np.full(n, sharp),
    )


def _noisy(patches, rng, sky=0.02):
    scene = patches + np.float32(sky)
    for b, band in enumerate(BANDS):
        scene[:, b] = add_noise(scene[:, b], band, rng)
    return tile_patches(scene)


def test_magnitudes_and_errors_follow_the_noise():
    rng = np.random.default_rng(0)
    n = 300
    patches = render_patches(_sources([2.0] * 5, a=0.6, n=n), n, 48)
    image, origins = _noisy(patches, rng)
    apcor = aperture_correction(render_patches(_sources([1.0] * 5, a=0.6), 1, 48)[0].astype(float))
    phot = measure_photometry(image, origins + 24 + np.array([0.3, -0.2]), _ZP, _T, apcor)
    true = 25.0 - 2.5 * np.log10(patches[0].sum(axis=(1, 2)))
    # Unbiased total magnitudes, and quoted errors that match the scatter of the measurements.
    assert np.all(np.abs(np.median(phot.mag, axis=0) - true) < 0.02)
    scatter = np.std(phot.mag, axis=0)
    np.testing.assert_allclose(np.median(phot.mag_err, axis=0), scatter, rtol=0.25)
    assert np.all(phot.nflt == 5) and np.all(apcor < 0)


def test_catalog_errors_level_off_at_the_aperture_correction_uncertainty():
    from starcnet_core.sim.calibration import APCOR_ERROR_MAG, aperture_correction_error

    rng = np.random.default_rng(5)
    n = 200
    fluxes = np.repeat([400.0, 0.5], n)
    comps = _sources([1.0] * 5, a=0.6, n=2 * n)
    comps.flux = fluxes[:, None] * np.ones((1, 5))
    patches = render_patches(comps, 2 * n, 48)
    image, origins = _noisy(patches, rng)
    where = origins + 24 + np.array([0.3, -0.2])
    plain = measure_photometry(image, where, _ZP, _T, np.zeros(5))
    floor = aperture_correction_error("NGC 1566")
    assert set(APCOR_ERROR_MAG) >= {"NGC 1566", "NGC 628"} and np.all((floor > 0.01) & (floor < 0.2))
    with_floor = measure_photometry(image, where, _ZP, _T, np.zeros(5), floor)
    # Errors add in quadrature: bright sources sit at the floor, faint ones keep their noise.
    np.testing.assert_allclose(with_floor.mag_err, np.hypot(plain.mag_err, floor), rtol=1e-9)
    bright, faint = fluxes == 400.0, fluxes == 0.5
    assert np.all(np.median(plain.mag_err[bright], axis=0) < 0.5 * floor)
    np.testing.assert_allclose(np.median(with_floor.mag_err[bright], axis=0), floor, rtol=0.15)
    assert np.all(np.median(plain.mag_err[faint], axis=0) > floor)
    np.testing.assert_array_equal(with_floor.mag, plain.mag)
    # Other fields take the mean of the calibrated ones.
    np.testing.assert_allclose(
        aperture_correction_error("NGC 9999"), np.mean([APCOR_ERROR_MAG[f] for f in APCOR_ERROR_MAG], axis=0)
    )


def test_ci_of_a_star_is_below_the_legus_cut_and_a_cluster_above():
    rng = np.random.default_rng(1)
    star = render_patches(_sources([50.0] * 5, n=20), 20, 48)
    cluster = render_patches(_sources([50.0] * 5, a=1.0, n=20), 20, 48)
    image, origins = _noisy(np.concatenate([star, cluster]), rng)
    phot = measure_photometry(image, origins + 24 + np.array([0.3, -0.2]), _ZP, _T, np.zeros(5))
    assert 1.1 < np.median(phot.ci[:20]) < 1.3 < 1.4 < np.median(phot.ci[20:])


def test_a_hot_pixel_is_detected_in_its_band_only():
    rng = np.random.default_rng(2)
    flux = np.zeros(5)
    flux[BANDS.index("V")] = 5.0
    image, origins = _noisy(render_patches(_sources(flux, sharp=True, n=40), 40, 48), rng)
    phot = measure_photometry(image, origins + 24 + np.array([0.3, -0.2]), _ZP, _T, np.zeros(5))
    v = BANDS.index("V")
    assert np.all(phot.mag_err[:, v] < 0.1) and np.all(phot.nflt <= 2)
    others = np.delete(phot.mag, v, axis=1)
    # Without light, about half of the sky-subtracted fluxes are negative: not detected.
    assert 0.2 < np.mean(others == NOT_DETECTED) < 0.8


def test_aperture_correction_grows_with_distance_resolution():
    # Nearer clusters are larger in pixels: more light outside 4 px.
    assert np.all(typical_aperture_correction(3.0) < typical_aperture_correction(17.9))
    assert np.all(typical_aperture_correction(17.9) < 0)


def test_measurement_equals_photutils_per_source():
    # The vectorised measurement gives what photutils' ApertureStats (sky
    # median and MAD in the 7-8 px annulus) and exact-aperture
    # aperture_photometry give, sources at the image edge included.
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

    rng = np.random.default_rng(5)
    image = rng.normal(0.05, 0.02, (5, 120, 150)).astype(np.float32)
    positions = np.column_stack([rng.uniform(-2, 152, 150), rng.uniform(-2, 122, 150)])
    yy, xx = np.mgrid[:120, :150]
    for x, y in positions[:40]:
        image += (2.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 3.0)).astype(np.float32)
    apcor = np.full(5, -0.3)
    phot = measure_photometry(image, positions, _ZP, _T, apcor)
    v = BANDS.index("V")
    for b in range(5):
        stats = ApertureStats(image[b], CircularAnnulus(positions, 7.0, 8.0))
        sums = aperture_photometry(
            image[b], [CircularAperture(positions, r=r) for r in (4.0, 1.0, 3.0)], method="exact"
        )
        sky = np.asarray(stats.median, float)
        flux = np.asarray(sums["aperture_sum_0"], float) - sky * np.pi * 16.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(flux > 0, 25.0 - 2.5 * np.log10(flux) - 0.3, NOT_DETECTED)
        np.testing.assert_allclose(phot.mag[:, b], mag, atol=1e-6)
        if b == v:
            f1 = np.asarray(sums["aperture_sum_1"], float) - sky * np.pi
            f3 = np.asarray(sums["aperture_sum_2"], float) - sky * np.pi * 9.0
            with np.errstate(divide="ignore", invalid="ignore"):
                ci = np.where((f1 > 0) & (f3 > 0), 2.5 * np.log10(f3 / f1), np.nan)
            np.testing.assert_allclose(phot.ci, ci, atol=1e-6)
        detected = phot.mag[:, b] < NOT_DETECTED
        sky_std = np.asarray(stats.mad_std, float)
        n_sky = np.asarray(stats.sum_aper_area.value, float)
        variance = np.maximum(flux, 0) / _T[b] + np.pi * 16 * sky_std**2 * (1 + np.pi * 16 / n_sky)
        err = 2.5 / np.log(10) * np.sqrt(variance[detected]) / flux[detected]
        np.testing.assert_allclose(phot.mag_err[detected, b], err, rtol=1e-4)


def test_rendered_cluster_ci_follows_radius_as_on_ryon_clusters():
    # Ryon et al. (2017) NGC 628 clusters with log Reff ~ 0.12 / 0.50 / 0.70 pc measure CI
    # ~1.44 / 1.63 / 1.80 (9.9 Mpc); rendered at those radii shifted by REFF_RENDER_SHIFT_DEX
    # through the nominal V PSF they must too, within the fit's scatter.
    from starcnet_core.sim.calibration import REFF_RENDER_SHIFT_DEX, pc_per_pixel
    from starcnet_core.sim.photometry import CI_RADII_PX, aperture_fluxes
    from starcnet_core.sim.scene import isolated_clusters

    log_reff = np.array([0.12, 0.50, 0.70])
    eta = np.array([2.13, 1.80, 1.64])
    patches = isolated_clusters(10.0 ** (log_reff + REFF_RENDER_SHIFT_DEX) / pc_per_pixel(9.9), eta)
    centre = np.array([[patches.shape[-1] // 2] * 2], float)
    v = BANDS.index("V")
    sums = np.array([aperture_fluxes(p[v], centre, CI_RADII_PX)[0] for p in patches])
    ci = 2.5 * np.log10(sums[:, 1] / sums[:, 0])
    assert np.all(np.diff(ci) > 0)
    assert np.all(np.abs(ci - np.array([1.44, 1.63, 1.80])) < 0.06)
    # the unit-flux patches hold their light
    assert np.allclose(patches.sum(axis=(2, 3)), 1.0, atol=0.02)


def test_colour_offsets_move_the_colours_they_name(monkeypatch):
    from starcnet_core.sim import calibration

    for cls in (1, 2, 3, 4):
        monkeypatch.setitem(calibration.TRUE_CLASS_COLOUR_OFFSETS, cls, (0.0, 0.0, 0.0))
    before = calibration.unmixed_photometry()[1]["mean"]
    monkeypatch.setitem(calibration.TRUE_CLASS_COLOUR_OFFSETS, 1, (0.1, 0.2, 0.3))
    after = calibration.unmixed_photometry()[1]["mean"]
    m_v, nuv_v, u_v, b_v, v_i = after - before
    assert m_v == 0 and b_v == 0
    assert np.isclose(v_i, 0.1) and np.isclose(u_v - b_v, 0.2) and np.isclose(nuv_v - u_v, 0.3)
