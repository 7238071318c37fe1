"""Measure the numbers in ``starcnet_core/sim/calibration.py`` from real LEGUS tables.

Prints, as Python literals ready to paste:

* per class (hybrid class, column 34 of the NGC 1566 catalog): mean and
  covariance of the absolute V magnitude and the colours NUV-V, U-V, B-V, V-I
  (sources detected in all five bands; distance 17.9 Mpc, Sabbi et al. 2018),
  and the mean and spread of the concentration index;
* the distribution of cluster sizes (log10 effective radius, pc, from GALFIT)
  and EFF power-law slopes in Ryon et al. (2017), NGC 628 and NGC 1313
  (clusters with a reliable fit, eta > 1.3, as in that paper), and the shift of
  the rendered radii that gives those clusters their measured CI;
* per class, the SED-fit quantities (columns 17-25: log10 age, log10 mass,
  E(B-V)) as a linear function of M_V and the four colours, with the
  covariance of the residuals, pooled over NGC 1566 (hybrid class, col 34)
  and NGC 628 (class mode, col 34, 9.9 Mpc; its class 0 are the sources
  fainter than the inspection limit); the 68% interval widths (cols 18-19,
  21-22, 24-25); the fraction and the M_V distribution of the NGC 628
  candidates never inspected (class 0);
* per class, NGC 1566's completeness in apparent V and the true classes' limits
  that give it once simulated experts label them (a forward fit); the label
  mixing of those experts (P(true class | mode)); NGC 628's classified
  fraction against M_V (its soft inspection limit) and its detection depth
  (the depth at which a simulated NGC 628 lists its Nflt >= 4 rows as deep as the real one); per real catalog, how
  many classified candidates have a CI above 2.5 (almost none: a detected
  source is a light peak, CI <= 2.39 without noise).

Usage: ``python scripts/calibrate_simulator.py [--data ../shared/data]``.
The simulator never reads these files at run time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from astropy.io import ascii

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starcnet_core.io.catalogs import read_catalog  # noqa: E402

NGC1566_DISTANCE_MPC = 17.9
NGC628_DISTANCE_MPC = 9.9
NGC1313_DISTANCE_MPC = 4.39
BANDS = ("NUV", "U", "B", "V", "I")


def distance_modulus(distance_mpc: float) -> float:
    """Distance modulus (mag) for a distance in Mpc."""
    return 5.0 * np.log10(distance_mpc * 1e6) - 5.0


# The Jacobian from the five band magnitudes (NUV, U, B, V, I) to (V, NUV-V, U-V, B-V, V-I).
_TO_COLOURS = np.array(
    [[0, 0, 0, 1, 0], [1, 0, 0, -1, 0], [0, 1, 0, -1, 0], [0, 0, 1, -1, 0], [0, 0, 0, 1, -1]], float
)


def _nearest_positive_definite(cov: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return vectors @ np.diag(np.maximum(values, floor)) @ vectors.T


def measure_ngc1566(path: Path) -> None:
    """Per-class (M_V, colour) means and intrinsic covariances, and CI statistics.

    The simulator measures its own photometry on noisy images, so the scatter
    the catalog's errors put into the colours is taken out of the measured
    covariance: the mean of each source's error covariance (through the
    colour Jacobian, V shared by all colours) is subtracted.
    """
    catalog = read_catalog(path)
    table = catalog.table
    classes = np.asarray(table["class_hybrid"], dtype=int)
    mags = np.column_stack([np.asarray(table[f"mag_{b}"], float) for b in BANDS])
    errs = np.column_stack([np.asarray(table[f"magerr_{b}"], float) for b in BANDS])
    ci = np.asarray(table["ci"], float)
    good = np.all(np.isfinite(mags) & (mags < 40), axis=1)
    dm = distance_modulus(NGC1566_DISTANCE_MPC)
    print(f"# NGC 1566: {len(table)} rows, {good.sum()} detected in all five bands")
    for cls in (1, 2, 3, 4):
        sel = good & (classes == cls)
        x = mags[sel] @ _TO_COLOURS.T
        x[:, 0] -= dm
        noise = np.einsum("ij,nj,kj->ik", _TO_COLOURS, errs[sel] ** 2, _TO_COLOURS) / sel.sum()
        intrinsic = _nearest_positive_definite(np.cov(x.T) - noise)
        print(f"{cls}: dict(n={sel.sum()}, mean={np.round(x.mean(0), 3).tolist()},")
        print(f"   cov={np.round(intrinsic, 4).tolist()},")
        print(f"   ci_16_50_84={np.round(np.quantile(ci[sel], [0.16, 0.5, 0.84]), 3).tolist()}),")
    for cls in (0, 1, 2, 3, 4):
        print(f"# class {cls}: {np.sum(classes == cls)} rows")


def measure_luminosity_functions(legus: Path) -> None:
    """Per-class LF slopes above completeness, and the catalogs' detection limit in apparent V.

    Slopes: NGC 1566 (hybrid class) brighter than M_V = -8.3 and NGC 628 (class
    mode) brighter than -7.0, both about 1.2 mag above where their catalogs
    thin out, pooled. Detection: the apparent V magnitudes of every row of
    both catalogs, fitted by maximum likelihood with a power law of the pooled
    slope times a logistic completeness ``1 / (1 + exp((V - V50) / width))``.
    """
    from scipy.optimize import minimize

    ngc1566 = read_catalog(
        legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    ).table
    ngc628 = read_catalog(
        legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt"
    ).table
    parts = [
        (ngc1566, "class_hybrid", NGC1566_DISTANCE_MPC, -8.3),
        (ngc628, "class_mode", NGC628_DISTANCE_MPC, -7.0),
    ]
    slopes = {}
    for cls in (1, 2, 3, 4, (1, 2, 3, 4)):
        depths = []
        for table, column, distance, limit in parts:
            v = np.asarray(table["mag_V"], float)
            m_v = v[(np.isin(np.asarray(table[column], int), cls)) & (v < 40)] - distance_modulus(distance)
            depths.append(limit - m_v[m_v < limit])
        depth = np.concatenate(depths)
        slopes[cls] = 1.0 + 1.0 / (0.4 * np.log(10.0) * depth.mean())
        print(f"# LF class {cls}: alpha = {slopes[cls]:.3f} from {len(depth)} candidates")
    print(f"LF_ALPHA = {{{', '.join(f'{c}: {slopes[c]:.2f}' for c in (1, 2, 3, 4))}}}")
    v = np.concatenate([np.asarray(t["mag_V"], float) for t, *_ in parts])
    v = v[v < 40]
    grid = np.linspace(16.0, 28.0, 2401)
    b = 0.4 * (slopes[(1, 2, 3, 4)] - 1.0) * np.log(10.0)

    def nll(params: np.ndarray) -> float:
        v50, width = params[0], abs(params[1]) + 1e-3
        density = lambda m: np.exp(b * (m - v50)) / (1.0 + np.exp((m - v50) / width))  # noqa: E731
        norm = np.trapezoid(density(grid), grid)
        return -np.sum(np.log(density(v) / norm))

    fit = minimize(nll, [24.0, 0.3], method="Nelder-Mead")
    print(f"# every-row detection limit V50, width = {fit.x[0]:.2f}, {abs(fit.x[1]) + 1e-3:.2f} (n={len(v)})")


def _class_detection_fit(v_all: np.ndarray, classes: np.ndarray) -> dict[int, tuple[float, float]]:
    """Per class, (V50, width) of a completeness in apparent V times the class's LF slope (max. likelihood)."""
    from scipy.optimize import minimize

    from starcnet_core.sim.calibration import LF_ALPHA

    grid = np.linspace(16.0, 28.0, 2401)
    fitted = {}
    for cls in (1, 2, 3, 4):
        v = v_all[(classes == cls) & (v_all < 40)]
        b = 0.4 * (LF_ALPHA[cls] - 1.0) * np.log(10.0)

        def nll(params: np.ndarray, v=v, b=b) -> float:
            v50, width = params[0], abs(params[1]) + 1e-3
            density = lambda m: np.exp(b * (m - v50)) / (1.0 + np.exp((m - v50) / width))  # noqa: E731
            return -np.sum(np.log(density(v) / np.trapezoid(density(grid), grid)))

        fit = minimize(nll, [24.0, 0.3], method="Nelder-Mead")
        fitted[cls] = (round(float(fit.x[0]), 2), round(abs(float(fit.x[1])) + 1e-3, 2))
    return fitted


