"""Draw simulated cluster candidates of each class as light components.

Per true class (LEGUS morphology, the paper's section 2):

1. symmetric cluster: one round EFF profile (axis ratio 0.85-1);
2. asymmetric cluster: an elongated EFF (axis ratio 0.4-0.8) plus a fainter
   lopsided knot along its major axis;
3. compact association: three to seven compact knots on diffuse emission
   several times larger than a cluster;
4. non-cluster: a single star, an asterism of two to four stars without
   diffuse light, a background galaxy, or a detector artifact (hot pixel or
   cosmic ray, in one band only).

Apparent V magnitudes follow the class's luminosity function dN/dL ~ L^-alpha
(:data:`~starcnet_core.sim.calibration.LF_ALPHA`) down to past the class's
detection limit in apparent V (the exposures' limit, deeper for point-like
class 4: :data:`~starcnet_core.sim.calibration.CLASS_DETECTION`; deeper in a
field of :data:`~starcnet_core.sim.calibration.FIELD_DETECTION_DEPTH`), which the
catalog then applies to the measured light, so that the candidates of a
distant galaxy are brighter in absolute terms, as in real catalogs; colours
are drawn from the class's measured Gaussian
(:data:`~starcnet_core.sim.calibration.TRUE_CLASS_PHOTOMETRY`: the real
catalog's, unmixed from the human labels' confusion) conditional on that M_V. Sizes from Ryon et al. (2017) scaled to pixels by the distance;
magnitudes become e-/s with the LEGUS Vega zeropoints of each band's instrument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starcnet_core.io.bands import BANDS, VEGA_ZEROPOINTS
from starcnet_core.sim.calibration import (
    CLASS_DETECTION,
    EFF_ETA,
    LF_ALPHA,
    LOG_REFF_PC,
    M_V_BRIGHTEST,
    REFF_RENDER_SHIFT_DEX,
    TRUE_CLASS_PHOTOMETRY,
    distance_modulus,
    pc_per_pixel,
)
from starcnet_core.sim.profiles import eff_core_radius
from starcnet_core.sim.render import Components

__all__ = [
    "DRAWN_PAST_DETECTION",
    "Candidates",
    "detection_completeness",
    "WFC3_FILTERS",
    "ACS_FILTERS",
    "band_zeropoints",
    "draw_candidates",
    "field_stars",
]

#: (instrument, filter) per band for the two filter sets the simulator writes.
WFC3_FILTERS: dict[str, tuple[str, str]] = {
    "NUV": ("WFC3", "F275W"),
    "U": ("WFC3", "F336W"),
    "B": ("WFC3", "F438W"),
    "V": ("WFC3", "F555W"),
    "I": ("WFC3", "F814W"),
}
ACS_FILTERS: dict[str, tuple[str, str]] = {
    **WFC3_FILTERS,
    "B": ("ACS", "F435W"),
    "V": ("ACS", "F555W"),
    "I": ("ACS", "F814W"),
}

#: The detection limit acts on measured magnitudes (:func:`starcnet_core.sim.scene.detected_by_legus`),
#: so candidates are drawn with their class's completeness moved this far (mag) fainter and
#: then kept with probability completeness(measured V) / completeness(drawn V, moved): exact
#: wherever a candidate is measured less than this much brighter than drawn (at the limit,
#: photometric errors are 0.1-0.2 mag and the average aperture correction makes point
#: sources 0.2 mag brighter), and half the drawing of an uncut luminosity function.
DRAWN_PAST_DETECTION = 0.5

# Sub-types of class 4 and how often each is drawn.
_NONCLUSTER_KINDS = ("star", "asterism", "galaxy", "hot_pixel", "cosmic_ray")
_NONCLUSTER_P = (0.42, 0.28, 0.14, 0.08, 0.08)
# Association half-light radius in (rendered) cluster radii, and the knots' spread in
# association radii. 1.70 = 1.35 before the cluster radii were rendered 0.10 dex smaller
# (REFF_RENDER_SHIFT_DEX): associations are not Ryon's clusters, and keep their sizes. 1.85:
# at 1.70 the labelled class 3's median CI lay 0.036 below NGC 1566's (mean of 24 seeds of
# benchmarks/bench_simulator.py), under class 4's in 7 seeds; at 1.85, 0.025 below, in 2.
_ASSOCIATION_SCALE = 1.85
_KNOT_SPREAD = 0.45


@dataclass
class Candidates:
    """Drawn candidates: their true class, sub-type, photometry and components.

    Attributes
    ----------
    true_class : int array (N,)
    kind : str array (N,)
        ``cluster``, ``association``, or a class-4 sub-type.
    mag : float array (N, 5)
        Apparent Vega magnitudes of the candidate's total light per band.
    reff_px : float array (N,)
        Half-light radius of the main component, pixels (0 for stars and artifacts).
    components : Components
        Light components, ``patch`` = candidate index.
    """

    true_class: np.ndarray
    kind: np.ndarray
    mag: np.ndarray
    reff_px: np.ndarray
    components: Components


def band_zeropoints(filters: dict[str, tuple[str, str]]) -> np.ndarray:
    """Vega zeropoints (mag for 1 e-/s) in band order."""
    return np.array([VEGA_ZEROPOINTS[filters[b]] for b in BANDS])


def detection_completeness(v: np.ndarray, true_class: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Probability that LEGUS's source detection finds a candidate of apparent V ``v`` and class
    ``true_class`` (:data:`~starcnet_core.sim.calibration.CLASS_DETECTION`), its limit moved
    ``shift`` mag fainter."""
    table = np.array([CLASS_DETECTION[c] for c in (1, 2, 3, 4)])
    v50, width = table[np.asarray(true_class, dtype=int) - 1].T
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp((np.asarray(v, dtype=float) - v50 - shift) / width))


