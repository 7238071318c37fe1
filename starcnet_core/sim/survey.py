"""Survey mode: a labelled stamp set like the paper's 15,471 LEGUS candidates.

For each galaxy of the paper's Table 6 (its distance and class counts), a
host background is drawn; each candidate is placed where clusters form,
rendered on its own local patch of that background with its crowding
neighbours, through the same code as galaxy mode
(:func:`starcnet_core.sim.render.render_patches`), given Poisson and read
noise, and cut to a stamp exactly as :func:`starcnet_core.io.cutouts.extract_stamps`
cuts a mosaic. Simulated experts vote on every candidate; the label is their
mode, the true class is kept beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from astropy.table import Table, vstack

from starcnet_core.io.bands import BANDS
from starcnet_core.io.cutouts import stamp_origins
from starcnet_core.io.stampset import StampSet
from starcnet_core.sim.annotators import simulate_votes
from starcnet_core.sim.background import GalaxyBackground
from starcnet_core.sim.calibration import SURVEY_GALAXIES
from starcnet_core.sim.noise import add_noise
from starcnet_core.sim.population import WFC3_FILTERS, band_zeropoints, draw_candidates, field_stars
from starcnet_core.sim.render import Components, render_patches
from starcnet_core.sim.scene import (
    PATCH_MARGIN,
    concentration_index,
    difficulty,
    filters_detected,
    observed_magnitudes,
)
from starcnet_core.sim.sed import MIN_FILTERS_FOR_SED, draw_sed

__all__ = ["LocalScenes", "render_local_scenes", "survey_counts", "simulate_survey"]

_FIELD_SIZE = 4000
_N_EXPERTS = 3


@dataclass
class LocalScenes:
    """Candidates rendered on local patches of their host.

    Attributes
    ----------
    stamps : float32 array (N, 5, S, S)
        Noisy stamps, e-/s, cut as from a mosaic at the catalog position.
    mag_obs, mag_err : arrays (N, 5)
        Catalog magnitudes and errors.
    ci : array (N,)
        Concentration index in V, mag.
    difficulty : array (N,)
        0-1, see :func:`starcnet_core.sim.scene.difficulty`.
    """

    stamps: np.ndarray
    mag_obs: np.ndarray
    mag_err: np.ndarray
    ci: np.ndarray
    difficulty: np.ndarray


def render_local_scenes(
    candidates,
    positions: np.ndarray,
    host: GalaxyBackground,
    distance_mpc: float,
    rng: np.random.Generator,
    stamp_size: int = 32,
) -> LocalScenes:
    """Render candidates, each on its own patch of the host around its position.

    Parameters
    ----------
    candidates : starcnet_core.sim.population.Candidates
        Components with ``patch`` = candidate index.
    positions : array (N, 2)
        0-based x, y of each candidate in the host, pixels.
    host : GalaxyBackground
    distance_mpc : float
    rng : numpy.random.Generator
    stamp_size : int
        Stamp side, pixels.
    """
    n = len(positions)
    size = stamp_size + 2 * PATCH_MARGIN
    centre = size // 2
    base = np.floor(positions).astype(np.int64)
    frac = positions - base
    own = candidates.components
    own = Components(**{**own.__dict__, "dx": own.dx + frac[own.patch, 0], "dy": own.dy + frac[own.patch, 1]})
    grid = np.arange(size) - centre
    gx = base[:, 0, None, None] + grid[None, None, :] + np.zeros((1, size, 1))
    gy = base[:, 1, None, None] + grid[None, :, None] + np.zeros((1, 1, size))
    background = np.moveaxis(host.evaluate(gx, gy), 0, 1)
    # Crowding neighbours: Poisson numbers from the local stellar density.
    density = host.star_density(positions[:, 0], positions[:, 1])
    n_stars = rng.poisson(density * size * size)
    owner = np.repeat(np.arange(n), n_stars)
    stars = field_stars(
        owner,
        rng.uniform(-centre, size - centre, len(owner)),
        rng.uniform(-centre, size - centre, len(owner)),
        distance_mpc,
        rng,
    )
    source = render_patches(own, n, size)
    scene = background + source + render_patches(stars, n, size)
    # Catalog position in patch coordinates, 1-based, cut as a mosaic is cut.
    x_cat, y_cat = centre + frac[:, 0] + 1.0, centre + frac[:, 1] + 1.0
    row0, col0 = stamp_origins(x_cat, y_cat, stamp_size)
    rows = row0[:, None] + np.arange(stamp_size)
    cols = col0[:, None] + np.arange(stamp_size)
    stamps = scene[
        np.arange(n)[:, None, None, None],
        np.arange(len(BANDS))[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    # Noise only where the stamp is: pixels are independent.
    for b, band in enumerate(BANDS):
        stamps[:, b] = add_noise(stamps[:, b], band, rng)
    local_bg = background[:, :, centre, centre]
    mag_obs, mag_err = observed_magnitudes(candidates.mag, band_zeropoints(WFC3_FILTERS), local_bg, rng)
    v = BANDS.index("V")
    ci = concentration_index(source[:, v], centre + frac[:, 0], centre + frac[:, 1])
    flux_v = 10.0 ** (-0.4 * (candidates.mag[:, v] - band_zeropoints(WFC3_FILTERS)[v]))
    hard = difficulty(candidates.mag[:, v], distance_mpc, flux_v, local_bg[:, v])
    return LocalScenes(np.ascontiguousarray(stamps, dtype=np.float32), mag_obs, mag_err, ci, hard)


def survey_counts(fraction: float = 1.0) -> dict[str, tuple[float, np.ndarray]]:
    """Galaxy -> (distance in Mpc, candidates per class 1-4), Table 6 scaled by ``fraction``."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    out = {}
    for name, (distance, counts) in SURVEY_GALAXIES.items():
        scaled = np.floor(np.asarray(counts) * fraction + 0.5).astype(int)
        if scaled.sum() > 0:
            out[name] = (distance, scaled)
    return out