def measure_class_detection(legus: Path) -> dict[int, tuple[float, float]]:
    """Per label, NGC 1566's completeness in apparent V (V50, width) with the class's LF slope.

    At 17.9 Mpc NGC 1566's inspection limit (M_V = -6, V = 25.3) lies far past
    where its catalog thins out, so the fit sees detection only. NGC 628's
    classes are printed for comparison (cut by its inspection near V = 24.2).
    Returns NGC 1566's.
    """
    tables = [
        (
            "NGC 1566",
            read_catalog(
                legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
            ).table,
            "class_hybrid",
        ),
        (
            "NGC 628",
            read_catalog(
                legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt"
            ).table,
            "class_mode",
        ),
    ]
    found = {}
    for name, table, column in tables:
        found[name] = _class_detection_fit(np.asarray(table["mag_V"], float), np.asarray(table[column], int))
        print(f"# {name} per-class detection (V50, width) of the labels: {found[name]}")
    return found["NGC 1566"]


def _simulated_ngc1566(directory: Path, seed: int, field: str) -> Path:
    """A simulated NGC 1566 (17.9 Mpc, 3000 px, 2,000 candidates, its CI cut) written to ``directory``."""
    from starcnet_core.sim import simulate_galaxy

    return simulate_galaxy(
        directory,
        size=3000,
        n_candidates=2000,
        distance_mpc=NGC1566_DISTANCE_MPC,
        seed=seed,
        ci_cut=1.35,
        field=field,
        legus_field="NGC 1566",
    )