def _apparent_v(
    cls: int, n: int, distance_mpc: float, rng: np.random.Generator, faintest_m_v: float | None, depth: float
) -> np.ndarray:
    """Apparent V of n candidates of a class: its power-law LF times its completeness moved
    :data:`DRAWN_PAST_DETECTION` (and the field's ``depth``) fainter (what detection could find once measured).

    Inverse-CDF sampling on a 0.005 mag grid from M_V = -13 to 6 widths past
    that limit (or to ``faintest_m_v`` when that is brighter).
    """
    alpha = LF_ALPHA[cls]
    v50, width = CLASS_DETECTION[cls]
    dm = distance_modulus(distance_mpc)
    faint = v50 + depth + DRAWN_PAST_DETECTION + 6.0 * width
    if faintest_m_v is not None:
        faint = min(faint, faintest_m_v + dm)
    grid = np.arange(M_V_BRIGHTEST + dm, faint, 0.005)
    density = 10.0 ** (0.4 * (alpha - 1.0) * (grid - faint))
    density *= detection_completeness(grid, np.full(len(grid), cls), depth + DRAWN_PAST_DETECTION)
    cdf = np.cumsum(density)
    return np.interp(rng.random(n) * cdf[-1], cdf, grid)


def _photometry(
    true_class: np.ndarray,
    distance_mpc: float,
    rng: np.random.Generator,
    faintest_m_v: float | None,
    depth: float,
) -> np.ndarray:
    """Apparent magnitudes (N, 5): V from the class's LF, colours from its Gaussian given M_V."""
    mags = np.empty((len(true_class), len(BANDS)))
    dm = distance_modulus(distance_mpc)
    for cls, calib in TRUE_CLASS_PHOTOMETRY.items():
        rows = np.flatnonzero(true_class == cls)
        if len(rows) == 0:
            continue
        v = _apparent_v(cls, len(rows), distance_mpc, rng, faintest_m_v, depth)
        mean, cov = calib["mean"], calib["cov"]
        slope = cov[1:, 0] / cov[0, 0]
        conditional = cov[1:, 1:] - np.outer(cov[1:, 0], cov[0, 1:]) / cov[0, 0]
        colours = mean[1:] + (v - dm - mean[0])[:, None] * slope
        colours += rng.multivariate_normal(np.zeros(len(slope)), conditional, size=len(rows))
        nuv_v, u_v, b_v, v_i = colours.T
        mags[rows] = np.column_stack([v + nuv_v, v + u_v, v + b_v, v, v - v_i])
    return mags


