"""Opening gzip-compressed mosaics: the first opening (decompression into the cache) and later ones.

Writes five LEGUS-named float32 mosaics of sky noise as ``.fits.gz`` to a
temporary directory and times :func:`starcnet_core.io.mosaics.open_mosaics`
three ways: the first opening (every band decompressed once into the cache,
then memory-mapped), a second opening (the cached copies reused), and, for
comparison, the plain ``.fits`` memory-mapped. Stamps are then cut from the
cached copies to show they serve as the plain files do. Prints a markdown
section (see run_all.py).

    python benchmarks/bench_mosaics_gzip.py [--size 4000]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.run_all import instruction_sets  # noqa: E402
from starcnet_core.io.cutouts import extract_stamps  # noqa: E402
from starcnet_core.io.mosaics import IN_MEMORY_BYTES, open_mosaics  # noqa: E402

FILTERS = ("f275w", "f336w", "f438w", "f555w", "f814w")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4000, help="mosaic side, pixels")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        plain, packed, cache = Path(tmp) / "plain", Path(tmp) / "gz", Path(tmp) / "data"
        plain.mkdir()
        packed.mkdir()
        os.environ["STARCNET_DATA_DIR"] = str(cache)
        compressed_bytes = 0
        for name in FILTERS:
            data = rng.normal(1.0, 0.1, (args.size, args.size)).astype(np.float32)
            path = plain / f"hlsp_legus_hst_uvis_bench_{name}_v1_drc.fits"
            fits.PrimaryHDU(data, header=fits.Header({"FILTER": name.upper()})).writeto(path)
            target = packed / (path.name + ".gz")
            target.write_bytes(gzip.compress(path.read_bytes(), compresslevel=6))
            compressed_bytes += target.stat().st_size
        timings = {}
        for label, source in (("plain", plain), ("first .gz", packed), ("second .gz", packed)):
            start = time.perf_counter()
            mosaics = open_mosaics(source)
            timings[label] = time.perf_counter() - start
        x = rng.uniform(20, args.size - 20, 20_000)
        y = rng.uniform(20, args.size - 20, 20_000)
        start = time.perf_counter()
        cut = extract_stamps(mosaics.arrays(), x, y, 32)
        stamp_seconds = time.perf_counter() - start
        raw_mb = 5 * args.size * args.size * 4 / 1e6
        where = "into memory" if args.size * args.size * 4 < IN_MEMORY_BYTES else "into the cache"

    again = "cache reused" if where == "into the cache" else "decompressed again"
    rows = [
        ("open_mosaics, plain .fits (memory-mapped)", f"{timings['plain'] * 1000:.0f} ms"),
        (f"open_mosaics, .fits.gz first time (decompressed {where})", f"{timings['first .gz']:.1f} s"),
        (f"open_mosaics, .fits.gz again ({again})", f"{timings['second .gz'] * 1000:.0f} ms"),
        (
            "20,000 stamps cut from the decompressed mosaics",
            f"{stamp_seconds * 1000:.0f} ms ({int(cut.usable.sum()):,} usable)",
        ),
    ]
    print("## Gzip-compressed mosaics (bench_mosaics_gzip.py)")
    print()
    print(f"*CPU flags: {instruction_sets()}; 1-min load average after the timings: {os.getloadavg()[0]:.1f}.*")
    print()
    print(
        f"Five {args.size}x{args.size} float32 mosaics of sky noise ({raw_mb:.0f} MB as FITS, "
        f"{compressed_bytes / 1e6:.0f} MB as .fits.gz: noise compresses poorly, real mosaics with "
        "blank borders compress better and decompress faster)."
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