def fit_true_class_detection(legus: Path, seeds: tuple[int, ...] = (0, 1), rounds: int = 3) -> None:
    """``CLASS_DETECTION`` per true class: the limits that give NGC 1566's per-label limits once labelled.

    The real per-class limits are those of human labels, which mix true classes
    (:data:`LABEL_MIXING`): class 4 holds clusters and associations, detected
    0.2-0.4 mag brighter. Forward model: simulated NGC 1566 galaxies (as
    :func:`measure_label_mixing`, ``seeds``) are labelled by the simulator's
    experts, the same fit is made on each label of their catalogs, and each
    true class's V50 is moved by the real minus simulated V50 of its label,
    ``rounds`` times (widths kept as fitted on the labels).
    """
    import tempfile

    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import calibration

    real = measure_class_detection(legus)
    for step in range(rounds):
        v, labels = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in seeds:
                directory = _simulated_ngc1566(Path(tmp) / str(seed), seed, "fit")
                catalog = read_galaxy(directory).catalog
                v.append(np.asarray(catalog.table["mag_V"], float))
                labels.append(np.asarray(catalog.labels["LEGUS mode"]))
        simulated = _class_detection_fit(np.concatenate(v), np.concatenate(labels))
        for cls in (1, 2, 3, 4):
            v50, width = calibration.CLASS_DETECTION[cls]
            calibration.CLASS_DETECTION[cls] = (round(v50 + real[cls][0] - simulated[cls][0], 2), width)
        print(f"# round {step}: simulated labels {simulated}; real {real}")
        print(f"CLASS_DETECTION = {calibration.CLASS_DETECTION}")


def fit_true_class_colours(legus: Path, seeds: tuple[int, ...] = (0, 1), rounds: int = 3) -> None:
    """``TRUE_CLASS_COLOUR_OFFSETS``: the offsets that give NGC 1566's labelled colour medians.

    Forward model, as :func:`fit_true_class_detection`: simulated NGC 1566 galaxies
    (``seeds``) labelled by the simulated experts; per label, the medians of V-I, U-B
    and NUV-U over the rows detected in both bands (``bench_simulator.class_statistics``,
    what the benchmark compares), and each true class's offsets moved by real minus
    simulated, ``rounds`` times from 0.
    """
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_simulator import class_statistics

    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import calibration

    colours = ("V-I", "U-B", "NUV-U")
    path = legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    table = read_catalog(path).table
    real = class_statistics(table, np.asarray(table["class_hybrid"], int), NGC1566_DISTANCE_MPC)
    for cls in (1, 2, 3, 4):
        calibration.TRUE_CLASS_COLOUR_OFFSETS[cls] = (0.0, 0.0, 0.0)
    for step in range(rounds):
        calibration.TRUE_CLASS_PHOTOMETRY.update(calibration.unmixed_photometry())
        simulated = {cls: np.zeros(len(colours)) for cls in (1, 2, 3, 4)}
        with tempfile.TemporaryDirectory() as tmp:
            for seed in seeds:
                catalog = read_galaxy(_simulated_ngc1566(Path(tmp) / str(seed), seed, "colour")).catalog
                stats = class_statistics(catalog.table, np.asarray(catalog.labels["LEGUS mode"]), NGC1566_DISTANCE_MPC)
                for cls in (1, 2, 3, 4):
                    simulated[cls] += np.array([stats[cls][k] for k in colours]) / len(seeds)
        for cls in (1, 2, 3, 4):
            target = np.array([real[cls][k] for k in colours])
            moved = np.array(calibration.TRUE_CLASS_COLOUR_OFFSETS[cls]) + target - simulated[cls]
            calibration.TRUE_CLASS_COLOUR_OFFSETS[cls] = tuple(float(x) for x in np.round(moved, 3))
        misses = {cls: np.round(simulated[cls] - [real[cls][k] for k in colours], 3).tolist() for cls in (1, 2, 3, 4)}
        print(f"# round {step}: simulated minus real labelled medians {colours}: {misses}")
        print(f"TRUE_CLASS_COLOUR_OFFSETS = {calibration.TRUE_CLASS_COLOUR_OFFSETS}")


