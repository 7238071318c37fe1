"""Simulator physics: PSFs, EFF profiles, rendering, noise, per-class morphology and colours."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.background import GalaxyBackground
from starcnet_core.sim.calibration import EXPTIME_S, PSF_FWHM_PX, READ_NOISE_E, pc_per_pixel
from starcnet_core.sim.noise import add_noise
from starcnet_core.sim.photometry import aperture_fluxes, tile_patches
from starcnet_core.sim.population import draw_candidates
from starcnet_core.sim.profiles import eff_core_radius, eff_images
from starcnet_core.sim.render import Components, render_patches


def _points(dx, dy, flux, sharp=False):
    n = len(dx)
    return Components(
        np.arange(n),
        np.asarray(dx, float),
        np.asarray(dy, float),
        np.asarray(flux, float),
        np.zeros(n),
        np.full(n, 2.0),
        np.ones(n),
        np.zeros(n),
        np.full(n, sharp),
    )


def test_point_source_flux_position_and_psf_width():
    flux = np.array([[10.0, 20.0, 30.0, 40.0, 50.0]])
    patch = render_patches(_points([0.3], [-0.2], flux), 1, 48)[0]
    # The Moffat wings beyond the 48 px patch hold 1-2% of the light.
    np.testing.assert_allclose(patch.sum(axis=(1, 2)), flux[0], rtol=0.025)
    assert np.all(patch.sum(axis=(1, 2)) < flux[0])
    grid = np.arange(48) - 24
    v = patch[BANDS.index("V")]
    assert abs((v.sum(axis=0) * grid).sum() / v.sum() - 0.3) < 0.05
    assert abs((v.sum(axis=1) * grid).sum() / v.sum() + 0.2) < 0.05
    for b, band in enumerate(BANDS):
        assert 1.8 <= PSF_FWHM_PX[band] <= 2.3
        # Half-maximum crossings (interpolated) along the row through the peak of a point at 0
        # offset: integrating over the pixels widens the analytic PSF by about 0.3 px.
        row = render_patches(_points([0.0], [0.0], np.eye(5)[[b]]), 1, 48)[0, b, 24].astype(float)
        half = row.max() / 2
        above = np.flatnonzero(row >= half)
        left, right = above[0] - 1, above[-1]
        x_left = left + (half - row[left]) / (row[left + 1] - row[left])
        x_right = right + (row[right] - half) / (row[right] - row[right + 1])
        assert PSF_FWHM_PX[band] < x_right - x_left < PSF_FWHM_PX[band] + 0.5


def test_renders_have_no_ringing_or_negative_pixels():
    rng = np.random.default_rng(7)
    truth = np.repeat([1, 2, 3, 4], 30)
    for distance in (3.0, 17.9):
        candidates = draw_candidates(truth, distance, rng)
        comps = candidates.components
        comps.dx = comps.dx + rng.uniform(0, 1, len(truth))[comps.patch]
        comps.dy = comps.dy + rng.uniform(0, 1, len(truth))[comps.patch]
        patches = render_patches(comps, len(truth), 48)
        peak = patches.max(axis=(2, 3), keepdims=True)
        assert np.all(patches >= -1e-6 * peak)
    # A point source falls off monotonically with radius out to the patch edge: no ripples.
    v = render_patches(_points([0.37], [0.81], np.eye(5)[[3]]), 1, 48)[0, 3]
    row = v[25, 24:]
    assert np.all(np.diff(row[1:]) < 0) and row[-1] > 0


def test_extended_source_centred_at_its_sub_pixel_position():
    comps = _points([0.3, -0.45], [-0.2, 0.25], np.ones((2, 5)))
    comps.a = np.array([1.5, 0.4])
    grid = np.arange(48) - 24
    for patch, (dx, dy) in zip(render_patches(comps, 2, 48)[:, 3], [(0.3, -0.2), (-0.45, 0.25)], strict=True):
        assert abs((patch.sum(axis=0) * grid).sum() / patch.sum() - dx) < 0.03
        assert abs((patch.sum(axis=1) * grid).sum() / patch.sum() - dy) < 0.03


def test_artifacts_are_not_blurred():
    patch = render_patches(_points([2.4], [0.0], [[0, 0, 5.0, 0, 0]], sharp=True), 1, 32)[0]
    assert patch[2, 16, 18] > 4.9 and np.allclose(patch[[0, 1, 3, 4]], 0, atol=1e-5)


def test_eff_half_light_radius():
    eta, reff = np.array([1.8]), np.array([4.0])
    image = eff_images(eff_core_radius(reff, eta), eta, np.ones(1), np.zeros(1), 201)[0]
    grid = np.arange(201) - 100
    r = np.hypot(grid[None, :], grid[:, None])
    # The patch truncates the power-law wings, so the radius is a little smaller.
    half = np.interp(
        0.5, np.cumsum(np.bincount(r.astype(int).ravel(), image.ravel()))[:60], np.arange(60) + 0.5
    )
    assert 3.0 < half < 4.5


def test_noise_is_poisson_plus_read_noise():
    rng = np.random.default_rng(0)
    signal = np.full((400, 400), 0.5)
    noisy = add_noise(signal, "V", rng)
    t = EXPTIME_S["V"]
    assert abs(noisy.mean() - 0.5) < 0.002
    np.testing.assert_allclose(noisy.var(), 0.5 / t + READ_NOISE_E**2 / t**2, rtol=0.05)


def test_noise_in_place_in_blocks():
    rng = np.random.default_rng(1)
    image = np.full((700, 800), 0.5, np.float32)  # more pixels than one noise block
    noisy = add_noise(image, "V", rng, out=image)
    assert noisy is image
    t = EXPTIME_S["V"]
    np.testing.assert_allclose(image.var(), 0.5 / t + READ_NOISE_E**2 / t**2, rtol=0.05)
    # Consecutive blocks are independent draws, not one block repeated.
    block = image.reshape(-1)[: 1 << 18]
    assert not np.array_equal(block, image.reshape(-1)[1 << 18 : 2 << 18])
    with pytest.raises(ValueError):
        add_noise(image, "V", rng, out=np.empty((800, 700), np.float32).T)


def _second_moments(image):
    grid = np.arange(image.shape[-1]) - image.shape[-1] // 2
    w = np.clip(image, 0, None)
    xx = (w * grid[None, :] ** 2).sum() / w.sum()
    yy = (w * grid[:, None] ** 2).sum() / w.sum()
    xy = (w * grid[None, :] * grid[:, None]).sum() / w.sum()
    eig = np.linalg.eigvalsh([[xx, xy], [xy, yy]])
    return eig.sum(), eig[0] / eig[1]


def test_classes_differ_in_shape_and_colour():
    rng = np.random.default_rng(3)
    truth = np.repeat([1, 2, 3, 4], 40)
    candidates = draw_candidates(truth, 4.0, rng)
    patches = render_patches(candidates.components, len(truth), 48)
    # Class 4 artifacts may have no V light at all: shapes of clusters only.
    clusters = truth < 4
    size, roundness = np.array([_second_moments(p[BANDS.index("V")]) for p in patches[clusters]]).T
    truth_c = truth[clusters]
    assert np.median(roundness[truth_c == 1]) > np.median(roundness[truth_c == 2]) + 0.1
    # Associations spread their light wider than clusters: a larger concentration index.
    mosaic, origins = tile_patches(patches[clusters][:, [BANDS.index("V")]])
    f1, f3 = aperture_fluxes(mosaic[0], origins + 24, (1.0, 3.0)).T
    ci = 2.5 * np.log10(f3 / f1)
    assert np.median(ci[truth_c == 3]) > np.median(ci[truth_c == 1]) + 0.1
    nuv_v = candidates.mag[:, 0] - candidates.mag[:, 3]
    assert np.mean(nuv_v[truth == 3]) < np.mean(nuv_v[truth == 1]) - 0.5  # associations are young, blue
    assert set(candidates.kind[truth == 4]) <= {"star", "asterism", "galaxy", "hot_pixel", "cosmic_ray"}


def test_pixel_scale_at_ngc1313():
    assert abs(pc_per_pixel(4.39) - 0.85) < 0.01  # the paper's Table 6


def test_background_has_arms_and_reddening_dust():
    host = GalaxyBackground.random(2000, np.random.default_rng(5))
    angle = np.linspace(0, 2 * np.pi, 720)
    radius = 0.5 * host.scale_px
    x, y = host.x0 + radius * np.cos(angle), host.y0 + radius * np.sin(angle)
    light = host.evaluate(x, y)
    v, nuv = light[BANDS.index("V")], light[BANDS.index("NUV")]
    assert v.max() > 1.5 * v.min()  # arms against inter-arm disk on one circle
    disk, arm, dust = host.components(x, y)
    lane = dust > 0.3
    assert lane.any() and np.all(light[:, lane] > 0)
    # Young arm light is blue: NUV/V highest where the arms are.
    assert np.corrcoef(nuv / v, arm)[0, 1] > 0.3


def test_extended_sources_equal_a_direct_fine_grid_convolution():
    # The renderer sums the fine grid into pixels in Fourier space; the same
    # image comes from blurring the fine grid directly and summing 3x3 blocks.
    from scipy.signal import fftconvolve

    from starcnet_core.sim.psf import SUPERSAMPLE, fine_kernels

    s = SUPERSAMPLE
    comps = Components(
        np.zeros(1, np.int64),
        np.array([0.37]),
        np.array([-0.21]),
        np.ones((1, 5)),
        np.array([1.2]),
        np.array([1.8]),
        np.array([0.6]),
        np.array([0.4]),
        np.zeros(1, bool),
    )
    size, half = 48, fine_kernels().shape[-1] // (2 * s)
    patch = render_patches(comps, 1, size)[0]
    inner, margin = 2 * half, (size - 2 * half) // 2
    core = eff_images(comps.a, comps.eta, comps.q, comps.theta, inner, comps.dx, comps.dy, s, normalise=False)[0]
    wing = eff_images(comps.a, comps.eta, comps.q, comps.theta, size, comps.dx, comps.dy, normalise=False)[0]
    wing[margin : margin + inner, margin : margin + inner] = 0
    total = core.sum() / s**2 + wing.sum()
    for b in range(5):
        fine = fftconvolve(core / (s**2 * total), fine_kernels()[b])  # covers the patch exactly
        pixels = fine.reshape(size, s, size, s).sum(axis=(1, 3)) + wing / total
        np.testing.assert_allclose(patch[b], pixels, atol=2e-6 * pixels.max())


def test_psf_width_varies_smoothly_across_a_field_within_the_calibrated_scatter():
    from starcnet_core.sim.calibration import ACS_PSF_SCALE, PSF_WIDTH_SCATTER
    from starcnet_core.sim.population import ACS_FILTERS
    from starcnet_core.sim.psf import PSF_STEP, nominal_fwhm, psf_field, psf_widths

    assert 0.0 < PSF_WIDTH_SCATTER <= 0.15 and 1.0 <= ACS_PSF_SCALE <= 1.3
    rng = np.random.default_rng(3)
    size = 4000
    x, y = rng.uniform(0, size, (2, 20000))
    # Over many fields, a position's deviate is standard normal; within one it changes slowly.
    z = np.concatenate([psf_field(size, rng)(x[:500], y[:500]) for _ in range(40)])
    assert abs(z.mean()) < 0.15 and 0.8 < z.std() < 1.2
    field = psf_field(size, rng)
    widths = psf_widths(field(x, y))
    factor = widths / nominal_fwhm()
    np.testing.assert_allclose(factor, factor[:, :1] * np.ones((1, 5)), rtol=1e-3)  # every band together
    assert factor.min() < 1.0 < factor.max()
    assert np.all(np.abs(np.log(factor)) <= 5 * PSF_WIDTH_SCATTER + PSF_STEP)
    steps = np.log(factor[:, 0]) / PSF_STEP
    np.testing.assert_allclose(steps, np.round(steps), atol=0.01)  # shared tables
    near = psf_widths(field(x[:200] + 5.0, y[:200]))
    assert np.all(np.abs(np.log(near[:, 0] / widths[:200, 0])) <= 1.01 * PSF_STEP)
    # ACS/WFC B, V, I are wider by the calibrated factor; WFC3 UV/U unchanged.
    acs = nominal_fwhm(ACS_FILTERS) / nominal_fwhm()
    np.testing.assert_allclose(acs, [1.0, 1.0, ACS_PSF_SCALE, ACS_PSF_SCALE, ACS_PSF_SCALE])


def test_a_wider_psf_gives_a_star_a_higher_ci_and_renders_per_patch():
    from starcnet_core.sim.psf import nominal_fwhm

    nominal = nominal_fwhm()
    psf = np.stack([nominal * f for f in (0.9, 1.0, 1.1, 1.2)])
    flux = np.tile(np.eye(5)[[3]] * 100.0, (4, 1))
    patches = render_patches(_points([0.0] * 4, [0.0] * 4, flux), 4, 48, psf)
    mosaic, origins = tile_patches(patches[:, [3]].astype(float))
    sums = aperture_fluxes(mosaic[0], origins + 24.0, (1.0, 3.0))
    ci = 2.5 * np.log10(sums[:, 1] / sums[:, 0])
    assert np.all(np.diff(ci) > 0.03)
    # The nominal row is exactly the default render; every row as if rendered alone.
    default = render_patches(_points([0.0], [0.0], flux[:1]), 1, 48)
    np.testing.assert_array_equal(patches[1], default[0])
    alone = render_patches(_points([0.0], [0.0], flux[:1]), 1, 48, psf[3:])
    np.testing.assert_array_equal(patches[3], alone[0])
    assert np.all(patches >= 0)
