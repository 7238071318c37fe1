"""Cutout throughput from memory-mapped mosaics: 32x32x5 stamps per second.

Writes five 4000x4000 float32 LEGUS-named mosaics (FITS, big-endian as on
disk) to a temporary directory, opens them with
:func:`starcnet_core.io.mosaics.open_mosaics` (memory-mapped) and times
:func:`starcnet_core.io.cutouts.extract_stamps` at random positions (wall clock and per CPU second). Target of
issue 2: at least 50,000 stamps/s. Prints a markdown section (see run_all.py).

    python benchmarks/bench_cutouts.py [--size 4000] [--stamps 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.io.cutouts import extract_stamps  # noqa: E402
from starcnet_core.io.mosaics import open_mosaics  # noqa: E402

FILTERS = ("f275w", "f336w", "f438w", "f555w", "f814w")
TARGET = 50_000


def write_field(directory: Path, size: int, seed: int = 0) -> None:
    """Five size x size float32 mosaics of sky noise, named as MAST names them."""
    rng = np.random.default_rng(seed)
    for name in FILTERS:
        header = fits.Header()
        header["FILTER"] = name.upper()
        header["INSTRUME"] = "WFC3"
        data = rng.normal(1.0, 0.1, (size, size)).astype(np.float32)
        fits.PrimaryHDU(data, header=header).writeto(
            directory / f"hlsp_legus_hst_uvis_bench_{name}_v1_drc.fits"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4000, help="mosaic side, pixels")
    parser.add_argument("--stamps", type=int, default=20_000, help="stamps per timed call")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_field(directory, args.size)
        start = time.perf_counter()
        mosaics = open_mosaics(directory)
        open_seconds = time.perf_counter() - start
        images = mosaics.arrays()
        rng = np.random.default_rng(1)
        rates, cpu_rates = [], []
        for _ in range(args.repeats):
            x = rng.uniform(1, args.size, args.stamps)
            y = rng.uniform(1, args.size, args.stamps)
            start, cpu_start = time.perf_counter(), time.process_time()
            result = extract_stamps(images, x, y, size=32)
            rates.append(args.stamps / (time.perf_counter() - start))
            # CPU time shows the cost apart from other processes sharing the machine.
            cpu_rates.append(args.stamps / (time.process_time() - cpu_start))
            usable = int(result.usable.sum())
            del result

    best, median = max(rates), statistics.median(rates)
    print("## Cutouts (bench_cutouts.py)\n")
    print(
        f"Five {args.size}x{args.size} float32 mosaics memory-mapped from FITS; "
        f"{args.stamps:,} random 32x32x5 stamps per call, {args.repeats} calls "
        f"({usable:,} usable in the last, the rest at the edges, all returned).\n"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| open_mosaics (5 files, memory-mapped) | {open_seconds * 1000:.1f} ms |")
    print(f"| extract_stamps, median | {median:,.0f} stamps/s |")
    print(f"| extract_stamps, best | {best:,.0f} stamps/s |")
    print(f"| extract_stamps per CPU second, median | {statistics.median(cpu_rates):,.0f} stamps/s |")
    print(f"| target | >= {TARGET:,} stamps/s: {'met' if median >= TARGET else 'NOT met'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