def measure_label_mixing(seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """``LABEL_MIXING``: P(true class | simulated experts' mode) on simulated NGC 1566 galaxies.

    The real catalogs' classes are human labels, so their per-class statistics mix
    true classes as the experts confuse them; the simulator's expert pool labels its
    own galaxy at 17.9 Mpc (3000 px, 2,000 candidates, NGC 1566's CI cut), and the
    inspected candidates, pooled over ``seeds``, give the mixing (rows: label 1-4,
    columns: true class 1-4).
    """
    import csv
    import tempfile

    from starcnet_core.io.galaxy import read_galaxy

    counts = np.zeros((4, 4))
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            directory = _simulated_ngc1566(Path(tmp) / str(seed), seed, "mix")
            with open(directory / "mix_truth.csv", newline="") as handle:
                truth = np.array([int(row["true_class"]) for row in csv.DictReader(handle)])
            labels = np.asarray(read_galaxy(directory).catalog.labels["LEGUS mode"])
            seen = labels > 0
            np.add.at(counts, (labels[seen] - 1, truth[seen] - 1), 1)
    mixing = counts / counts.sum(axis=1, keepdims=True)
    print(f"# label mixing from {int(counts.sum())} inspected candidates, seeds {seeds}")
    print(f"LABEL_MIXING = np.array({np.round(mixing, 3).tolist()})")


def _pooled_ci_percentiles(ci: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.quantile(ci[(labels >= 1) & (labels <= 4)], [0.16, 0.5, 0.84])


def measure_psf_widths(legus: Path, seeds: tuple[int, ...] = (0, 1)) -> None:
    """PSF width scatter (NGC 1566, WFC3) and the ACS/WFC width (NGC 628, ACS B/V/I), from CI.

    CI is the pixel observable of the PSF: the 16/50/84th percentiles of the
    classified candidates' CI (classes 1-4 pooled, so no class's numbers
    are aimed at) in a simulated galaxy at the field's distance, CI cut and
    instruments, against the real catalog; the grid value with the smallest
    sum of squared differences (averaged over ``seeds``) is printed.
    """
    import tempfile

    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import calibration, psf, simulate_galaxy

    real1566 = read_catalog(legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab")
    real628 = read_catalog(legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt")
    targets = {
        "NGC 1566": _pooled_ci_percentiles(np.asarray(real1566.table["ci"], float), np.asarray(real1566.table["class_hybrid"], int)),
        "NGC 628": _pooled_ci_percentiles(np.asarray(real628.table["ci"], float), np.asarray(real628.table["class_mode"], int)),
    }

    def misfit(name: str, distance: float, filter_set: str) -> float:
        cost = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in seeds:
                directory = simulate_galaxy(
                    Path(tmp) / str(seed), size=3000, n_candidates=2000, distance_mpc=distance, seed=seed,
                    ci_cut=calibration.CI_CUTS[name], filter_set=filter_set, legus_field=name, field="cal",
                )
                sim = read_galaxy(directory).catalog
                got = _pooled_ci_percentiles(np.asarray(sim.table["ci"], float), np.asarray(sim.labels["LEGUS mode"]))
                cost.append(float(np.sum((got - targets[name]) ** 2)))
        return float(np.mean(cost))

    def fit(name: str, distance: float, filter_set: str, attribute: str, grid: np.ndarray) -> float:
        costs = []
        for value in grid:
            setattr(psf, attribute, value)  # psf.psf_widths / nominal_fwhm read these at call time
            costs.append(misfit(name, distance, filter_set))
            print(f"#   {name}: {attribute} = {value:.3f}: CI misfit {costs[-1]:.5f}")
        return float(grid[int(np.argmin(costs))])

    print(f"# real pooled CI 16/50/84: {({k: np.round(v, 3).tolist() for k, v in targets.items()})}")
    scatter = fit("NGC 1566", NGC1566_DISTANCE_MPC, "wfc3", "PSF_WIDTH_SCATTER", np.arange(0.0, 0.121, 0.02))
    psf.PSF_WIDTH_SCATTER = scatter
    print(f"PSF_WIDTH_SCATTER = {scatter:.2f}")
    scale = fit("NGC 628", NGC628_DISTANCE_MPC, "wfc3+acs", "ACS_PSF_SCALE", np.arange(1.0, 1.201, 0.04))
    print(f"ACS_PSF_SCALE = {scale:.2f}")


def _binned_errors(table, band: str, centres: np.ndarray) -> np.ndarray:
    mag = np.asarray(table[f"mag_{band}"], float)
    err = np.asarray(table[f"magerr_{band}"], float)
    ok = (mag < 40) & (err > 0) & (err < 5)
    out = np.full(len(centres), np.nan)
    for k, c in enumerate(centres):
        sel = ok & (np.abs(mag - c) < 0.25)
        if sel.sum() >= 10:
            out[k] = np.median(err[sel])
    return out


def measure_error_floor(legus: Path, seed: int = 0) -> None:
    """Per field and band, the catalog errors' floor (aperture-correction uncertainty) and noise ratio.

    Real median error^2 = floor^2 + k^2 * simulated error^2 in 0.5 mag bins of
    apparent magnitude 21.5-24.5 (at least 10 sources per bin), least squares
    in (floor^2, k^2); the simulated galaxy is measured without a floor. k is
    the real pixel noise relative to the simulated one; it is printed, not used.
    """
    import tempfile

    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import calibration, simulate_galaxy

    fields = {
        "NGC 1566": (
            read_catalog(legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"),
            NGC1566_DISTANCE_MPC,
            "wfc3",
        ),
        "NGC 628": (
            read_catalog(legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt"),
            NGC628_DISTANCE_MPC,
            "wfc3+acs",
        ),
    }
    centres = np.arange(21.5, 24.51, 0.5)
    saved = dict(calibration.APCOR_ERROR_MAG)
    calibration.APCOR_ERROR_MAG.clear()
    floors = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, (real, distance, filter_set) in fields.items():
                directory = simulate_galaxy(
                    Path(tmp) / name.replace(" ", ""), size=3000, n_candidates=2000, distance_mpc=distance,
                    seed=seed, ci_cut=calibration.CI_CUTS[name], filter_set=filter_set, legus_field=name,
                    field="cal",
                )
                sim = read_galaxy(directory).catalog.table
                row, ratios = [], []
                for band in BANDS:
                    r, s = _binned_errors(real.table, band, centres), _binned_errors(sim, band, centres)
                    ok = np.isfinite(r) & np.isfinite(s)
                    design = np.column_stack([np.ones(ok.sum()), s[ok] ** 2])
                    (f2, k2), *_ = np.linalg.lstsq(design, r[ok] ** 2, rcond=None)
                    row.append(round(float(np.sqrt(max(f2, 0.0))), 3))
                    ratios.append(round(float(np.sqrt(max(k2, 0.0))), 2))
                floors[name] = tuple(row)
                print(f"#   {name}: noise ratio real/simulated per band {dict(zip(BANDS, ratios, strict=True))}")
    finally:
        calibration.APCOR_ERROR_MAG.update(saved)
    print(f"APCOR_ERROR_MAG = {floors}")


def measure_inspection_limit(legus: Path) -> None:
    """NGC 628's classified fraction vs M_V among Nflt >= 4 candidates: a logistic (M50, width)."""
    from scipy.optimize import minimize

    table = read_catalog(
        legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt"
    ).table
    m_v = np.asarray(table["mag_V"], float) - distance_modulus(NGC628_DISTANCE_MPC)
    rows = (np.asarray(table["nflt"], int) >= 4) & (m_v < 0)
    x, classified = m_v[rows], np.asarray(table["class_mode"], int)[rows] > 0

    def nll(params: np.ndarray) -> float:
        m50, width = params[0], abs(params[1]) + 1e-3
        p = np.clip(1.0 / (1.0 + np.exp((x - m50) / width)), 1e-9, 1 - 1e-9)
        return -np.sum(np.where(classified, np.log(p), np.log(1 - p)))

    fit = minimize(nll, [-6.0, 0.2], method="Nelder-Mead")
    print(
        f'INSPECTION_LIMITS = {{"NGC 628": ({fit.x[0]:.2f}, {abs(fit.x[1]) + 1e-3:.2f})}}'
        f"  # n={rows.sum()}, {classified.sum()} classified"
    )


def fit_field_depth(legus: Path, seeds: tuple[int, ...] = (0, 1), rounds: int = 3) -> None:
    """``FIELD_DETECTION_DEPTH`` of NGC 628: the depth whose simulated catalog reaches as deep as the real one.

    What the source detection found, before anyone labelled it: the median V of the
    catalog's rows with Nflt >= 4 (NGC 628's catalog lists no others), all classes and
    class 0 together, real against simulated NGC 628 galaxies (9.9 Mpc, WFC3 + ACS, 3000 px,
    2,000 candidates, ``seeds``). Starting from depth 0, each round moves the depth by the
    difference over 0.7, the median's measured response per magnitude of depth.
    """
    import tempfile

    from starcnet_core.io.galaxy import read_galaxy
    from starcnet_core.sim import calibration, simulate_galaxy

    def deep_median(table) -> float:
        v, nflt = np.asarray(table["mag_V"], float), np.asarray(table["nflt"], int)
        return float(np.median(v[(nflt >= 4) & (v < 90)]))

    real = deep_median(
        read_catalog(legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt").table
    )
    depth = 0.0
    for step in range(rounds):
        calibration.FIELD_DETECTION_DEPTH["NGC 628"] = depth
        medians = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in seeds:
                directory = simulate_galaxy(
                    Path(tmp) / str(seed),
                    size=3000,
                    n_candidates=2000,
                    distance_mpc=NGC628_DISTANCE_MPC,
                    filter_set="wfc3+acs",
                    seed=seed,
                    ci_cut=calibration.CI_CUTS["NGC 628"],
                    field="depth",
                    legus_field="NGC 628",
                )
                medians.append(deep_median(read_galaxy(directory).catalog.table))
        simulated = float(np.mean(medians))
        print(f"# round {step}: depth {depth:.2f}: simulated median V {simulated:.3f}, real {real:.3f}")
        depth = round(depth + (real - simulated) / 0.7, 2)
    print(f'FIELD_DETECTION_DEPTH = {{"NGC 628": {depth}}}')


def measure_ci_tails(legus: Path) -> None:
    """Per real catalog: the classified candidates' CI 99th percentile and share above 2.5."""
    class_column = {"ngc3351": 35, "ngc1313-w": 36, "ngc45": 35}
    files = sorted((legus / "catalogs").glob("*.tab")) + sorted((legus / "ngc1566").glob("*.tab"))
    for path in files:
        field = path.name.split("_")[4]
        table = np.loadtxt(path)
        shift = 2 if field == "ngc1313-w" else 0
        ci = table[:, 15 + shift]
        classes = table[:, class_column.get(field, 34) - 1].astype(int)
        classified = (classes >= 1) & (classes <= 4)
        print(
            f"# CI of classified candidates, {field}: 99th percentile {np.quantile(ci[classified], 0.99):.2f}, "
            f"{np.mean(ci[classified] > 2.5):.2%} above 2.5 (n={classified.sum()})"
        )
    table = np.loadtxt(legus / "ngc628" / "ngc628_catalog_wClass0.csv", delimiter=",")
    classified = table[:, 33] > 0
    print(
        f"# CI of classified candidates, ngc628: 99th percentile {np.quantile(table[classified, 15], 0.99):.2f}, "
        f"{np.mean(table[classified, 15] > 2.5):.2%} above 2.5 (n={classified.sum()})"
    )


def measure_ci_cuts(legus: Path) -> None:
    """Each catalog's CI cut: its smallest CI (LEGUS keeps only candidates above the cut)."""
    files = sorted((legus / "catalogs").glob("*.tab")) + sorted((legus / "ngc1566").glob("*.tab"))
    for path in files:
        field = path.name.split("_")[4]
        # NGC 1313-W has two more position columns before the photometry.
        ci = np.loadtxt(path, usecols=17 if field == "ngc1313-w" else 15)
        print(f"# CI cut {field}: {ci.min():.2f}")
    ci = np.loadtxt(legus / "ngc628" / "ngc628_catalog_wClass0.csv", delimiter=",", usecols=15)
    print(f"# CI cut ngc628: {ci.min():.2f}")


def measure_detection_limits(path: Path) -> None:
    """Per band, the NGC 1566 magnitude where the catalog error reaches 0.3 mag (Nflt's threshold)."""
    table = read_catalog(path).table
    for band in BANDS:
        mag, err = np.asarray(table[f"mag_{band}"], float), np.asarray(table[f"magerr_{band}"], float)
        near = (mag < 40) & (np.abs(err - 0.3) < 0.05)
        print(f"# NGC 1566 {band}: error 0.3 mag at {np.median(mag[near]):.2f} ({near.sum()} sources)")


def measure_ryon(directory: Path) -> None:
    """Print the pooled log10 Reff (pc) and EFF slope distributions."""
    reff, eta = [], []
    for name in sorted(directory.glob("ryon_results_*.txt")):
        table = ascii.read(name, format="cds")
        r = np.array(table["logReff-gal"].filled(np.nan), float)
        e = np.array(table["Eta"].filled(np.nan), float)
        # Ryon et al. (2017) trust GALFIT radii only for eta > 1.3: flatter
        # profiles have an unbounded (diverging) half-light radius.
        ok = np.isfinite(r) & (e > 1.3)
        reff.append(r[ok])
        eta.append(e[ok])
        print(f"# {name.name}: {len(table)} clusters, {ok.sum()} with eta > 1.3")
    r = np.concatenate(reff)
    e = np.concatenate(eta)
    print(f"LOG_REFF_PC = ({r.mean():.3f}, {r.std():.3f})  # n={len(r)}")
    print(f"LOG_REFF_PC_QUANTILES = {np.round(np.quantile(r, [0.05, 0.5, 0.95]), 3).tolist()}")
    print(
        f"EFF_ETA = ({np.median(e):.3f}, {np.quantile(e, 0.16):.3f}, {np.quantile(e, 0.84):.3f})  # n={len(e)}"
    )


def _ryon_clusters(directory: Path):
    """Per Ryon et al. (2017) galaxy: (distance, log10 Reff / pc, eta, measured CI) of the reliable fits."""
    out = {}
    for name, distance in (("ngc628", NGC628_DISTANCE_MPC), ("ngc1313", NGC1313_DISTANCE_MPC)):
        table = ascii.read(directory / f"ryon_results_{name}.txt", format="cds")
        r, eta, ci = (np.array(np.ma.filled(table[k], np.nan), float) for k in ("logReff-gal", "Eta", "CI"))
        ok = np.isfinite(r) & (eta > 1.3)
        out[name] = (distance, r[ok], eta[ok], ci[ok])
    return out


def fit_reff_shift(directory: Path) -> None:
    """``REFF_RENDER_SHIFT_DEX``: the radius shift that gives Ryon's clusters their measured V CI.

    Each cluster with a reliable GALFIT fit is rendered round and noiseless at its
    own radius (shifted) and eta through the nominal WFC3/UVIS V PSF, its CI measured
    with the catalog's exact apertures; the grid value with the smallest squared
    difference to the catalog CI over both galaxies is printed.
    """
    from starcnet_core.sim.calibration import pc_per_pixel
    from starcnet_core.sim.photometry import CI_RADII_PX, aperture_fluxes, tile_patches
    from starcnet_core.sim.scene import isolated_clusters

    v = BANDS.index("V")
    clusters = _ryon_clusters(directory)

    def differences(shift: float) -> dict[str, np.ndarray]:
        out = {}
        for name, (distance, r, eta, ci) in clusters.items():
            patches = isolated_clusters(10.0 ** (r + shift) / pc_per_pixel(distance), eta)
            mosaic, origins = tile_patches(patches[:, [v]])
            flux = aperture_fluxes(mosaic[0], origins + patches.shape[-1] // 2, CI_RADII_PX)
            out[name] = 2.5 * np.log10(flux[:, 1] / flux[:, 0]) - ci
        return out

    grid = np.round(np.arange(-0.20, 0.001, 0.01), 2)
    rms = []
    for shift in grid:
        diff = differences(shift)
        rms.append(float(np.sqrt(np.mean(np.concatenate(list(diff.values())) ** 2))))
        medians = ", ".join(f"{k} {np.median(d):+.3f}" for k, d in diff.items())
        print(f"#   shift {shift:+.2f} dex: rms {rms[-1]:.4f} mag; median simulated - measured CI: {medians}")
    print(f"REFF_RENDER_SHIFT_DEX = {grid[int(np.argmin(rms))]:.2f}")


def _photometry_and_sed(catalog, class_column: str, distance_mpc: float):
    """(M_V, NUV-V, U-V, B-V, V-I), (log age, log mass, E(B-V)), class, interval widths, SED-fitted mask."""
    table = catalog.table
    mags = np.column_stack([np.asarray(table[f"mag_{b}"], float) for b in BANDS])
    x = np.column_stack(
        [
            mags[:, 3] - distance_modulus(distance_mpc),
            mags[:, 0] - mags[:, 3],
            mags[:, 1] - mags[:, 3],
            mags[:, 2] - mags[:, 3],
            mags[:, 3] - mags[:, 4],
        ]
    )
    age, mass, ebv = (np.asarray(table[q], float) for q in ("age", "mass", "ebv"))
    fitted = age > 0  # LEGUS writes 0 where no SED fit was made (Nflt < 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.column_stack([np.log10(age), np.log10(mass), ebv])
        widths = np.column_stack(
            [
                np.log10(np.asarray(table["age_max"], float) / age),
                np.log10(age / np.asarray(table["age_min"], float)),
                np.log10(np.asarray(table["mass_max"], float) / mass),
                np.log10(mass / np.asarray(table["mass_min"], float)),
                np.asarray(table["ebv_max"], float) - ebv,
                ebv - np.asarray(table["ebv_min"], float),
            ]
        )
    classes = np.asarray(table[class_column], dtype=int)
    return x, y, classes, widths, fitted


def measure_sed(legus: Path) -> None:
    """Print the per-class SED regressions and the 68% interval widths."""
    ngc1566 = read_catalog(
        legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    )
    ngc628 = read_catalog(
        legus / "ngc628" / "ngc628_catalog_wClass0.csv", legus / "ngc628" / "LEGUS_description.txt"
    )
    parts = [
        _photometry_and_sed(ngc1566, "class_hybrid", NGC1566_DISTANCE_MPC),
        _photometry_and_sed(ngc628, "class_mode", NGC628_DISTANCE_MPC),
    ]
    x, y, classes, widths, fitted = (np.concatenate(p) for p in zip(*parts, strict=True))
    usable = fitted & np.all(np.isfinite(x), axis=1)
    print(f"# SED: {usable.sum()} sources with an SED fit, detected in all five bands")
    print("CLASS_SED = {")
    for cls in (1, 2, 3, 4):
        sel = usable & (classes == cls)
        design = np.column_stack([np.ones(sel.sum()), x[sel]])
        coef, *_ = np.linalg.lstsq(design, y[sel], rcond=None)
        residual = y[sel] - design @ coef
        print(f"    {cls}: dict(  # n={sel.sum()}")
        print(f"        coef={np.round(coef, 4).tolist()},")
        print(f"        cov={np.round(np.cov(residual.T), 5).tolist()},")
        print("    ),")
    print("}")
    sel = usable & (classes >= 1)
    rows = []
    for k in range(widths.shape[1]):
        w = widths[sel, k]
        w = w[np.isfinite(w)]
        positive = w[w > 0]
        rows.append((round(float(np.mean(w <= 0)), 3), round(float(np.mean(positive)), 4)))
    print(f"SED_INTERVALS = {rows}  # (fraction without width, mean width) age+/-, mass+/-, E(B-V)+/-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="the shared data directory")
    args = parser.parse_args()
    legus = args.data / "legus"
    ngc1566 = legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
    measure_ngc1566(ngc1566)
    measure_detection_limits(ngc1566)
    measure_luminosity_functions(legus)
    fit_true_class_detection(legus)
    fit_true_class_colours(legus)
    fit_reff_shift(legus / "ryon2017")
    measure_psf_widths(legus)
    measure_error_floor(legus)
    measure_inspection_limit(legus)
    fit_field_depth(legus)
    measure_ci_cuts(legus)
    measure_ci_tails(legus)
    measure_ryon(legus / "ryon2017")
    measure_sed(legus)
    measure_label_mixing()


if __name__ == "__main__":
    main()
