"""Measure the numbers in ``starcnet_core/sim/calibration.py`` from real LEGUS tables.

Prints, as Python literals ready to paste:

* per class (hybrid class, column 34 of the NGC 1566 catalog): mean and
  covariance of the absolute V magnitude and the colours NUV-V, U-V, B-V, V-I
  (sources detected in all five bands; distance 17.9 Mpc, Sabbi et al. 2018),
  and the mean and spread of the concentration index;
* the distribution of cluster sizes (log10 effective radius, pc, from GALFIT)
  and EFF power-law slopes in Ryon et al. (2017), NGC 628 and NGC 1313
  (clusters with a reliable fit, eta > 1.3, as in that paper);
* per class, the SED-fit quantities (columns 17-25: log10 age, log10 mass,
  E(B-V)) as a linear function of M_V and the four colours, with the
  covariance of the residuals, pooled over NGC 1566 (hybrid class, col 34)
  and NGC 628 (class mode, col 34, 9.9 Mpc; its class 0 are the sources
  fainter than the inspection limit); the 68% interval widths (cols 18-19,
  21-22, 24-25); the fraction and the M_V distribution of the NGC 628
  candidates never inspected (class 0).

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
BANDS = ("NUV", "U", "B", "V", "I")


def distance_modulus(distance_mpc: float) -> float:
    """Distance modulus (mag) for a distance in Mpc."""
    return 5.0 * np.log10(distance_mpc * 1e6) - 5.0


def measure_ngc1566(path: Path) -> None:
    """Print per-class magnitude/colour means and covariances, and CI statistics."""
    catalog = read_catalog(path)
    table = catalog.table
    classes = np.asarray(table["class_hybrid"], dtype=int)
    mags = np.column_stack([np.asarray(table[f"mag_{b}"], float) for b in ("NUV", "U", "B", "V", "I")])
    ci = np.asarray(table["ci"], float)
    good = np.all(np.isfinite(mags) & (mags < 40), axis=1)
    dm = distance_modulus(NGC1566_DISTANCE_MPC)
    print(f"# NGC 1566: {len(table)} rows, {good.sum()} detected in all five bands")
    for cls in (1, 2, 3, 4):
        sel = good & (classes == cls)
        v = mags[sel, 3] - dm
        colours = mags[sel][:, [0, 1, 2, 4]] - mags[sel][:, [3]]
        colours[:, 3] *= -1.0  # V - I, not I - V
        x = np.column_stack([v, colours])
        print(f"{cls}: dict(n={sel.sum()}, mean={np.round(x.mean(0), 3).tolist()},")
        print(f"   cov={np.round(np.cov(x.T), 4).tolist()},")
        print(f"   ci=({ci[sel].mean():.3f}, {ci[sel].std():.3f})),")
    for cls in (0, 1, 2, 3, 4):
        print(f"# class {cls}: {np.sum(classes == cls)} rows")


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
    """Print the per-class SED regressions, interval widths and the uninspected (class 0) numbers."""
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
    x628, _, classes628, _, _ = parts[1]
    zero = classes628 == 0
    m_v = x628[zero, 0]
    m_v = m_v[np.isfinite(m_v)]
    print(
        f"UNINSPECTED_FRACTION = {zero.mean():.3f}  # NGC 628, {zero.sum()} of {len(zero)}; "
        f"UNINSPECTED_M_V = ({m_v.mean():.3f}, {m_v.std():.3f}), {np.mean(m_v > -6):.2f} fainter than -6"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="the shared data directory")
    args = parser.parse_args()
    legus = args.data / "legus"
    measure_ngc1566(legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab")
    measure_ryon(legus / "ryon2017")
    measure_sed(legus)


if __name__ == "__main__":
    main()
