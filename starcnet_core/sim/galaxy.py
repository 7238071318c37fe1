"""Galaxy mode: five HST-like mosaics and a LEGUS catalog of one simulated galaxy.

Writes, in the LEGUS release's names, five ``_drc.fits`` mosaics (e-/s, TAN
WCS on the 0.0396"/px grid, PHOTFLAM/PHOTPLAM/FILTER/INSTRUME/EXPTIME and the
aperture correction APCOR), the 35-column ``.tab`` catalog with its
``.readme`` (photometry, SED-fit age, mass and E(B-V), class mode and mean of
the simulated experts) and ``<field>_truth.csv`` (true class, what was drawn,
each vote of the galaxy's team of simulated classifiers, tie-breakers
included). Candidates sit where clusters form, among resolved field stars, on
a disk with spiral arms, dust lanes and star-forming clumps.

The catalog is measured on the final noisy mosaics as LEGUS measures it
(:mod:`starcnet_core.sim.photometry`), and holds what LEGUS's catalog holds:
candidates with CI at or above the field's cut and no more than a light peak
can have (2.39), detected in V and in B or I. As in LEGUS, only those
detected in at least four bands (``Nflt >= 4``) and brighter than M_V = -6
(or the real field's own limit, ``legus_field``) were classified by the
simulated experts; the others
have class mode and mean 0 and no votes, so the share of class 0 follows the
distance (most candidates of a nearby galaxy are fainter than -6).
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from starcnet_core.atomic_write import write_text_atomic
from starcnet_core.io.bands import BANDS, PIXEL_SCALE_ARCSEC
from starcnet_core.io.legus_columns import STANDARD_35, readme_text
from starcnet_core.sim.annotators import (
    N_EXPERTS,
    N_TIE_BREAKERS,
    consensus,
    draw_pool,
    draw_team,
    faint_washout,
    simulate_pool_votes,
)
from starcnet_core.sim.background import COARSE_STEP, GalaxyBackground
from starcnet_core.sim.calibration import (
    DEFAULT_CI_CUT,
    DETECTION_SEPARATION_PX,
    EXPTIME_S,
    PEAK_CI_MAX,
    SURVEY_GALAXIES,
    aperture_correction_error,
    distance_modulus,
)
from starcnet_core.sim.noise import add_noise
from starcnet_core.sim.photometry import (
    APERTURE_PX,
    CI_RADII_PX,
    aperture_fluxes,
    measure_photometry,
    tile_patches,
)
from starcnet_core.sim.population import (
    ACS_FILTERS,
    WFC3_FILTERS,
    band_zeropoints,
    draw_candidates,
    field_stars,
)
from starcnet_core.sim.psf import nominal_fwhm, psf_field, psf_widths
from starcnet_core.sim.render import add_points_to_image, render_patches
from starcnet_core.sim.scene import (
    detected_by_legus,
    detection_depth,
    difficulty,
    in_legus_catalog,
    inspected_by_legus,
    sed_magnitudes,
    typical_aperture_correction,
)
from starcnet_core.sim.sed import MIN_FILTERS_FOR_SED, SedFit, draw_sed

__all__ = ["simulate_galaxy", "mosaic_filename", "catalog_filename"]

#: Inverse sensitivity (erg/cm^2/A per e-) and pivot wavelength (A) per filter,
#: from the WFC3 and ACS instrument handbooks (approximate).
_PHOT = {
    ("WFC3", "F275W"): (3.3e-18, 2710.0),
    ("WFC3", "F336W"): (1.3e-18, 3355.0),
    ("WFC3", "F438W"): (6.8e-19, 4326.0),
    ("WFC3", "F555W"): (1.9e-19, 5308.0),
    ("WFC3", "F814W"): (1.5e-19, 8024.0),
    ("ACS", "F435W"): (3.1e-19, 4329.0),
    ("ACS", "F555W"): (1.97e-19, 5361.0),
    ("ACS", "F814W"): (7.0e-20, 8045.0),
}
_PATCH = 48
_CLASS_FRACTIONS = np.array([sum(c[k] for _, c in SURVEY_GALAXIES.values()) for k in range(4)], float)


def mosaic_filename(field: str, instrument: str, filter_name: str) -> str:
    """LEGUS mosaic name, e.g. ``hlsp_legus_hst_wfc3_simgal_f275w_v1_drc.fits``."""
    return f"hlsp_legus_hst_{instrument.lower()}_{field}_{filter_name.lower()}_v1_drc.fits"


def catalog_filename(field: str, filter_set: str) -> str:
    """LEGUS catalog name (``.tab``); ``acs-wfc3`` when ACS bands are used."""
    inst = "wfc3" if filter_set == "wfc3" else "acs-wfc3"
    return f"hlsp_legus_hst_{inst}_{field}_multiband_v1_padagb-mwext-avgapcor.tab"


def _wcs(size: int, rng: np.random.Generator) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    wcs.wcs.crval = [rng.uniform(0, 360), rng.uniform(-60, 60)]
    scale = PIXEL_SCALE_ARCSEC / 3600.0
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    return wcs


def _header(wcs: WCS, instrument_filter: tuple[str, str], band: str, field: str, apcor: float) -> fits.Header:
    """A mosaic's header: WCS, units, instrument, filter, exposure time, photometric keywords."""
    instrument, filter_name = instrument_filter
    header = wcs.to_header()
    photflam, photplam = _PHOT[(instrument, filter_name)]
    header.update(
        BUNIT="ELECTRONS/S",
        INSTRUME=instrument if instrument == "ACS" else "WFC3",
        FILTER=filter_name,
        DETECTOR="WFC" if instrument == "ACS" else "UVIS",
        EXPTIME=EXPTIME_S[band],
        PHOTFLAM=photflam,
        PHOTPLAM=photplam,
        TELESCOP="HST",
        OBJECT=field,
    )
    header["APCOR"] = (round(apcor, 4), "aperture correction, 4 px to total, mag")
    header["COMMENT"] = "Simulated by starcnet_core.sim.galaxy (StarcNet Studio)"
    return header


