"""The uneven light of a host galaxy: disk, spiral arms, dust lanes, clumps.

:class:`GalaxyBackground` is an analytic surface brightness (e-/s per pixel,
per band) that can be evaluated at any pixel coordinates; :meth:`~GalaxyBackground.render`
draws it over a whole mosaic (galaxy mode) or over candidates' local patches
(survey mode) the same way, on a coarse grid and exactly near the centre, so
both modes see the same background. Components: an exponential
old-star disk (red), two logarithmic spiral arms of young stars (blue), dust
lanes on the arms' leading edges that dim blue light most (extinction
~ 1/wavelength), and star-forming clumps, plus the sky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import SKY_E_S

__all__ = ["COARSE_STEP", "GalaxyBackground", "interpolate_coarse"]


# Relative disk and arm light per band (e-/s, V = 1), and extinction per unit
# dust optical depth (A_lambda / A_V for a Milky-Way law at 275-814 nm).
_DISK_COLOUR = np.array([0.03, 0.08, 0.45, 1.0, 1.1])
_ARM_COLOUR = np.array([0.35, 0.45, 0.8, 1.0, 0.7])
_EXTINCTION = np.array([2.0, 1.6, 1.3, 1.0, 0.6])
# Star-forming clumps in a 4000x4000 field.
_N_CLUMPS = 400
#: Side of the grid the background is evaluated on before interpolation, pixels: the disk, arms
#: and clumps vary over tens of pixels (:meth:`GalaxyBackground.render`).
COARSE_STEP = 8
# Largest change of the arm phase from one grid node to the next that the interpolation may see,
# radians. The dust lanes (cos^16 of the phase) are the sharpest pattern: at this step the
# interpolated arms and lanes are off by at most 3.4-4.1% of the galaxy's light (clumps aside;
# four 1200 px galaxies), at twice the step by 19-23%, and further in, where the spiral winds
# faster, by up to 4x.
_MAX_PHASE_STEP = 0.125


@dataclass
class GalaxyBackground:
    """A face-on disk galaxy centred at (x0, y0), 0-based pixels.

    Attributes
    ----------
    x0, y0 : float
        Centre, pixels.
    scale_px : float
        Disk exponential scale length, pixels.
    disk_v : float
        Central disk surface brightness in V, e-/s per pixel.
    pitch : float
        Spiral pitch angle, radians.
    phase : float
        Arm phase, radians.
    clumps : numpy.ndarray
        ``(n, 4)`` clump x, y, radius (pixels) and V peak (e-/s per pixel).
    """

    x0: float
    y0: float
    scale_px: float
    disk_v: float
    pitch: float
    phase: float
    clumps: np.ndarray

    @classmethod
    def random(cls, size: int, rng: np.random.Generator) -> GalaxyBackground:
        """A galaxy filling a ``size`` x ``size`` field, parameters drawn from ``rng``."""
        centre = size / 2.0 + rng.normal(0, size / 20, 2)
        # As many clumps per unit area at every field size.
        n_clumps = max(8, int(_N_CLUMPS * (size / 4000) ** 2))
        radius = np.sqrt(rng.uniform(0, 1, n_clumps)) * size * 0.6
        angle = rng.uniform(0, 2 * np.pi, n_clumps)
        clumps = np.column_stack(
            [
                centre[0] + radius * np.cos(angle),
                centre[1] + radius * np.sin(angle),
                rng.uniform(8.0, 40.0, n_clumps) * size / 4000 + 4.0,
                rng.uniform(0.05, 0.4, n_clumps),
            ]
        )
        return cls(
            x0=float(centre[0]),
            y0=float(centre[1]),
            scale_px=size * rng.uniform(0.25, 0.4),
            disk_v=rng.uniform(0.3, 0.8),
            pitch=np.deg2rad(rng.uniform(12, 25)),
            phase=rng.uniform(0, 2 * np.pi),
            clumps=clumps,
        )

    def components(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Disk (V, e-/s/px), arm strength (0-1) and dust optical depth in V at pixel coordinates."""
        dx, dy = x - self.x0, y - self.y0
        r = np.hypot(dx, dy) + 1.0
        disk = self.disk_v * np.exp(-r / self.scale_px)
        # Logarithmic spiral: phase of the arm pattern at (r, angle).
        wind = 2.0 * (np.arctan2(dy, dx) - np.log(r / self.scale_px) / np.tan(self.pitch) - self.phase)
        arm = np.cos(wind) ** 8
        dust = 0.8 * np.cos(wind - 0.5) ** 16 * np.exp(-r / (2.0 * self.scale_px))
        return disk, arm, dust

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Surface brightness per band at pixel coordinates: shape ``(n_bands, *x.shape)``, e-/s per pixel."""
        disk, arm, dust = self.components(x, y)
        # Clumps are evaluated only on the blocks (rows of an image, or
        # patches of a stack of patches) that come within 4 radii of them.
        bx = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)
        by = y.reshape(bx.shape)
        clump = np.zeros(bx.shape)
        lo_x, hi_x, lo_y, hi_y = bx.min(axis=1), bx.max(axis=1), by.min(axis=1), by.max(axis=1)
        for cx, cy, cr, peak in self.clumps:
            reach = 4.0 * cr
            near = np.flatnonzero(
                (hi_x > cx - reach) & (lo_x < cx + reach) & (hi_y > cy - reach) & (lo_y < cy + reach)
            )
            if len(near):
                clump[near] += peak * np.exp(-((bx[near] - cx) ** 2 + (by[near] - cy) ** 2) / (2 * cr**2))
        clump = clump.reshape(disk.shape)
        # Young stars trace the arms (brighter where the disk is) and the clumps.
        young = 0.8 * arm * disk + clump
        shape = (-1,) + (1,) * disk.ndim
        sky = np.array([SKY_E_S[b] for b in BANDS]).reshape(shape)
        light = disk[None] * _DISK_COLOUR.reshape(shape) + young[None] * _ARM_COLOUR.reshape(shape)
        # Dust optical depth in V -> per band: A = 1.086 tau.
        return light * np.exp(-dust[None] * _EXTINCTION.reshape(shape)) + sky

    def fine_radius(self, step: float = COARSE_STEP) -> float:
        """Distance from the centre, pixels, inside which a grid of ``step`` pixels cannot follow the arms.

        The arm phase changes by ``2 sqrt(1 + cot^2 pitch) / r`` per pixel at radius r: the
        logarithmic spiral winds ever faster towards the centre.
        """
        return float(step * 2.0 * np.sqrt(1.0 + 1.0 / np.tan(self.pitch) ** 2) / _MAX_PHASE_STEP)

    def render(self, origins: np.ndarray, size: int, step: int = COARSE_STEP) -> np.ndarray:
        """Surface brightness of square fields, ``(N, n_bands, size, size)`` float32, e-/s per pixel.

        Field i's pixel (0, 0) lies at ``origins[i]`` (x, y) in the galaxy. The light is
        evaluated on a grid of ``step`` pixels and interpolated, and pixel by pixel within
        :meth:`fine_radius` of the centre, where the interpolation would draw the arms and
        dust lanes as blocks.
        """
        origins = np.asarray(origins, float).reshape(-1, 2)
        coarse = np.arange(0, size + step, step, dtype=float)
        n = len(coarse)
        gx = origins[:, 0, None, None] + coarse[None, None, :] + np.zeros((1, n, 1))
        gy = origins[:, 1, None, None] + coarse[None, :, None] + np.zeros((1, 1, n))
        # One field: its grid rows are the blocks the clumps are evaluated on (one per field otherwise).
        light = self.evaluate(gx[0], gy[0])[None] if len(origins) == 1 else np.moveaxis(self.evaluate(gx, gy), 0, 1)
        out = interpolate_coarse(light.reshape(-1, n, n), size, step).reshape(len(origins), -1, size, size)
        reach = self.fine_radius(step)
        centre = np.array([self.x0, self.y0])
        lo = np.clip(np.floor(centre - reach - origins).astype(np.int64), 0, size)
        hi = np.clip(np.ceil(centre + reach - origins).astype(np.int64) + 1, 0, size)
        for i in np.flatnonzero(np.all(hi > lo, axis=1)):
            x, y = np.meshgrid(origins[i, 0] + np.arange(lo[i, 0], hi[i, 0]), origins[i, 1] + np.arange(lo[i, 1], hi[i, 1]))
            out[i, :, lo[i, 1] : hi[i, 1], lo[i, 0] : hi[i, 0]] = self.evaluate(x, y)
        return out

    def star_density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Resolved field stars per pixel at pixel coordinates (crowding follows the light)."""
        disk, arm, _ = self.components(x, y)
        return 3e-4 + 2.5e-3 * disk * (1.0 + 2.0 * arm) / self.disk_v

    def sample_positions(
        self,
        n: int,
        size: int,
        rng: np.random.Generator,
        margin: float = 0.0,
        apart: float = 0.0,
        taken: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(n, 2)`` x, y (0-based pixels) of clusters: where the arms and disk are bright.

        Parameters
        ----------
        n : int
            Number of positions.
        size : int
            Field side, pixels; positions lie in ``[margin, size - margin)``.
        rng : numpy.random.Generator
        margin : float
            Distance kept from the field edges, pixels.
        apart : float
            Smallest distance between two positions, and from any of ``taken``, pixels
            (a detection finds one source where two lie closer); 0: independent positions.
        taken : array (M, 2), optional
            Positions already placed.
        """
        found = np.empty((0, 2)) if taken is None else np.asarray(taken, float).reshape(-1, 2)
        start = len(found)
        while len(found) < start + n:
            xy = rng.uniform(margin, size - margin, size=(4 * n + 16, 2))
            disk, arm, _ = self.components(xy[:, 0], xy[:, 1])
            # Star formation follows the gas: arms strongly, the disk weakly.
            weight = disk / self.disk_v * (0.15 + arm)
            xy = xy[rng.random(len(xy)) < weight / 1.15]
            found = np.concatenate([found, xy[_apart_from(xy, found, apart)]])
        return found[start : start + n]


def _apart_from(xy: np.ndarray, taken: np.ndarray, apart: float) -> np.ndarray:
    """Which of ``xy`` to keep: at least ``apart`` from every ``taken`` and from every earlier kept one."""
    keep = np.ones(len(xy), bool)
    if apart <= 0 or len(xy) == 0:
        return keep
    if len(taken):
        distance, _ = cKDTree(taken).query(xy, distance_upper_bound=apart)
        keep &= distance >= apart
    # Pairs (i, j) with i < j in order: keep[i] is final when (i, j) is reached.
    for i, j in sorted(cKDTree(xy).query_pairs(apart, output_type="ndarray").tolist()):
        if keep[i] and keep[j]:
            keep[j] = False
    return keep


def interpolate_coarse(coarse: np.ndarray, size: int, step: int) -> np.ndarray:
    """Bilinear interpolation of ``(B, n, n)`` samples at pixels 0, step, 2 step ... to ``(B, size, size)`` float32.

    Pixel p lies at p / step on the coarse grid, where the background was evaluated.
    """
    n = coarse.shape[-1]
    weight = (np.arange(step) / step).astype(np.float32)[None, :, None]
    out = np.empty((len(coarse), size, size), np.float32)
    rows_needed = -(-size // step)  # coarse intervals spanned by the image rows
    x = np.arange(size) / step
    i0 = np.minimum(np.floor(x).astype(np.int64), n - 2)
    w = (x - i0).astype(np.float32)
    exact = rows_needed * step == size
    for b, grid in enumerate(coarse.astype(np.float32)):
        # Along x: every coarse row at every pixel column.
        across = grid[:, i0] * (1 - w) + grid[:, i0 + 1] * w
        # Along y: the step rows between two coarse rows share their two neighbours.
        lower, upper = across[:rows_needed, None, :], across[1 : rows_needed + 1, None, :]
        if exact:
            # Written in place: an image-sized temporary less per band.
            rows = out[b].reshape(rows_needed, step, size)
            np.multiply(lower, 1 - weight, out=rows)
            rows += upper * weight
        else:
            out[b] = (lower * (1 - weight) + upper * weight).reshape(-1, size)[:size]
    return out
