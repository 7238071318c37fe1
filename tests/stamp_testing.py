"""Tiny labelled stamp sets for the training, evaluation and baseline tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from astropy.table import Table

from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.model import StarcNetConfig

#: A network small enough to train in well under a second per epoch on a busy CPU.
TINY = StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2, dropout=0.0)


def tiny_stampset(
    n: int = 48, seed: int = 0, galaxies: tuple[str, ...] = ("ngc1", "ngc2", "ngc3")
) -> StampSet:
    """``n`` noisy 32x32x5 stamps whose central brightness and size encode the class 1-4."""
    rng = np.random.default_rng(seed)
    labels = np.resize(np.array([1, 1, 1, 2, 2, 3, 4, 4]), n)
    rng.shuffle(labels)
    yy, xx = np.mgrid[:32, :32] - 15.5
    stamps = rng.normal(0, 0.05, (n, 5, 32, 32)).astype(np.float32)
    for i, label in enumerate(labels):
        width = 1.0 + label
        stamps[i] += (5.0 - label) * np.exp(-(xx**2 + yy**2) / (2 * width**2))
    table = Table(
        {
            "galaxy": np.array(galaxies)[np.arange(n) % len(galaxies)],
            "id": np.arange(1, n + 1),
            "distance_mpc": 3.0 + 2.0 * (np.arange(n) % len(galaxies)),
            "label": labels,
            "label_mean": labels + rng.choice([0.0, 0.0, 1.0], n),
            "true_class": labels,
        }
    )
    return StampSet(stamps, table)


@pytest.fixture
def one_thread():
    """Tiny networks run several times faster on one thread: intra-op threads only add synchronisation."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