def _paste(images: np.ndarray, patches: np.ndarray, base: np.ndarray) -> None:
    """Add patches (N, B, P, P) centred on integer pixels ``base`` (N, 2 = x, y), clipped at edges."""
    size_y, size_x = images.shape[1:]
    half = patches.shape[-1] // 2
    for patch, (bx, by) in zip(patches, base, strict=True):
        x0, y0 = bx - half, by - half
        xs, ys = max(x0, 0), max(y0, 0)
        xe, ye = min(x0 + patches.shape[-1], size_x), min(y0 + patches.shape[-1], size_y)
        if xe > xs and ye > ys:
            images[:, ys:ye, xs:xe] += patch[:, ys - y0 : ye - y0, xs - x0 : xe - x0]


def _draw_pool(
    n_candidates: int,
    distance_mpc: float,
    filters: dict[str, tuple[str, str]],
    ci_cut: float,
    host: GalaxyBackground,
    size: int,
    rng: np.random.Generator,
    psf_z=None,
    depth: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidates drawn until ``n_candidates`` of them have a noiseless CI between the cut and the peak limit
    and would be detected at their drawn V (the field's detection ``depth``, mag).

    Candidates below the cut (mostly stars) are kept: they are in the image
    as in a real one, and the measurement decides what the catalog holds.
    Returns true classes, apparent magnitudes (N, 5), kinds, positions (N, 2)
    and noiseless patches (N, 5, P, P) of all drawn candidates.
    """
    parts, passed = [], 0
    v = BANDS.index("V")
    while passed < n_candidates:
        # About half the drawn candidates are detected (population.DRAWN_PAST_DETECTION).
        batch = max(16, int(2.5 * (n_candidates - passed)))
        true_class = rng.choice([1, 2, 3, 4], size=batch, p=_CLASS_FRACTIONS / _CLASS_FRACTIONS.sum())
        taken = np.concatenate([part[3] for part in parts]) if parts else None
        positions = host.sample_positions(
            batch, size, rng, margin=min(16, size // 8), apart=DETECTION_SEPARATION_PX, taken=taken
        )
        candidates = draw_candidates(true_class, distance_mpc, rng, filters, depth=depth)
        frac = positions - np.floor(positions)
        comps = candidates.components
        comps.dx = comps.dx + frac[comps.patch, 0]
        comps.dy = comps.dy + frac[comps.patch, 1]
        psf = None if psf_z is None else psf_widths(psf_z(positions[:, 0], positions[:, 1]), filters)
        source = render_patches(comps, batch, _PATCH, psf)
        mosaic, origins = tile_patches(source[:, [v]])
        sums = aperture_fluxes(mosaic[0], origins + _PATCH // 2 + frac, CI_RADII_PX)
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = 2.5 * np.log10(sums[:, 1] / sums[:, 0])
        # Counted as the catalog will keep them: detection as if measured as drawn (the catalog
        # applies it to the measured V).
        drawn_v = candidates.mag[:, v]
        found = detected_by_legus(drawn_v, true_class, drawn_v, rng, depth)
        ci = np.nan_to_num(ci, nan=0.0)
        good = np.cumsum((ci >= ci_cut) & (ci <= PEAK_CI_MAX) & found)
        # The last batch stops at the candidate that completes the count.
        keep = (
            batch
            if passed + good[-1] <= n_candidates
            else int(np.searchsorted(good, n_candidates - passed)) + 1
        )
        parts.append(
            (
                true_class[:keep],
                candidates.mag[:keep],
                candidates.kind[:keep],
                positions[:keep],
                source[:keep],
            )
        )
        passed += int(good[keep - 1])
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def simulate_galaxy(
    out_dir: str | os.PathLike,
    *,
    size: int = 4000,
    n_candidates: int = 1500,
    distance_mpc: float = 10.0,
    filter_set: str = "wfc3",
    seed: int = 0,
    field: str = "simgal",
    ci_cut: float = DEFAULT_CI_CUT,
    legus_field: str | None = None,
) -> Path:
    """Write a simulated galaxy (mosaics, catalog, readme, truth) into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Directory to write into (created).
    size : int
        Mosaic side, pixels.
    n_candidates : int
        Candidates drawn with a noiseless CI at or above the cut and found by
        the detection at their drawn V; the catalog holds those that are found
        and pass LEGUS's cuts as measured on the noisy mosaics: about as many,
        up to 40% more in a nearby galaxy, whose many faint candidates
        measured brighter than drawn are found more often (Eddington bias).
    distance_mpc : float
        Distance, Mpc (apparent magnitudes, pixel sizes of clusters).
    filter_set : {"wfc3", "wfc3+acs"}
        All five bands from WFC3/UVIS, or B, V, I from ACS/WFC (F435W, F555W, F814W).
    seed : int
    field : str
        Field name used in the file names.
    ci_cut : float
        The field's CI cut, mag (LEGUS: 1.2-1.4).
    legus_field : str, optional
        A real LEGUS field whose visual-inspection limit the catalog follows
        (:data:`~starcnet_core.sim.calibration.INSPECTION_LIMITS`, e.g. ``"NGC 628"``;
        default: the -6 mag cut), and its detection depth
        (:data:`~starcnet_core.sim.calibration.FIELD_DETECTION_DEPTH`) and aperture-correction errors.

    Returns
    -------
    pathlib.Path
        The directory written.
    """
    if filter_set not in ("wfc3", "wfc3+acs"):
        raise ValueError("filter_set must be 'wfc3' or 'wfc3+acs'")
    if size < 64 or n_candidates < 1 or distance_mpc <= 0:
        raise ValueError("size must be >= 64 pixels, n_candidates >= 1, distance_mpc > 0")
    if not 0.5 <= ci_cut <= 3.0:
        raise ValueError("ci_cut must be between 0.5 and 3 mag")
    filters = WFC3_FILTERS if filter_set == "wfc3" else ACS_FILTERS
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    host = GalaxyBackground.random(size, rng)
    psf_z = psf_field(size, rng)

    images = host.render(np.zeros((1, 2)), size)[0]

    depth = detection_depth(legus_field)
    true_class, mag_true, kind, positions, source = _draw_pool(
        n_candidates, distance_mpc, filters, ci_cut, host, size, rng, psf_z, depth
    )
    # The host's light under each candidate, before the candidates are added.
    pixel = np.clip(np.round(positions).astype(np.int64), 0, size - 1)
    local_bg = images[:, pixel[:, 1], pixel[:, 0]].T
    _paste(images, source, np.floor(positions).astype(np.int64))

    # Field stars over the whole mosaic, as many as the local density gives:
    # uniform draws at the peak density, thinned by density / peak.
    grid = np.arange(0, size + COARSE_STEP, COARSE_STEP, dtype=float)
    peak = float(np.max(host.star_density(*np.meshgrid(grid, grid))))
    star_xy = rng.uniform(0, size, (rng.poisson(peak * size * size), 2))
    keep = rng.random(len(star_xy)) < host.star_density(star_xy[:, 0], star_xy[:, 1]) / peak
    star_xy = star_xy[keep]
    star_base = np.floor(star_xy).astype(np.int64)
    stars = field_stars(
        np.arange(len(star_xy)),
        star_xy[:, 0] - star_base[:, 0],
        star_xy[:, 1] - star_base[:, 1],
        distance_mpc,
        rng,
        filters,
    )
    # One point source per star, each drawn straight into the mosaics.
    star_x, star_y = star_base[:, 0] + stars.dx, star_base[:, 1] + stars.dy
    add_points_to_image(images, star_x, star_y, stars.flux, _PATCH, psf_widths(psf_z(star_x, star_y), filters))

    zp = band_zeropoints(filters)
    exptime = np.array([EXPTIME_S[b] for b in BANDS])
    apcor = typical_aperture_correction(distance_mpc, tuple(float(w) for w in nominal_fwhm(filters)))
    wcs = _wcs(size, rng)
    headers = [_header(wcs, filters[band], band, field, apcor[b]) for b, band in enumerate(BANDS)]
    # Each band's noise from its own stream: the same files whatever the number of threads.
    streams = rng.spawn(len(BANDS))

    def write_band(b: int) -> None:
        # Noise in place, once: the catalog is measured on these very pixels.
        add_noise(images[b], BANDS[b], streams[b], out=images[b])
        instrument, filter_name = filters[BANDS[b]]
        fits.PrimaryHDU(images[b], header=headers[b]).writeto(
            out / mosaic_filename(field, instrument, filter_name), overwrite=True
        )

    # Drawing Poisson noise releases the GIL: the bands share the cores.
    with ThreadPoolExecutor(max_workers=min(len(BANDS), os.cpu_count() or 1)) as pool:
        list(pool.map(write_band, range(len(BANDS))))

    phot = measure_photometry(images, positions, zp, exptime, apcor, aperture_correction_error(legus_field))
    # The source detection (at the measured V) and LEGUS's catalog cuts decide what is listed.
    v = BANDS.index("V")
    found = detected_by_legus(phot.mag[:, v], true_class, mag_true[:, v], rng, depth)
    rows = np.flatnonzero(in_legus_catalog(phot, ci_cut) & found)
    phot = phot.take(rows)
    true_class, mag_true, kind, positions = true_class[rows], mag_true[rows], kind[rows], positions[rows]
    local_bg = local_bg[rows]
    n = len(rows)
    v = BANDS.index("V")
    m_v = phot.mag[:, v] - distance_modulus(distance_mpc)
    inspected = inspected_by_legus(phot, m_v, legus_field, rng)
    flux_v = 10.0 ** (-0.4 * (phot.mag[:, v] - zp[v]))
    hard = difficulty(phot.mag[:, v], distance_mpc, flux_v, local_bg[:, v])
    # The galaxy's team of the simulated LEGUS classifiers: three of them vote on every
    # inspected candidate, tie-breakers where they tie.
    pool = draw_pool(rng)
    votes = np.zeros((n, N_EXPERTS + N_TIE_BREAKERS), dtype=np.int64)
    votes[inspected] = simulate_pool_votes(
        true_class[inspected],
        rng,
        difficulty=hard[inspected],
        washout=faint_washout(m_v[inspected]),
        pool=pool,
        team=draw_team(rng, pool),
    )[0]
    mode, mean = consensus(votes)
    sed = draw_sed(
        true_class, sed_magnitudes(phot, mag_true), distance_mpc, rng, fitted=phot.nflt >= MIN_FILTERS_FOR_SED
    )
    ra, dec = wcs.all_pix2world(positions[:, 0], positions[:, 1], 0)
    columns = {
        "id": np.arange(1, n + 1),
        "x": positions[:, 0] + 1.0,
        "y": positions[:, 1] + 1.0,
        "ra": ra,
        "dec": dec,
        "ci": phot.ci,
        "nflt": phot.nflt,
        "class_mode": mode,
        "class_mean": mean,
        **sed.columns(),
    }
    for b, band in enumerate(BANDS):
        columns[f"mag_{band}"] = phot.mag[:, b]
        columns[f"magerr_{band}"] = phot.mag_err[:, b]
    _write_catalog(out, field, filter_set, columns, distance_mpc, apcor, ci_cut)
    _write_truth(out / f"{field}_truth.csv", true_class, kind, votes)
    return out


def _write_catalog(
    out: Path,
    field: str,
    filter_set: str,
    columns: dict[str, np.ndarray],
    distance_mpc: float,
    apcor: np.ndarray,
    ci_cut: float,
):
    """The 35-column LEGUS ``.tab`` and its ``.readme``; columns not given (chi2 of the fit) are 0."""
    n = len(columns["id"])
    columns = {**{name: np.zeros(n) for name, _ in STANDARD_35}, **columns}
    integer = {"id", "nflt", "class_mode"}
    # 1e-7 deg is 0.01 pixel; 5 decimals, as the x, y columns have, would be a pixel.
    celestial = {"ra", "dec"}
    # Ages and masses span decades: LEGUS writes them as 1.500e+07.
    exponent = set(SedFit.__dataclass_fields__) - {"ebv", "ebv_max", "ebv_min"}
    lines = []
    for i in range(n):
        fields = []
        for name, _ in STANDARD_35:
            value = columns[name][i]
            if name in integer:
                fields.append(f"{int(value):10d}")
            elif name in celestial:
                fields.append(f"{value:12.7f}")
            elif name in exponent:
                fields.append(f"{value:12.3e}")
            else:
                fields.append(f"{value:12.5f}")
        lines.append(" ".join(fields))
    name = catalog_filename(field, filter_set)
    write_text_atomic(out / name, "\n".join(lines) + "\n")
    header = (
        f"Simulated LEGUS cluster catalog of {field} at {distance_mpc} Mpc (StarcNet Studio simulator).\n"
        f"Photometry measured on the mosaics: {APERTURE_PX:g} px aperture, sky annulus 7-8 px, average "
        "aperture corrections (mag) "
        + ", ".join(f"{band} {c:.3f}" for band, c in zip(BANDS, apcor, strict=True))
        + f"; candidates with {ci_cut:.2f} <= CI <= {PEAK_CI_MAX:.2f}, detected in V and in B or I.\n"
        "Classified (mode and mean of simulated experts, ties broken by further votes) where Nflt >= 4 "
        "and M_V <= -6, class 0 elsewhere; true classes in the truth file."
    )
    write_text_atomic(out / name.replace(".tab", ".readme"), readme_text(STANDARD_35, header))


def _write_truth(path, true_class, kind, votes):
    """``id, true_class, kind, vote_1..vote_K`` per candidate (votes 0: never inspected)."""
    rows = [["id", "true_class", "kind", *[f"vote_{k + 1}" for k in range(votes.shape[1])]]]
    rows += [
        [i + 1, int(c), str(k), *map(int, v)]
        for i, (c, k, v) in enumerate(zip(true_class, kind, votes, strict=True))
    ]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
