"""Stretches, the paper's RGB mix and the downsampled field image."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.display import (
    STRETCHES,
    check_percentile,
    compass,
    display_scales,
    field_image,
    grey_stamps,
    rgb_composite,
    sky_up,
    stretch_image,
    to_uint8,
)
from starcnet_core.io.bands import ACS_DISPLAY_SCALE, BANDS
from starcnet_core.io.mosaics import open_mosaics
from starcnet_core.overlay import field_rgb
from tests.legus_testing import tiny_wcs, write_mosaics


def _gaussian(size: int = 32, peak: float = 10.0) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    return (peak * np.exp(-(xx**2 + yy**2) / (2 * 2.0**2))).astype(np.float32)


@pytest.mark.parametrize("name", STRETCHES)
def test_stretch_maps_into_unit_range_and_keeps_order(name: str) -> None:
    image = _gaussian() + 0.01 * np.random.default_rng(0).standard_normal((32, 32)).astype(np.float32)
    out = stretch_image(image, name, percentile=100.0)
    assert out.shape == image.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    centre, corner = out[16, 16], out[0, 0]
    assert centre > corner


def test_asinh_and_log_lift_faint_pixels_above_linear() -> None:
    image = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    linear = stretch_image(image, "linear", limits=(0.0, 1.0))
    assert np.allclose(linear, image, atol=1e-6)
    for name in ("asinh", "log"):
        assert stretch_image(image, name, limits=(0.0, 1.0))[5] > linear[5] + 0.05


def test_nan_and_flat_images_do_not_break() -> None:
    flat = np.full((8, 8), 3.0, dtype=np.float32)
    flat[0, 0] = np.nan
    out = stretch_image(flat, "asinh")
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="unknown stretch"):
        stretch_image(flat, "sqrtish")


def test_lower_and_upper_percentiles_set_black_and_white() -> None:
    image = np.arange(101, dtype=np.float32)  # value v is the v-th percentile
    out = stretch_image(image, "linear", percentile=(10.0, 60.0))
    assert out[10] == 0.0 and out[60] == 1.0
    assert out[35] == pytest.approx(0.5, abs=1e-6)
    assert (out[:10] == 0.0).all() and (out[60:] == 1.0).all()
    # a central percentage is the symmetric pair
    np.testing.assert_allclose(
        stretch_image(image, "asinh", percentile=80.0), stretch_image(image, "asinh", percentile=(10.0, 90.0))
    )
    np.testing.assert_array_equal(stretch_image(image, "linear", percentile=(0.0, 100.0)), image / 100.0)
    # zscale chooses its own limits
    np.testing.assert_array_equal(
        stretch_image(image, "zscale", percentile=(10.0, 60.0)),
        stretch_image(image, "zscale", percentile=(0.0, 100.0)),
    )
    for bad in ((60.0, 10.0), (-1.0, 50.0), (5.0, 100.5), 0.0):
        with pytest.raises(ValueError):
            check_percentile(bad)


def test_display_range_reaches_composite_and_band_stamps() -> None:
    stamp = np.stack([_gaussian(peak=p) for p in (1, 2, 3, 4, 5)])
    wide = grey_stamps(stamp, "linear", percentile=(0.0, 100.0))
    tight = grey_stamps(stamp, "linear", percentile=(0.0, 50.0))
    assert (tight >= wide).all() and (tight == 255).sum() > 10 * (wide == 255).sum()
    assert (
        rgb_composite(stamp, "linear", percentile=(0.0, 50.0))
        >= rgb_composite(stamp, "linear", percentile=100.0)
    ).all()


def test_to_uint8_rounds_and_clips() -> None:
    assert to_uint8(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])).tolist() == [0, 0, 128, 255, 255]


def test_rgb_composite_uses_the_paper_mix() -> None:
    stamp = np.zeros((5, 16, 16), dtype=np.float32)
    stamp[BANDS.index("I"), 8, 8] = 5.0  # only I: red only
    stamp[BANDS.index("NUV"), 2, 2] = 1.0  # only NUV: blue only (weight 21.63 / 2)
    rgb = rgb_composite(stamp, "linear", percentile=100.0)
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    red, green, blue = rgb[8, 8]
    assert red > 0 and green == 0 and blue == 0
    red, green, blue = rgb[2, 2]
    assert blue == 255 and red == 0 and green == 0  # 10.8 > 2.5: NUV pixel sets the top


def test_grey_stamps_per_band() -> None:
    stamp = np.stack([_gaussian(peak=p) for p in (1, 2, 3, 4, 5)])
    grey = grey_stamps(stamp, "linear", percentile=100.0)
    assert grey.shape == (5, 32, 32) and grey.dtype == np.uint8
    # each band on its own limits: every peak is white
    assert (grey.reshape(5, -1).max(axis=1) == 255).all()


def test_field_image_downsamples_and_reports_factor() -> None:
    arrays = [np.zeros((300, 500), dtype=np.float32) for _ in BANDS]
    arrays[BANDS.index("V")][100:110, 200:210] = 50.0
    arrays[BANDS.index("B")][0, 0] = np.nan
    image, factor = field_image(arrays, max_side=100, stretch="linear")
    assert factor == 5
    assert image.shape == (60, 100, 3)
    row, col = np.unravel_index(np.argmax(image[..., 0]), image.shape[:2])
    assert (row, col) == (100 // factor, 200 // factor) or (row, col) == (101 // factor, 201 // factor)


def test_browser_composite_and_overlay_share_one_mix_on_an_acs_field(tmp_path) -> None:
    paths = write_mosaics(tmp_path, shape=(40, 40), acs=True, seed=3)
    mosaics = open_mosaics([paths[b] for b in BANDS])
    filters = {b: m.filter for b, m in mosaics.bands.items()}
    instruments = {b: m.instrument for b, m in mosaics.bands.items()}
    scales = display_scales(filters, instruments)
    assert scales == {"B": ACS_DISPLAY_SCALE["F435W"], "V": ACS_DISPLAY_SCALE["F606W"], "I": 0.471}
    # the sky is about 1 e-/s: brighten a little so that channels are neither black nor clipped
    stamp = np.stack(mosaics.arrays()) * np.float32(0.05)
    for band in BANDS:
        mosaics.bands[band].data = mosaics.bands[band].data * np.float32(0.05)
    overlay, step = field_rgb(mosaics)
    browser = rgb_composite(stamp, "linear", limits=(0.0, 1.0), scales=scales)
    assert step == 1
    assert np.abs(browser.astype(int) - to_uint8(overlay).astype(int)).max() <= 1
    # the ACS factors matter: without them red (V, I) and green (B) come out brighter
    unscaled = rgb_composite(stamp, "linear", limits=(0.0, 1.0))
    assert (unscaled[..., 0].astype(int) - browser[..., 0]).mean() > 5
    assert (unscaled[..., 2] == browser[..., 2]).all()  # WFC3 NUV and U are not rescaled


def test_wfc3_field_is_not_rescaled() -> None:
    assert display_scales({"V": "F555W", "I": "F814W"}, {"V": "WFC3", "I": "WFC3"}) == {}


def test_sky_up_puts_the_last_row_on_top() -> None:
    image = np.arange(6).reshape(3, 2)
    assert sky_up(image)[0].tolist() == [4, 5] and sky_up(image)[-1].tolist() == [0, 1]


def test_compass_follows_the_wcs() -> None:
    wcs = tiny_wcs((100, 100))  # RA increases to the left (cdelt1 < 0), Dec upwards
    north, east = compass(wcs, 50.0, 50.0)
    assert north[1] > 0.99 and abs(north[0]) < 0.01
    assert east[0] < -0.99 and abs(east[1]) < 0.01
    wcs.wcs.pc = [[0.0, -1.0], [1.0, 0.0]]  # rotated by 90 degrees
    north, east = compass(wcs, 50.0, 50.0)
    assert abs(north[1]) < 0.01 and abs(north[0]) > 0.99
    assert compass(None, 1.0, 1.0) is None
