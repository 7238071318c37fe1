"""Balancing by reflections, rotations and the 1.07x scaled copies of the training set."""

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


def test_balanced_plan_equalises_classes_with_reflections_then_adds_rotations_and_scaling():
    indices = np.arange(10, 20)
    labels = np.array([0] * 7 + [1] * 2 + [2])
    plan = balanced_plan(indices, labels)
    counts = np.bincount(labels[plan.source - 10])
    assert counts.tolist() == [42, 42, 42]  # 7 per class, times 3 rotations, times 2 scalings
    assert sorted(set(plan.rotation.tolist())) == [0, 1, 3]
    # every (reflection, rotation) sample enters once unscaled and once scaled
    assert plan.zoom.mean() == 0.5
    plain = ~plan.zoom
    for field in ("source", "reflection", "rotation"):
        np.testing.assert_array_equal(getattr(plan, field)[plain], getattr(plan, field)[plan.zoom])
    # the single class-2 stamp cycles through the four reflections: 0, 1, 2, 3, 0, 1, 2
    one = (plan.source == 19) & (plan.rotation == 0) & plain
    assert sorted(plan.reflection[one].tolist()) == [0, 0, 1, 1, 2, 2, 3]
    # the majority class is never reflected
    assert set(plan.reflection[labels[plan.source - 10] == 0].tolist()) == {0}
    assert len(balanced_plan(indices, labels, rotations=False, scaling=False)) == 21
    assert len(balanced_plan(indices, labels, scaling=False)) == 63


def test_an_epoch_of_table_1_counts_is_the_papers_115000_samples():
    counts = {1: 1765, 2: 2225, 3: 2192, 4: 4956}  # Table 1, training set
    labels = np.repeat(list(counts), list(counts.values()))
    plan = balanced_plan(np.arange(len(labels)), labels)
    assert len(plan) == 4 * 4956 * 3 * 2 == 118_944


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
    # away from the border every pixel samples the ramp at offset / 1.07 exactly
    slope = np.polyfit(np.arange(4, 28), zoomed[0, 0, 0, 4:28], 1)[0]
    assert ZOOM == 1.07
    np.testing.assert_allclose(slope, 1 / 1.07, rtol=1e-4)
    np.testing.assert_allclose(zoomed[0, 0, 0, 15] + zoomed[0, 0, 0, 16], 0, atol=1e-5)


def test_apply_plan_keeps_plan_order_and_scales_the_rows_the_plan_marks():
    stamps = np.random.default_rng(0).normal(size=(6, 5, 32, 32)).astype(np.float32)
    plan = identity_plan(np.array([5, 0, 3, 3]))
    batch = apply_plan(stamps, plan)
    np.testing.assert_array_equal(batch.numpy(), stamps[[5, 0, 3, 3]])
    marked = balanced_plan(np.array([2, 4]), np.array([1, 1]), rotations=False)
    out = apply_plan(stamps, marked)
    np.testing.assert_array_equal(out[~torch.from_numpy(marked.zoom)].numpy(), stamps[[2, 4]])
    expected = zoom_stamps(torch.from_numpy(stamps[[2, 4]]))
    torch.testing.assert_close(out[torch.from_numpy(marked.zoom)], expected)
