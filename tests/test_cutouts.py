"""Cutouts: the published centring convention, edge/NaN/zero-coverage reasons, memmaps."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from starcnet_core.errors import UserInputError
from starcnet_core.io.cutouts import ZERO_COVERAGE_FRACTION, extract_stamps, stamp_origins


def _images(shape=(100, 120), bands=5):
    rng = np.random.default_rng(1)
    return [1.0 + rng.random(shape).astype(np.float32) for _ in range(bands)]


def test_known_peak_lands_where_the_published_code_puts_it():
    images = _images()
    # A peak at array [row 40, col 57]; catalog x=57.6, y=40.2 (taken as given, truncated).
    for image in images:
        image[40, 57] = 100.0
    result = extract_stamps(images, [57.6], [40.2], size=32)
    assert result.usable.tolist() == [True]
    stamp = result.stamps[0, 3]
    assert np.unravel_index(np.argmax(stamp), stamp.shape) == (16, 16)
    # And the stamp is exactly the published slice.
    np.testing.assert_array_equal(result.stamps[0, 2], images[2][40 - 16 : 40 + 16, 57 - 16 : 57 + 16])


def test_origins_truncate_like_python_int():
    row0, col0 = stamp_origins(np.array([16.9, 100.0]), np.array([20.99, 16.0]), 32)
    assert row0.tolist() == [int(20.99) - 16, 0]
    assert col0.tolist() == [int(16.9) - 16, 100 - 16]


def test_every_row_returned_with_reasons():
    images = _images()
    images[1][70:80, 10:40] = np.nan
    images[4][5:30, 85:115] = 0.0  # no coverage in I
    x = np.array([60.0, 5.0, 110.0, 25.0, 100.0, np.nan, 60.0, 121.0, 60.0])
    y = np.array([50.0, 50.0, 50.0, 75.0, 17.0, 50.0, 84.0, 50.0, 0.4])
    result = extract_stamps(images, x, y, size=32)
    assert result.stamps.shape == (9, 5, 32, 32)
    assert result.stamps.dtype == np.float32
    reasons = ["", "edge", "edge", "nan", "zero_coverage", "outside", "", "outside", "outside"]
    assert result.reason.tolist() == reasons
    assert result.usable.tolist() == [r == "" for r in reasons]
    assert np.isnan(result.stamps[~result.usable]).all()
    assert np.isfinite(result.stamps[result.usable]).all()
    assert result.excluded_counts() == {"outside": 3, "edge": 2, "nan": 1, "zero_coverage": 1}
    # The last pixel centre (1-based 120) and its outer half are on the image.
    last = extract_stamps(images, [120.5, 120.6], [50.0, 50.0], size=32)
    assert last.reason.tolist() == ["edge", "outside"]


def test_stamp_touching_the_last_row_is_usable_and_one_past_is_edge():
    images = _images(shape=(64, 64))
    # int(y) + 16 == 64 touches the last row; 65 would overrun.
    result = extract_stamps(images, [32.0, 32.0, 16.0, 15.9], [48.0, 49.0, 32.0, 32.0], size=32)
    assert result.reason.tolist() == ["", "edge", "", "edge"]


def test_few_exact_zeros_are_not_zero_coverage():
    images = _images()
    n_zero = int(ZERO_COVERAGE_FRACTION * 32 * 32) - 1
    images[0][50 - 16 : 50 - 16 + 1, 60 - 16 : 60 - 16 + n_zero] = 0.0
    assert extract_stamps(images, [60.0], [50.0]).usable.tolist() == [True]


def test_reads_from_memory_mapped_fits(tmp_path):
    images = _images(shape=(80, 90))
    arrays = []
    for i, image in enumerate(images):
        path = tmp_path / f"b{i}.fits"
        fits.PrimaryHDU(image).writeto(path)
        arrays.append(fits.open(path, memmap=True)[0].data)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(17, 74, 600), rng.uniform(17, 64, 600)
    result = extract_stamps(arrays, x, y, size=16)
    assert result.usable.all()
    i = 123
    r, c = int(y[i]) - 8, int(x[i]) - 8
    np.testing.assert_array_equal(result.stamps[i, 4], images[4][r : r + 16, c : c + 16])


@pytest.mark.parametrize("size", [0, 7])
def test_odd_or_zero_size_is_refused(size):
    with pytest.raises(UserInputError, match="even"):
        extract_stamps(_images(), [50.0], [50.0], size=size)


def test_images_of_different_shapes_are_refused():
    images = _images()
    images[2] = images[2][:-1]
    with pytest.raises(UserInputError, match="one shape"):
        extract_stamps(images, [50.0], [50.0])


def test_image_smaller_than_a_stamp_gives_edge_for_all():
    result = extract_stamps(_images(shape=(20, 40)), [10.0, 20.0], [10.0, 10.0], size=32)
    assert result.reason.tolist() == ["edge", "edge"]
    assert np.isnan(result.stamps).all()
