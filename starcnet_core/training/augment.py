"""Training-set augmentation of StarcNet: balancing by reflections, rotations, 1.07x scaling.

As in Pérez et al. (2021, section 4.2 and Table 2c): the training set is first
balanced by adding horizontal, vertical and double reflections of the
under-represented classes; then every balanced sample also enters rotated by
90 and 270 degrees (180 degrees equals the double reflection), and every one
of those enters a second time magnified 1.07x about its centre ("scaling and
rotations (x6)"; half of the samples, the paper's 50% probability, are scaled).
From Table 1's training counts this gives 4 x 4,956 x 3 x 2 = 118,944 samples
per epoch, the paper's "~115,000 sources".

An :class:`AugmentationPlan` lists, per augmented sample, the index of the
source stamp, its reflection, its rotation and whether it is scaled, so that
a training set ten times larger than the stamps never has to be held in
memory: :func:`apply_plan` builds a batch from the plan on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "REFLECTIONS",
    "ROTATIONS",
    "ZOOM",
    "AugmentationPlan",
    "balanced_plan",
    "identity_plan",
    "apply_plan",
    "transform_stamps",
    "zoom_stamps",
]

#: Reflection codes: 0 none, 1 left-right, 2 up-down, 3 both (= 180 degree rotation).
REFLECTIONS: tuple[int, ...] = (0, 1, 2, 3)
#: Quarter turns added after balancing (90 and 270 degrees; 180 is reflection 3).
ROTATIONS: tuple[int, ...] = (0, 1, 3)
#: Magnification of the scaling augmentation (each balanced, rotated sample also enters scaled).
ZOOM: float = 1.07


@dataclass(frozen=True)
class AugmentationPlan:
    """One row per augmented sample.

    Attributes
    ----------
    source : numpy.ndarray
        Index of the stamp each sample is made from.
    reflection : numpy.ndarray
        Reflection code (see :data:`REFLECTIONS`).
    rotation : numpy.ndarray
        Counter-clockwise quarter turns.
    zoom : numpy.ndarray
        True where the sample is magnified by :data:`ZOOM` about its centre.
    """

    source: np.ndarray
    reflection: np.ndarray
    rotation: np.ndarray
    zoom: np.ndarray

    def __len__(self) -> int:
        return len(self.source)

    def take(self, rows: np.ndarray) -> AugmentationPlan:
        """The plan restricted to ``rows`` (e.g. a shuffled batch or one process's shard)."""
        return AugmentationPlan(
            self.source[rows], self.reflection[rows], self.rotation[rows], self.zoom[rows]
        )


def identity_plan(indices: np.ndarray) -> AugmentationPlan:
    """Each stamp of ``indices`` once, untransformed (validation, or augmentation switched off)."""
    indices = np.asarray(indices, dtype=np.int64)
    zeros = np.zeros(len(indices), dtype=np.int64)
    return AugmentationPlan(indices, zeros, zeros.copy(), np.zeros(len(indices), dtype=bool))


def balanced_plan(
    indices: np.ndarray, labels: np.ndarray, rotations: bool = True, scaling: bool = True
) -> AugmentationPlan:
    """Balance classes with reflections, then add the 90/270 degree rotations and the scaled copies.

    Every class is filled up to the size of the largest one: the originals
    first, then their left-right, up-down and double reflections in turn, and
    (for a class more than four times smaller than the largest) the cycle again.

    Parameters
    ----------
    indices : numpy.ndarray
        Stamp indices of the training set.
    labels : numpy.ndarray
        Their classes (any integers), same length.
    rotations : bool
        Add the rotated copies (tripling the set) after balancing.
    scaling : bool
        Add a 1.07x magnified copy of every sample (doubling the set), last.

    Returns
    -------
    AugmentationPlan
        Deterministic: ordered by class, then reflection round; shuffle it per epoch.
    """
    indices = np.asarray(indices, dtype=np.int64)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    target = int(counts.max()) if len(counts) else 0
    sources, reflections = [], []
    for value in classes:
        members = indices[labels == value]
        repeat = np.arange(target)
        sources.append(members[repeat % len(members)])
        reflections.append(np.asarray(REFLECTIONS)[(repeat // len(members)) % len(REFLECTIONS)])
    source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
    reflection = np.concatenate(reflections) if reflections else np.zeros(0, dtype=np.int64)
    turns = ROTATIONS if rotations else (0,)
    source = np.tile(source, len(turns))
    reflection = np.tile(reflection, len(turns))
    rotation = np.repeat(np.asarray(turns, dtype=np.int64), len(source) // len(turns))
    copies = 2 if scaling else 1
    return AugmentationPlan(
        np.tile(source, copies),
        np.tile(reflection, copies),
        np.tile(rotation, copies),
        np.repeat(np.arange(copies) == 1, len(source)),
    )


def transform_stamps(stamps: torch.Tensor, reflection: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """Reflect and rotate each stamp of a ``(B, bands, S, S)`` batch by its own codes."""
    out = stamps.clone()
    for code, dims in ((1, (-1,)), (2, (-2,)), (3, (-2, -1))):
        chosen = reflection == code
        if chosen.any():
            out[chosen] = torch.flip(out[chosen], dims)
    for turns in (1, 2, 3):
        chosen = rotation == turns
        if chosen.any():
            out[chosen] = torch.rot90(out[chosen], turns, dims=(-2, -1))
    return out


def zoom_stamps(stamps: torch.Tensor, factor: float = ZOOM) -> torch.Tensor:
    """Magnify a ``(B, bands, S, S)`` batch by exactly ``factor`` about the centre, keeping S x S.

    Each output pixel samples the input bilinearly at ``centre + offset / factor``
    (not a resize to a whole number of pixels, which would give 34/32 = 1.0625x).
    """
    if factor == 1 or not len(stamps):
        return stamps
    theta = torch.zeros(len(stamps), 2, 3, dtype=stamps.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / factor
    grid = F.affine_grid(theta, list(stamps.shape), align_corners=False)
    return F.grid_sample(stamps, grid, mode="bilinear", padding_mode="border", align_corners=False)


def apply_plan(stamps: np.ndarray, plan: AugmentationPlan) -> torch.Tensor:
    """The batch a plan describes: reflected, rotated and, where the plan says, scaled 1.07x.

    Parameters
    ----------
    stamps : numpy.ndarray
        All stamps ``(N, bands, S, S)`` (may be memory-mapped), already normalised or not.
    plan : AugmentationPlan
        The rows of this batch.

    Returns
    -------
    torch.Tensor
        ``(len(plan), bands, S, S)`` float32.
    """
    # sorted reads are much faster on a memory-mapped file; the order is restored after
    order = np.argsort(plan.source, kind="stable")
    batch = np.empty((len(plan),) + stamps.shape[1:], dtype=np.float32)
    batch[order] = stamps[plan.source[order]]
    out = transform_stamps(
        torch.from_numpy(batch), torch.from_numpy(plan.reflection), torch.from_numpy(plan.rotation)
    )
    chosen = torch.from_numpy(plan.zoom)
    if chosen.any():
        out[chosen] = zoom_stamps(out[chosen])
    return out
