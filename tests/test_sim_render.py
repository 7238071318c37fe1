"""Simulator physics: PSFs, EFF profiles, rendering, noise, per-class morphology and colours."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.background import GalaxyBackground
from starcnet_core.sim.calibration import EXPTIME_S, PSF_FWHM_PX, READ_NOISE_E, pc_per_pixel
from starcnet_core.sim.noise import add_noise
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
    np.testing.assert_allclose(patch.sum(axis=(1, 2)), flux[0], rtol=0.02)
    grid = np.arange(48) - 24
    v = patch[BANDS.index("V")]
    assert abs((v.sum(axis=0) * grid).sum() / v.sum() - 0.3) < 0.05
    assert abs((v.sum(axis=1) * grid).sum() / v.sum() + 0.2) < 0.05
    for b, band in enumerate(BANDS):
        # Half maximum crossing along the row through the peak (a point at 0 offset).
        row = render_patches(_points([0.0], [0.0], np.eye(5)[[b]]), 1, 48)[0, b, 24]
        above = np.flatnonzero(row >= row.max() / 2)
        width = above[-1] - above[0] + 1
        assert abs(width - PSF_FWHM_PX[band]) <= 1.0


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
    assert np.median(size[truth_c == 3]) > 2 * np.median(size[truth_c == 1])
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
