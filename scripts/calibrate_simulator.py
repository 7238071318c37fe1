"""Measure the numbers in ``starcnet_core/sim/calibration.py`` from real LEGUS tables.

Prints, as Python literals ready to paste:

* per class (hybrid class, column 34 of the NGC 1566 catalog): mean and
  covariance of the absolute V magnitude and the colours NUV-V, U-V, B-V, V-I
  (sources detected in all five bands; distance 17.9 Mpc, Sabbi et al. 2018),
  and the mean and spread of the concentration index;
* the distribution of cluster sizes (log10 effective radius, pc, from GALFIT)
  and EFF power-law slopes in Ryon et al. (2017), NGC 628 and NGC 1313
  (clusters with a reliable fit, eta > 1.3, as in that paper).

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

from starcnet_core.catalogs import read_catalog  # noqa: E402

NGC1566_DISTANCE_MPC = 17.9


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="the shared data directory")
    args = parser.parse_args()
    legus = args.data / "legus"
    measure_ngc1566(legus / "ngc1566" / "hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab")
    measure_ryon(legus / "ryon2017")


if __name__ == "__main__":
    main()