def simulate_survey(
    out_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    fraction: float = 1.0,
    stamp_size: int = 32,
) -> StampSet:
    """Simulate the paper's training survey: Table 6 galaxies, labelled stamps.

    Parameters
    ----------
    out_dir : path or None
        Where to save the :class:`~starcnet_core.io.stampset.StampSet`; None keeps it in memory.
    seed : int
        Random seed; the same seed and fraction give the same survey.
    fraction : float
        Scales every galaxy's class counts (rounded; galaxies left empty are dropped).
    stamp_size : int
        Stamp side, pixels.

    Returns
    -------
    StampSet
        Table columns: galaxy, id, distance_mpc, label (simulated human mode),
        label_mean, true_class, kind (what was drawn), vote_1..vote_3,
        x, y (1-based, in the host), mag_*/magerr_* (Vega), ci, nflt (filters
        with a detection), age (yr), mass (Msun), ebv (mag) of the SED fit
        (0 where nflt < 4: not fitted, as LEGUS writes).
    """
    counts = survey_counts(fraction)
    streams = np.random.SeedSequence(seed).spawn(len(SURVEY_GALAXIES))
    stamps, tables = [], []
    for (name, (distance, per_class)), stream in zip(counts.items(), streams, strict=False):
        rng = np.random.default_rng(stream)
        true_class = rng.permutation(np.repeat([1, 2, 3, 4], per_class))
        host = GalaxyBackground.random(_FIELD_SIZE, rng)
        positions = host.sample_positions(len(true_class), _FIELD_SIZE, rng, margin=stamp_size)
        candidates = draw_candidates(true_class, distance, rng)
        scenes = render_local_scenes(candidates, positions, host, distance, rng, stamp_size)
        votes, mode, mean = simulate_votes(true_class, rng, _N_EXPERTS, scenes.difficulty)
        table = Table()
        table["galaxy"] = np.full(len(true_class), name)
        table["id"] = np.arange(1, len(true_class) + 1)
        table["distance_mpc"] = np.full(len(true_class), distance)
        table["label"] = mode
        table["label_mean"] = mean
        table["true_class"] = true_class
        table["kind"] = candidates.kind
        for k in range(_N_EXPERTS):
            table[f"vote_{k + 1}"] = votes[:, k]
        table["x"] = positions[:, 0] + 1.0
        table["y"] = positions[:, 1] + 1.0
        for b, band in enumerate(BANDS):
            table[f"mag_{band}"] = scenes.mag_obs[:, b]
            table[f"magerr_{band}"] = scenes.mag_err[:, b]
        table["ci"] = scenes.ci
        nflt = filters_detected(scenes.mag_err)
        table["nflt"] = nflt
        sed = draw_sed(true_class, candidates.mag, distance, rng, fitted=nflt >= MIN_FILTERS_FOR_SED)
        for quantity in ("age", "mass", "ebv"):
            table[quantity] = getattr(sed, quantity)
        stamps.append(scenes.stamps)
        tables.append(table)
    survey = StampSet(
        np.concatenate(stamps),
        vstack(tables),
        meta={
            "simulator": "starcnet_core.sim.survey",
            "seed": seed,
            "fraction": fraction,
            "stamp_size": stamp_size,
            "n_experts": _N_EXPERTS,
        },
    )
    if out_dir is not None:
        survey.save(out_dir)
    return survey