def _sizes_px(n: int, distance_mpc: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half-light radii (pixels) and EFF slopes of n clusters."""
    reff_pc = 10.0 ** (rng.normal(*LOG_REFF_PC, size=n) + REFF_RENDER_SHIFT_DEX)
    median, low, high = EFF_ETA
    # Log-normal about the median with the measured 16-84% spread.
    sigma = 0.5 * (np.log(high) - np.log(low))
    eta = np.clip(median * np.exp(rng.normal(0.0, sigma, size=n)), 1.3, 4.0)
    return reff_pc / pc_per_pixel(distance_mpc), eta


class _Builder:
    """Collects components for the candidates."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, patch, dx, dy, flux, a, eta, q, theta, sharp=False) -> None:
        n = len(np.atleast_1d(patch))
        full = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (dx, dy, a, eta, q, theta)]
        self.rows.append((np.atleast_1d(patch), *full[:2], np.atleast_2d(flux), *full[2:], np.full(n, sharp)))

    def build(self) -> Components:
        cols = list(zip(*self.rows, strict=True))
        return Components(
            patch=np.concatenate(cols[0]).astype(np.int64),
            dx=np.concatenate(cols[1]),
            dy=np.concatenate(cols[2]),
            flux=np.concatenate(cols[3]),
            a=np.concatenate(cols[4]),
            eta=np.concatenate(cols[5]),
            q=np.concatenate(cols[6]),
            theta=np.concatenate(cols[7]),
            sharp=np.concatenate(cols[8]),
        )


