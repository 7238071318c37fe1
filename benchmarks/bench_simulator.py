"""Simulator fidelity against real LEGUS catalogs, and simulator speed.

Fidelity (issue 11): a simulated galaxy at 17.9 Mpc against the real NGC 1566
catalog (hybrid class, column 34) and one at 9.9 Mpc against NGC 628 (class
mode): per-class medians of M_V, V-I, U-B, NUV-U and the 16/50/84th
percentiles of CI, side by side, with the goals (0.15 mag for the NGC 1566
medians, 0.05 for CI medians, 0.1 for its percentiles, 0.2 mag for NGC 628's
M_V medians). Also: the simulated catalog's magnitudes against magnitudes
measured again, independently, on the mosaic files it came with (photutils,
4 px aperture, 7-8 px sky annulus, the APCOR in each header), per source kind;
the most negative pixel of noiseless renders relative to their peak; and the
class ordering real catalogs show.

Speed (issue 2): a 4000x4000 galaxy with 1,500 candidates in <= 60 s and the
full survey in <= 5 min on 2 cores; the simulated experts' agreement on the
survey (paper: 57.3% between two experts).

    python benchmarks/bench_simulator.py [--data ../shared/data] [--size 3000] [--n-candidates 2000]
        [--skip-speed] [--survey-fraction 1.0]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.io.bands import BANDS, VEGA_ZEROPOINTS  # noqa: E402
from starcnet_core.io.catalogs import read_catalog  # noqa: E402
from starcnet_core.io.galaxy import read_galaxy  # noqa: E402
from starcnet_core.sim import simulate_galaxy, simulate_survey  # noqa: E402
from starcnet_core.sim.calibration import CI_CUTS, distance_modulus  # noqa: E402
from starcnet_core.sim.population import draw_candidates  # noqa: E402
from starcnet_core.sim.render import render_patches  # noqa: E402

_NGC1566 = "legus/ngc1566/hlsp_legus_hst_wfc3_ngc1566_multiband_v1_padagb-mwext-avgapcor.tab"
_NGC628 = ("legus/ngc628/ngc628_catalog_wClass0.csv", "legus/ngc628/LEGUS_description.txt")


def class_statistics(table, labels: np.ndarray, distance_mpc: float) -> dict[int, dict[str, float]]:
    """Per class 1-4: medians of M_V, V-I, U-B, NUV-U (detected bands) and CI 16/50/84th percentiles."""
    mag = {b: np.asarray(table[f"mag_{b}"], float) for b in BANDS}
    ci = np.asarray(table["ci"], float)
    out = {}
    for cls in (1, 2, 3, 4):
        sel = labels == cls

        def colour(a: str, b: str, sel=sel) -> float:
            ok = sel & (mag[a] < 90) & (mag[b] < 90)
            return float(np.median(mag[a][ok] - mag[b][ok]))

        v_ok = sel & (mag["V"] < 90)
        p16, p50, p84 = np.quantile(ci[sel], [0.16, 0.5, 0.84])
        out[cls] = {
            "n": int(sel.sum()),
            "M_V": float(np.median(mag["V"][v_ok])) - float(distance_modulus(distance_mpc)),
            "V-I": colour("V", "I"),
            "U-B": colour("U", "B"),
            "NUV-U": colour("NUV", "U"),
            "CI16": float(p16),
            "CI": float(p50),
            "CI84": float(p84),
        }
    return out


_GOALS = {"M_V": 0.15, "V-I": 0.15, "U-B": 0.15, "NUV-U": 0.15, "CI16": 0.1, "CI": 0.05, "CI84": 0.1}


def _comparison(real: dict, sim: dict, goals: dict[str, float], title: str) -> tuple[list[str], int, int]:
    lines = [f"**{title}** (simulated / real, difference; goal in brackets)", ""]
    lines.append("| class | n sim / real | " + " | ".join(f"{k} [{v}]" for k, v in goals.items()) + " |")
    lines.append("|---" * (len(goals) + 2) + "|")
    met = total = 0
    for cls in (1, 2, 3, 4):
        cells = []
        for key, goal in goals.items():
            diff = sim[cls][key] - real[cls][key]
            ok = abs(diff) <= goal
            met, total = met + ok, total + 1
            cells.append(f"{sim[cls][key]:.2f} / {real[cls][key]:.2f} ({diff:+.2f}{'' if ok else ' MISS'})")
        lines.append(f"| {cls} | {sim[cls]['n']} / {real[cls]['n']} | " + " | ".join(cells) + " |")
    return lines, met, total


def remeasured_difference(galaxy_dir: Path) -> dict[str, tuple[int, float]]:
    """Per source kind: rows and median |catalog - remeasured| mag over detected bands."""
    galaxy = read_galaxy(galaxy_dir)
    table = galaxy.catalog.table
    xy = np.column_stack([np.asarray(table["x"], float) - 1, np.asarray(table["y"], float) - 1])
    diffs = []
    for band in BANDS:
        mosaic = galaxy.mosaics.bands[band]
        image = np.asarray(mosaic.data, float)
        sky = ApertureStats(image, CircularAnnulus(xy, 7.0, 8.0)).median
        flux = aperture_photometry(image, CircularAperture(xy, 4.0), method="exact")["aperture_sum"]
        flux = np.asarray(flux, float) - np.asarray(sky, float) * np.pi * 16.0
        zp = VEGA_ZEROPOINTS[(mosaic.instrument, mosaic.filter)]
        catalog = np.asarray(table[f"mag_{band}"], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            measured = zp - 2.5 * np.log10(flux) + mosaic.header["APCOR"]
        diffs.append(np.where(catalog < 90, np.abs(catalog - measured), np.nan))
    with open(next(galaxy_dir.glob("*_truth.csv"))) as handle:
        kinds = np.array([row["kind"] for row in csv.DictReader(handle)])
    diffs = np.column_stack(diffs)
    return {
        kind: (int(np.sum(kinds == kind)), float(np.nanmedian(diffs[kinds == kind])))
        for kind in sorted(set(kinds))
    }


def noiseless_minimum(seed: int = 0) -> float:
    """Most negative pixel of noiseless candidate renders (all classes, 17.9 and 4 Mpc) over their peak."""
    rng = np.random.default_rng(seed)
    worst = np.inf
    for distance in (17.9, 4.0):
        truth = np.repeat([1, 2, 3, 4], 100)
        candidates = draw_candidates(truth, distance, rng)
        comps = candidates.components
        comps.dx = comps.dx + rng.uniform(0, 1, len(truth))[comps.patch]
        comps.dy = comps.dy + rng.uniform(0, 1, len(truth))[comps.patch]
        patches = render_patches(comps, len(truth), 48)
        peak = patches.max(axis=(2, 3), keepdims=True)
        ratio = np.where(peak > 0, patches / np.where(peak > 0, peak, 1), 0)
        worst = min(worst, float(ratio.min()))
    return worst


def _labels_against_truth(directory: Path, name: str) -> str:
    """How often the simulated experts' mode is the true class, and each class's share, on the inspected candidates."""
    with open(directory / "bench_truth.csv", newline="") as handle:
        truth = np.array([int(row["true_class"]) for row in csv.DictReader(handle)])
    labels = np.asarray(read_galaxy(directory).catalog.labels["LEGUS mode"])
    seen = labels > 0
    shares = ", ".join(
        f"class {c} {np.mean(truth[seen] == c):.0%} true / {np.mean(labels[seen] == c):.0%} labelled" for c in (1, 2, 3, 4)
    )
    return (
        f"{name} simulated, inspected candidates: the experts' mode is the true class on "
        f"{np.mean(labels[seen] == truth[seen]):.1%} ({shares})."
    )


def faintest_shares(real_table, real_labels, sim_table, sim_labels, distance_mpc: float) -> tuple[float, str]:
    """Class shares of the faintest half magnitude (M_V, 0.5 mag grid) with >= 50 real inspected candidates.

    Returns the bin's bright edge and a line "real a / b / c / d%, simulated ...".
    """

    def m_v(table) -> np.ndarray:
        return np.asarray(table["mag_V"], float) - float(distance_modulus(distance_mpc))

    real_m, sim_m = m_v(real_table), m_v(sim_table)
    edges = np.arange(-12.0, -4.0, 0.5)
    counts = [np.sum((real_labels > 0) & (real_m >= a) & (real_m < a + 0.5)) for a in edges]
    edge = float(edges[max(i for i, c in enumerate(counts) if c >= 50)])

    def shares(m: np.ndarray, labels: np.ndarray) -> str:
        rows = (labels > 0) & (m >= edge) & (m < edge + 0.5)
        return " / ".join(f"{np.mean(labels[rows] == c):.0%}" for c in (1, 2, 3, 4)) + f" (n={rows.sum()})"

    return edge, f"real {shares(real_m, real_labels)}, simulated {shares(sim_m, sim_labels)}"


def fidelity(data: Path, size: int, n_candidates: int, seed: int, tmp: Path) -> list[str]:
    """The fidelity section's markdown lines."""
    real1566 = read_catalog(data / _NGC1566)
    real628 = read_catalog(data / _NGC628[0], data / _NGC628[1])
    lines = []
    results, listed_zero, faintest = {}, {}, {}
    # Each field with its own instruments: NGC 628's B, V, I are ACS/WFC.
    for name, distance, real, column, filter_set in (
        ("NGC 1566", 17.9, real1566, "class_hybrid", "wfc3"),
        ("NGC 628", 9.9, real628, "class_mode", "wfc3+acs"),
    ):
        start = time.perf_counter()
        directory = simulate_galaxy(
            tmp / name.replace(" ", ""),
            size=size,
            n_candidates=n_candidates,
            distance_mpc=distance,
            seed=seed,
            ci_cut=CI_CUTS[name],
            filter_set=filter_set,
            field="bench",
            legus_field=name,
        )
        seconds = time.perf_counter() - start
        sim = read_galaxy(directory).catalog
        sim_labels = np.asarray(sim.labels["LEGUS mode"])
        results[name] = (
            class_statistics(sim.table, sim_labels, distance),
            class_statistics(real.table, np.asarray(real.table[column], int), distance),
            directory,
            seconds,
            np.mean(sim_labels == 0),
            np.mean(np.asarray(real.table[column], int) == 0),
        )
        listed_zero[name] = np.mean(sim_labels[np.asarray(sim.table["nflt"], int) >= 4] == 0)
        faintest[name] = faintest_shares(
            real.table, np.asarray(real.table[column], int), sim.table, sim_labels, distance
        )
    tails = {
        name: (
            float(np.mean(np.asarray(read_galaxy(r[2]).catalog.table["ci"], float) > 2.5)),
            float(np.mean(np.asarray(real_table.table["ci"], float)[np.asarray(real_table.table[col], int) >= 0] > 2.5)),
        )
        for (name, r), (real_table, col) in zip(
            results.items(), ((real1566, "class_hybrid"), (real628, "class_mode")), strict=True
        )
    }
    sim, real, directory, seconds, zero_sim, zero_real = results["NGC 1566"]
    table, met, total = _comparison(
        real, sim, _GOALS, f"17.9 Mpc against NGC 1566 ({seconds:.0f} s to simulate)"
    )
    lines += table
    lines += [
        "",
        f"Goals met at 17.9 Mpc: {met} of {total}. Class 0 (not inspected): {zero_sim:.1%} simulated, "
        f"{zero_real:.1%} real.",
        "",
    ]
    sim628, real628_stats, _, seconds628, zero_sim628, zero_real628 = results["NGC 628"]
    table, met628, total628 = _comparison(
        real628_stats, sim628, {"M_V": 0.2, "CI": 0.05}, f"9.9 Mpc against NGC 628 ({seconds628:.0f} s)"
    )
    lines += table
    lines += [
        "",
        f"Goals met at 9.9 Mpc: {met628} of {total628} (the issue's goal is M_V). Class 0: "
        f"{zero_sim628:.1%} simulated, {zero_real628:.1%} real; among the rows with Nflt >= 4 (NGC 628's "
        f"catalog lists no others) {listed_zero['NGC 628']:.1%} simulated.",
        "",
    ]
    lines += [_labels_against_truth(results[name][2], name) for name in results] + [""]
    for name, (edge, line) in faintest.items():
        lines.append(
            f"{name}, faintest inspected half magnitude (M_V {edge:.1f} to {edge + 0.5:.1f}), "
            f"classes 1 / 2 / 3 / 4: {line}."
        )
    lines.append("")
    order_u_b = min(sim, key=lambda c: sim[c]["U-B"]) == 3
    order_ci = max(sim, key=lambda c: sim[c]["CI"]) == 3
    red = sorted(sim, key=lambda c: -sim[c]["V-I"]).index(1) < 2
    low_ci = sorted(sim, key=lambda c: sim[c]["CI"]).index(1) < 2
    ordered = order_u_b and order_ci and red and low_ci
    lines.append(
        f"Class ordering at 17.9 Mpc: class 3 bluest in U-B {'yes' if order_u_b else 'NO'}, highest CI "
        f"{'yes' if order_ci else 'NO'}; class 1 among the two reddest in V-I {'yes' if red else 'NO'}, "
        f"among the two lowest CI {'yes' if low_ci else 'NO'}: **{'met' if ordered else 'NOT met'}**."
    )
    lines.append("")
    lines.append(
        "Candidates with CI > 2.5 (no light peak at the position; real catalogs hold almost none): "
        + ", ".join(f"{name} {sim_t:.2%} simulated, {real_t:.2%} real" for name, (sim_t, real_t) in tails.items())
        + "."
    )
    lines.append("")
    remeasured = remeasured_difference(directory)
    worst = max(d for _, d in remeasured.values())
    lines.append(
        "Catalog minus magnitudes measured again on the mosaic files (median |difference| over detected "
        "bands, goal <= 0.05 mag): "
        + ", ".join(f"{kind} {d:.4f} (n={n})" for kind, (n, d) in remeasured.items())
        + f"; worst {worst:.4f}: **{'met' if worst <= 0.05 else 'NOT met'}**."
    )
    lines.append("")
    lowest = noiseless_minimum(seed)
    lines.append(
        f"Noiseless renders: most negative pixel / peak = {lowest:.2e} (goal >= -1e-6): "
        f"**{'met' if lowest >= -1e-6 else 'NOT met'}**."
    )
    return lines


