"""Survey mode: a labelled stamp set like the paper's 15,471 LEGUS candidates.

For each galaxy of the paper's Table 6 (its distance, class counts, CI cut
and instruments: ACS/WFC B, V, I where the field has them), a host background
is drawn; each candidate is placed where clusters form, rendered on its own
local patch of that background with its crowding neighbours, through the same
code as galaxy mode (:func:`starcnet_core.sim.render.render_patches`), given
Poisson and read noise once, measured on that noisy patch as LEGUS measures
(:func:`starcnet_core.sim.photometry.measure_photometry`) and cut to a stamp
exactly as :func:`starcnet_core.io.cutouts.extract_stamps` cuts a mosaic.
Table 6 counts candidates LEGUS classified, so candidates are drawn until
each class has its count of candidates that pass LEGUS's cuts as measured
(in the catalog, ``Nflt >= 4``, M_V <= -6 or the field's own inspection
limit: :data:`~starcnet_core.sim.calibration.INSPECTION_LIMITS`). Each galaxy's team of simulated
classifiers (:mod:`starcnet_core.sim.annotators`, one pool for the survey) votes on every one;
the label is their mode, the true class is kept beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from astropy.table import Table, vstack

from starcnet_core.io.bands import BANDS
from starcnet_core.io.cutouts import stamp_origins
from starcnet_core.io.stampset import StampSet
from starcnet_core.sim.annotators import (
    N_EXPERTS,
    N_TIE_BREAKERS,
    consensus,
    draw_pool,
    draw_team,
    faint_washout,
    simulate_pool_votes,
)
from starcnet_core.sim.background import GalaxyBackground
from starcnet_core.sim.calibration import (
    ACS_GALAXIES,
    CI_CUTS,
    DEFAULT_CI_CUT,
    EXPTIME_S,
    SURVEY_GALAXIES,
    aperture_correction_error,
    distance_modulus,
)
from starcnet_core.sim.noise import add_noise
from starcnet_core.sim.photometry import MEASURE_HALF_PX, Photometry, measure_photometry, tile_patches
from starcnet_core.sim.population import (
    ACS_FILTERS,
    WFC3_FILTERS,
    Candidates,
    band_zeropoints,
    draw_candidates,
    field_stars,
)
from starcnet_core.sim.psf import nominal_fwhm, psf_widths
from starcnet_core.sim.render import Components, render_patches
from starcnet_core.sim.scene import (
    PATCH_MARGIN,
    detected_by_legus,
    detection_depth,
    difficulty,
    faintest_inspected,
    in_legus_catalog,
    inspected_by_legus,
    sed_magnitudes,
    typical_aperture_correction,
)
from starcnet_core.sim.sed import MIN_FILTERS_FOR_SED, draw_sed

__all__ = ["LocalScenes", "render_local_scenes", "survey_counts", "simulate_survey"]

_FIELD_SIZE = 4000
# Rounds of drawing before giving up on a class that (nearly) never passes the cuts.
_MAX_ROUNDS = 30


# Survey candidates are drawn no fainter than this past a field's inspection limit:
# anything fainter is measured fainter than the limit (errors there are < 0.1 mag)
# and would be discarded.
_DRAWN_PAST_LIMIT = 0.5


@dataclass
class LocalScenes:
    """Candidates rendered on local patches of their host, and measured there.

    Attributes
    ----------
    stamps : float32 array (N, 5, S, S)
        Noisy stamps, e-/s, cut as from a mosaic at the catalog position.
    phot : Photometry
        Catalog photometry measured on the noisy patches.
    background_v : array (N,)
        The host's V light under each candidate, e-/s per pixel.
    """

    stamps: np.ndarray
    phot: Photometry
    background_v: np.ndarray


def render_local_scenes(
    candidates: Candidates,
    positions: np.ndarray,
    host: GalaxyBackground,
    distance_mpc: float,
    rng: np.random.Generator,
    filters: dict[str, tuple[str, str]] = WFC3_FILTERS,
    stamp_size: int = 32,
    field: str | None = None,
) -> LocalScenes:
    """Render candidates, each on its own noisy patch of the host around its position, and measure them.

    Parameters
    ----------
    candidates : starcnet_core.sim.population.Candidates
        Components with ``patch`` = candidate index.
    positions : array (N, 2)
        0-based x, y of each candidate in the host, pixels.
    host : GalaxyBackground
    distance_mpc : float
    rng : numpy.random.Generator
    filters : dict
        Band -> (instrument, filter): zeropoints of the field's instruments.
    stamp_size : int
        Stamp side, pixels.
    field : str, optional
        The LEGUS field, for its aperture-correction uncertainty
        (:func:`~starcnet_core.sim.calibration.aperture_correction_error`).
    """
    n = len(positions)
    size = stamp_size + 2 * PATCH_MARGIN
    centre = size // 2
    base = np.floor(positions).astype(np.int64)
    frac = positions - base
    own = candidates.components
    own = Components(**{**own.__dict__, "dx": own.dx + frac[own.patch, 0], "dy": own.dy + frac[own.patch, 1]})
    # The host's light over each patch, as galaxy mode renders it.
    background = host.render(base - centre, size)
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
        filters,
    )
    # Each candidate's PSF where it lies in the field: the field's width map
    # sampled at a random position is a standard-normal deviate.
    psf = psf_widths(rng.standard_normal(n), filters)
    scene = (background + render_patches(own, n, size, psf) + render_patches(stars, n, size, psf)).astype(np.float32)
    # Catalog position in patch coordinates, 1-based, cut as a mosaic is cut.
    x_cat, y_cat = centre + frac[:, 0] + 1.0, centre + frac[:, 1] + 1.0
    row0, col0 = stamp_origins(x_cat, y_cat, stamp_size)
    # Noise once, on the pixels anyone looks at: the stamp and the photometry's
    # windows around the candidate (the same box for every candidate, since
    # 0 <= frac < 1). The photometry and the stamp see the same pixels.
    reach = MEASURE_HALF_PX + 1
    lo = min(int(row0.min()), int(col0.min()), centre - reach)
    hi = max(int(row0.max()), int(col0.max())) + stamp_size
    hi = max(hi, centre + 1 + reach)
    if lo < 0 or hi > size:
        raise ValueError("stamp_size and the photometry windows must fit in the rendered patch")
    region = scene[:, :, lo:hi, lo:hi]
    for b, band in enumerate(BANDS):
        region[:, b] = add_noise(region[:, b], band, rng)
    mosaic, origins = tile_patches(np.ascontiguousarray(region))
    phot = measure_photometry(
        mosaic,
        origins + centre - lo + frac,
        band_zeropoints(filters),
        np.array([EXPTIME_S[b] for b in BANDS]),
        typical_aperture_correction(distance_mpc, tuple(float(w) for w in nominal_fwhm(filters))),
        aperture_correction_error(field),
    )
    rows = row0[:, None] - lo + np.arange(stamp_size)
    cols = col0[:, None] - lo + np.arange(stamp_size)
    stamps = region[
        np.arange(n)[:, None, None, None],
        np.arange(len(BANDS))[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    v = BANDS.index("V")
    return LocalScenes(np.ascontiguousarray(stamps, dtype=np.float32), phot, background[:, v, centre, centre])


def _inspected_candidates(
    field: str,
    true_class: int,
    count: int,
    host: GalaxyBackground,
    distance_mpc: float,
    ci_cut: float,
    filters: dict[str, tuple[str, str]],
    rng: np.random.Generator,
    stamp_size: int,
) -> tuple[LocalScenes, np.ndarray, np.ndarray, np.ndarray]:
    """``count`` candidates of one class that LEGUS would have classified.

    Returns their scenes, kinds, drawn magnitudes (N, 5) and positions (N, 2).
    """
    kept = []
    have, rate = 0, 0.5
    depth = detection_depth(field)
    for _ in range(_MAX_ROUNDS):
        batch = max(8, int(np.ceil(1.3 * (count - have) / max(rate, 0.05))))
        positions = host.sample_positions(batch, _FIELD_SIZE, rng, margin=stamp_size)
        faintest = faintest_inspected(field) + _DRAWN_PAST_LIMIT
        candidates = draw_candidates(
            np.full(batch, true_class), distance_mpc, rng, filters, faintest, depth
        )
        scenes = render_local_scenes(candidates, positions, host, distance_mpc, rng, filters, stamp_size, field)
        m_v = scenes.phot.mag[:, BANDS.index("V")] - distance_modulus(distance_mpc)
        inspected = inspected_by_legus(scenes.phot, m_v, field, rng)
        found = detected_by_legus(
            scenes.phot.mag[:, BANDS.index("V")],
            candidates.true_class,
            candidates.mag[:, BANDS.index("V")],
            rng,
            depth,
        )
        passed = np.flatnonzero(in_legus_catalog(scenes.phot, ci_cut) & found & inspected)
        rate = max(len(passed) / batch, 0.5 * rate)
        take = passed[: count - have]
        kept.append(
            (
                LocalScenes(scenes.stamps[take], scenes.phot.take(take), scenes.background_v[take]),
                candidates.kind[take],
                candidates.mag[take],
                positions[take],
            )
        )
        have += len(take)
        if have >= count:
            break
    else:
        raise RuntimeError(f"class {true_class} at {distance_mpc} Mpc: too few candidates pass LEGUS's cuts")
    scenes = LocalScenes(
        np.concatenate([k[0].stamps for k in kept]),
        Photometry.concatenate([k[0].phot for k in kept]),
        np.concatenate([k[0].background_v for k in kept]),
    )
    return (scenes, *(np.concatenate([k[i] for k in kept]) for i in (1, 2, 3)))


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
        Table columns: galaxy, id, distance_mpc, filter_set (``wfc3`` or
        ``wfc3+acs``), label (simulated human mode, ties broken by further votes),
        label_mean (mean of all votes cast), true_class, kind (what was drawn), vote_1..vote_5
        (three experts of the galaxy's team, then tie-breakers; 0 where none was asked),
        x, y (1-based, in the host), mag_*/magerr_* (Vega, measured on the
        noisy patch), ci, nflt (filters with an error <= 0.3 mag), age (yr),
        mass (Msun), ebv (mag) of the SED fit. Every row passes LEGUS's cuts,
        so nflt >= 4 and every row has an SED fit.
    """
    counts = survey_counts(fraction)
    # One stream per galaxy, and one more (the last) for the pool of simulated classifiers.
    *streams, pool_stream = np.random.SeedSequence(seed).spawn(len(SURVEY_GALAXIES) + 1)
    pool = draw_pool(np.random.default_rng(pool_stream))
    stamps, tables = [], []
    for (name, (distance, per_class)), stream in zip(counts.items(), streams, strict=False):
        rng = np.random.default_rng(stream)
        acs = name in ACS_GALAXIES
        filters = ACS_FILTERS if acs else WFC3_FILTERS
        host = GalaxyBackground.random(_FIELD_SIZE, rng)
        parts = [
            _inspected_candidates(
                name, cls, int(k), host, distance, CI_CUTS.get(name, DEFAULT_CI_CUT), filters, rng, stamp_size
            )
            for cls, k in zip((1, 2, 3, 4), per_class, strict=True)
            if k > 0
        ]
        # Shuffled: the classes are not in blocks in the stamp set.
        true_class = np.repeat(
            [c for c, k in zip((1, 2, 3, 4), per_class, strict=True) if k > 0], per_class[per_class > 0]
        )
        order = rng.permutation(len(true_class))
        true_class = true_class[order]
        phot = Photometry.concatenate([p[0].phot for p in parts]).take(order)
        scene_stamps = np.concatenate([p[0].stamps for p in parts])[order]
        background_v = np.concatenate([p[0].background_v for p in parts])[order]
        kind, mag_true, positions = (np.concatenate([p[i] for p in parts])[order] for i in (1, 2, 3))
        v = BANDS.index("V")
        flux_v = 10.0 ** (-0.4 * (phot.mag[:, v] - band_zeropoints(filters)[v]))
        hard = difficulty(phot.mag[:, v], distance, flux_v, background_v)
        # Each galaxy classified by its own team of the pool (paper section 2.1).
        washout = faint_washout(phot.mag[:, v] - distance_modulus(distance))
        votes = simulate_pool_votes(
            true_class, rng, difficulty=hard, washout=washout, pool=pool, team=draw_team(rng, pool)
        )[0]
        mode, mean = consensus(votes)
        table = Table()
        table["galaxy"] = np.full(len(true_class), name)
        table["id"] = np.arange(1, len(true_class) + 1)
        table["distance_mpc"] = np.full(len(true_class), distance)
        table["filter_set"] = np.full(len(true_class), "wfc3+acs" if acs else "wfc3")
        table["label"] = mode
        table["label_mean"] = mean
        table["true_class"] = true_class
        table["kind"] = kind
        for k in range(votes.shape[1]):
            table[f"vote_{k + 1}"] = votes[:, k]
        table["x"] = positions[:, 0] + 1.0
        table["y"] = positions[:, 1] + 1.0
        for b, band in enumerate(BANDS):
            table[f"mag_{band}"] = phot.mag[:, b]
            table[f"magerr_{band}"] = phot.mag_err[:, b]
        table["ci"] = phot.ci
        table["nflt"] = phot.nflt
        sed = draw_sed(
            true_class, sed_magnitudes(phot, mag_true), distance, rng, fitted=phot.nflt >= MIN_FILTERS_FOR_SED
        )
        for quantity in ("age", "mass", "ebv"):
            table[quantity] = getattr(sed, quantity)
        stamps.append(scene_stamps)
        tables.append(table)
    survey = StampSet(
        np.concatenate(stamps),
        vstack(tables),
        meta={
            "simulator": "starcnet_core.sim.survey",
            "seed": seed,
            "fraction": fraction,
            "stamp_size": stamp_size,
            "n_experts": N_EXPERTS,
            "n_tie_breakers": N_TIE_BREAKERS,
        },
    )
    if out_dir is not None:
        survey.save(out_dir)
    return survey
