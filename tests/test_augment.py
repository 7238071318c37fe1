"""Balancing by reflections, rotations and the 1.07x zoom of the training set."""

from __future__ import annotations

import numpy as np
import torch

from starcnet_core.training.augment import (
    ZOOM,
    apply_plan,
    balanced_plan,
    identity_plan,
    transform_stamps,
    zoom_stamps,
)


def test_balanced_plan_equalises_classes_with_reflections_then_adds_rotations():
    indices = np.arange(10, 20)
    labels = np.array([0] * 7 + [1] * 2 + [2])
    plan = balanced_plan(indices, labels)
    counts = np.bincount(labels[plan.source - 10])
    assert counts.tolist() == [21, 21, 21]  # 7 per class, times 3 rotations
    assert sorted(set(plan.rotation.tolist())) == [0, 1, 3]
    # the single class-2 stamp cycles through the four reflections: 0, 1, 2, 3, 0, 1, 2
    one = (plan.source == 19) & (plan.rotation == 0)
    assert sorted(plan.reflection[one].tolist()) == [0, 0, 1, 1, 2, 2, 3]
    # the majority class is never reflected
    assert set(plan.reflection[labels[plan.source - 10] == 0].tolist()) == {0}
    assert len(balanced_plan(indices, labels, rotations=False)) == 21


def test_transforms_match_numpy_reflections_and_rotations():
    stamps = torch.arange(2 * 5 * 4 * 4, dtype=torch.float32).reshape(2, 5, 4, 4)
    both = transform_stamps(stamps, torch.tensor([3, 0]), torch.tensor([0, 2]))
    # a double reflection is the 180 degree rotation, as the paper notes
    assert torch.equal(both[0], torch.rot90(stamps[0], 2, dims=(-2, -1)))
    assert torch.equal(both[1], torch.rot90(stamps[1], 2, dims=(-2, -1)))
    lr = transform_stamps(stamps, torch.tensor([1, 2]), torch.tensor([1, 0]))
    np.testing.assert_array_equal(lr[0].numpy(), np.rot90(stamps[0].numpy()[..., ::-1], 1, axes=(-2, -1)))
    np.testing.assert_array_equal(lr[1].numpy(), stamps[1].numpy()[..., ::-1, :])


def test_zoom_magnifies_about_the_centre():
    ramp = np.tile(np.arange(32, dtype=np.float32) - 15.5, (1, 1, 32, 1))
    zoomed = zoom_stamps(torch.from_numpy(ramp)).numpy()
    assert zoomed.shape == ramp.shape
    slope = np.polyfit(np.arange(32), zoomed[0, 0, 0], 1)[0]
    # 32 pixels resampled to round(32 * 1.07) = 34, so the scale is 32/34
    np.testing.assert_allclose(slope, 32 / round(32 * ZOOM[0]), rtol=1e-3)
    np.testing.assert_allclose(zoomed[0, 0, 0, 15] + zoomed[0, 0, 0, 16], 0, atol=1e-5)


def test_apply_plan_keeps_plan_order_and_zooms_about_half_the_batch():
    stamps = np.random.default_rng(0).normal(size=(6, 5, 32, 32)).astype(np.float32)
    plan = identity_plan(np.array([5, 0, 3, 3]))
    batch = apply_plan(stamps, plan)
    np.testing.assert_array_equal(batch.numpy(), stamps[[5, 0, 3, 3]])
    many = identity_plan(np.zeros(400, dtype=np.int64))
    zoomed = apply_plan(stamps, many, torch.Generator().manual_seed(1))
    changed = (zoomed != torch.from_numpy(stamps[:1])).flatten(1).any(1).float().mean()
    assert 0.4 < float(changed) < 0.6