def speed(size: int, n_candidates: int, fraction: float, seed: int, tmp: Path) -> list[str]:
    """The speed section's markdown lines."""
    start, cpu = time.perf_counter(), time.process_time()
    simulate_galaxy(tmp / "speed", size=size, n_candidates=n_candidates, seed=seed)
    galaxy_s, galaxy_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    survey = simulate_survey(tmp / "s", seed=seed, fraction=fraction)
    survey_s, survey_cpu = time.perf_counter() - start, time.process_time() - cpu
    table = survey.table
    votes = np.column_stack([table[f"vote_{k}"] for k in (1, 2, 3)])
    pairwise = np.mean([np.mean(votes[:, i] == votes[:, j]) for i, j in combinations(range(3), 2)])
    mode_truth = np.mean(table["label"] == table["true_class"])
    expert_mode = np.mean(votes == np.asarray(table["label"])[:, None])
    goal = "<= 300 s" if fraction == 1.0 else "(<= 300 s for the full survey)"
    return [
        "| run | size | seconds (wall) | CPU seconds (all threads) | goal |",
        "|---|---|---|---|---|",
        f"| galaxy mode | {size}x{size} px, {n_candidates} candidates, 5 bands (FITS + catalog written) "
        f"| {galaxy_s:.1f} | {galaxy_cpu:.1f} | <= 60 s: **{'met' if galaxy_s <= 60 else 'NOT met'}** |",
        f"| survey mode | {len(survey)} stamps of 32x32x5 (StampSet written) | {survey_s:.1f} | {survey_cpu:.1f} "
        f"| {goal}{': **met**' if fraction == 1.0 and survey_s <= 300 else ''}"
        f"{': **NOT met**' if fraction == 1.0 and survey_s > 300 else ''} |",
        "",
        f"Simulated experts on the survey: two experts agree on {pairwise:.1%} (paper 57.3%), "
        f"an expert and the mode on {expert_mode:.1%} (paper 75.0%), the mode and the true class on "
        f"{mode_truth:.1%} (goal ~75-80%).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data directory"
    )
    parser.add_argument("--size", type=int, default=3000, help="fidelity galaxies' mosaic side, pixels")
    parser.add_argument("--n-candidates", type=int, default=2000, help="fidelity galaxies' candidates")
    parser.add_argument("--skip-speed", action="store_true", help="only the fidelity comparison")
    parser.add_argument("--skip-fidelity", action="store_true", help="only the speed runs")
    parser.add_argument("--survey-fraction", type=float, default=1.0, help="fraction of the survey (speed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("## Simulator")
    print()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_fidelity:
            if not (args.data / _NGC1566).exists():
                print(f"error: {args.data / _NGC1566}: real catalog not found (--data)", file=sys.stderr)
                return 2
            print("\n".join(fidelity(args.data, args.size, args.n_candidates, args.seed, Path(tmp))))
            print()
        if not args.skip_speed:
            print("\n".join(speed(4000, 1500, args.survey_fraction, args.seed, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