def draw_candidates(
    true_class: np.ndarray,
    distance_mpc: float,
    rng: np.random.Generator,
    filters: dict[str, tuple[str, str]] = WFC3_FILTERS,
    faintest_m_v: float | None = None,
    depth: float = 0.0,
) -> Candidates:
    """Draw candidates of the given true classes (1-4) at a distance.

    Parameters
    ----------
    true_class : int array (N,)
        Class of each candidate.
    distance_mpc : float
        Galaxy distance, Mpc: sets apparent magnitudes and pixel sizes.
    rng : numpy.random.Generator
    filters : dict
        Band -> (instrument, filter), for the zeropoints.
    faintest_m_v : float, optional
        Draw no candidate fainter than this absolute V (survey mode, which
        keeps only candidates bright enough to be inspected); default: down
        to the detection limit.
    depth : float
        How much deeper (mag) the field's detection reaches than
        :data:`~starcnet_core.sim.calibration.CLASS_DETECTION`
        (:func:`starcnet_core.sim.scene.detection_depth`).

    Returns
    -------
    Candidates
        Components centred on each candidate's patch (``patch`` = row index).
    """
    true_class = np.asarray(true_class, dtype=int)
    n = len(true_class)
    mag = _photometry(true_class, distance_mpc, rng, faintest_m_v, depth)
    total = 10.0 ** (-0.4 * (mag - band_zeropoints(filters)))
    reff, eta = _sizes_px(n, distance_mpc, rng)
    kind = np.where(true_class == 3, "association", "cluster").astype(object)
    four = np.flatnonzero(true_class == 4)
    kind[four] = rng.choice(_NONCLUSTER_KINDS, size=len(four), p=_NONCLUSTER_P)
    theta = rng.uniform(0.0, np.pi, n)
    out = _Builder()

    one = np.flatnonzero(true_class == 1)
    out.add(
        one,
        0.0,
        0.0,
        total[one],
        eff_core_radius(reff[one], eta[one]),
        eta[one],
        rng.uniform(0.85, 1.0, len(one)),
        theta[one],
    )

    two = np.flatnonzero(true_class == 2)
    knot = rng.uniform(0.1, 0.3, len(two))[:, None]
    a2 = eff_core_radius(reff[two], eta[two])
    out.add(two, 0.0, 0.0, total[two] * (1 - knot), a2, eta[two], rng.uniform(0.4, 0.8, len(two)), theta[two])
    sep = np.maximum(reff[two], 0.5) * rng.uniform(0.7, 1.8, len(two)) * rng.choice([-1, 1], len(two))
    out.add(
        two,
        sep * np.cos(theta[two]),
        sep * np.sin(theta[two]),
        total[two] * knot,
        0.6 * a2,
        eta[two],
        rng.uniform(0.6, 1.0, len(two)),
        theta[two],
    )

    three = np.flatnonzero(true_class == 3)
    diffuse = rng.uniform(0.35, 0.65, len(three))[:, None]
    # An association is a few cluster radii across; at 18 Mpc that is still only 1-3 px
    # (LEGUS class-3 CI is only ~0.1 mag above class 1's in NGC 1566).
    reff[three] = np.maximum(_ASSOCIATION_SCALE * reff[three], 0.8) * rng.uniform(1.0, 1.5, len(three))
    out.add(
        three,
        rng.normal(0, 0.5, len(three)),
        rng.normal(0, 0.5, len(three)),
        total[three] * diffuse,
        eff_core_radius(reff[three], np.full(len(three), 1.6)),
        1.6,
        rng.uniform(0.5, 1.0, len(three)),
        theta[three],
    )
    n_knots = rng.integers(3, 8, len(three))
    owner = np.repeat(three, n_knots)
    # Gamma-distributed shares: usually one or two knots dominate.
    share = rng.gamma(0.8, size=len(owner))
    share /= np.bincount(np.repeat(np.arange(len(three)), n_knots), weights=share)[
        np.repeat(np.arange(len(three)), n_knots)
    ]
    spread = _KNOT_SPREAD * np.repeat(reff[three], n_knots)
    # Knots are young stars and small clusters: bluer than the diffuse light.
    knot_flux = np.repeat(total[three] * (1 - diffuse), n_knots, axis=0) * share[:, None]
    knot_flux *= np.array([1.3, 1.2, 1.0, 1.0, 0.85])
    out.add(
        owner,
        rng.normal(0, 1, len(owner)) * spread,
        rng.normal(0, 1, len(owner)) * spread,
        knot_flux,
        0.0,
        2.0,
        1.0,
        0.0,
    )

    for sub in _NONCLUSTER_KINDS:
        rows = np.flatnonzero(kind == sub)
        if len(rows) == 0:
            continue
        reff[rows] = 0.0
        if sub == "star":
            out.add(rows, 0.0, 0.0, total[rows], 0.0, 2.0, 1.0, 0.0)
        elif sub == "asterism":
            n_stars = rng.integers(2, 5, len(rows))
            owner = np.repeat(rows, n_stars)
            share = rng.uniform(0.2, 1.0, len(owner))
            share /= np.bincount(np.repeat(np.arange(len(rows)), n_stars), weights=share)[
                np.repeat(np.arange(len(rows)), n_stars)
            ]
            # Stars of different types: each gets its own colour.
            colour = 10.0 ** (-0.4 * rng.normal(0.0, 0.4, (len(owner), len(BANDS))))
            out.add(
                owner,
                rng.normal(0, 0.7, len(owner)),
                rng.normal(0, 0.7, len(owner)),
                np.repeat(total[rows], n_stars, axis=0) * share[:, None] * colour,
                0.0,
                2.0,
                1.0,
                0.0,
            )
        elif sub == "galaxy":
            # Background galaxies: redder (k-correction) and extended, exponential-like.
            red = 10.0 ** (-0.4 * np.array([1.5, 1.0, 0.5, 0.0, -0.5]))
            a_gal = rng.uniform(0.6, 1.8, len(rows))
            out.add(
                rows, 0.0, 0.0, total[rows] * red, a_gal, 2.5, rng.uniform(0.3, 0.8, len(rows)), theta[rows]
            )
        elif sub == "hot_pixel":
            band = rng.integers(0, len(BANDS), len(rows))
            flux = np.zeros((len(rows), len(BANDS)))
            flux[np.arange(len(rows)), band] = total[rows, band] * rng.uniform(0.3, 1.0, len(rows))
            out.add(rows, 0.0, 0.0, flux, 0.0, 2.0, 1.0, 0.0, sharp=True)
        else:
            band = rng.integers(0, len(BANDS), len(rows))
            flux = np.zeros((len(rows), len(BANDS)))
            flux[np.arange(len(rows)), band] = total[rows, band] * rng.uniform(1.0, 3.0, len(rows))
            out.add(
                rows, 0.0, 0.0, flux, rng.uniform(2.0, 6.0, len(rows)), 4.0, 0.06, theta[rows], sharp=True
            )
    return Candidates(true_class, kind.astype(str), mag, reff, out.build())


def field_stars(
    patch: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    distance_mpc: float,
    rng: np.random.Generator,
    filters: dict[str, tuple[str, str]] = WFC3_FILTERS,
) -> Components:
    """Point-source crowding neighbours (resolved disk stars), M_V between -7.5 and -3 mag.

    Parameters
    ----------
    patch, dx, dy : arrays (M,)
        Patch index and offset from its centre, pixels, of each star.
    distance_mpc : float
    rng : numpy.random.Generator
    filters : dict
    """
    m = len(patch)
    # A steep luminosity function, dN/dM ~ (M_V + 7.5)^2: most neighbours are faint
    # (``power(3)`` lies near 1, so it measures the distance from the bright end).
    m_v = -7.5 + 4.5 * rng.power(3.0, m) + distance_modulus(distance_mpc)
    colour = rng.normal([-0.8, -0.6, 0.1, 0.0, -0.5], 0.6, size=(m, len(BANDS)))
    mags = m_v[:, None] + colour
    flux = 10.0 ** (-0.4 * (mags - band_zeropoints(filters)))
    builder = _Builder()
    builder.add(patch, dx, dy, flux, 0.0, 2.0, 1.0, 0.0)
    return builder.build()
