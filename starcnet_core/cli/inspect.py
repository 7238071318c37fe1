"""``python -m starcnet_core inspect PATH``: what a galaxy directory (or catalog + mosaics) holds."""

from __future__ import annotations

import argparse
import json

from starcnet_core.commandline import add_frame_argument
from starcnet_core.io.galaxy import has_mosaics, read_galaxy, read_galaxy_catalog
from starcnet_core.io.inspect import summarize_catalog, summarize_galaxy

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    parser = subparsers.add_parser(
        "inspect",
        help="summarise a LEGUS galaxy or catalog: layout, candidates, labels, bands, usable stamps",
        description="Read a galaxy directory (five mosaics + catalog), a catalog with --mosaics, or a "
        "catalog alone (no mosaics beside it), and print what was found and assumed.",
    )
    parser.add_argument("path", help="galaxy directory, or a catalog file")
    parser.add_argument("--catalog", help="catalog file, when the directory holds several tables")
    parser.add_argument("--mosaics", nargs="+", help="directory of the mosaics, or the five FITS files")
    parser.add_argument("--readme", help="readme naming the catalog columns ('N. description' lines)")
    parser.add_argument(
        "--label-column",
        help="a class column to take as labels (name or 1-based number), e.g. one of those listed "
        "when the catalog has several and no readme",
    )
    parser.add_argument("--label-source", help="name for --label-column's labels")
    parser.add_argument("--zero-based", action="store_true", help="catalog x, y are 0-based array indices")
    add_frame_argument(parser)
    parser.add_argument("--size", type=int, default=32, help="stamp side in pixels (default 32)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    options = {
        "catalog": args.catalog,
        "readme": args.readme,
        "label_column": args.label_column,
        "label_source": args.label_source,
        "zero_based": args.zero_based,
        "frame": args.frame,
    }
    if not args.mosaics and not has_mosaics(args.path):
        # A catalog checked before its mosaics are downloaded.
        summary = summarize_catalog(read_galaxy_catalog(args.path, **options))
    else:
        mosaics = None
        if args.mosaics:
            mosaics = args.mosaics[0] if len(args.mosaics) == 1 else args.mosaics
        summary = summarize_galaxy(read_galaxy(args.path, mosaics=mosaics, **options), args.size)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    if "bands" in summary:
        print(
            f"field {summary['field']}: {summary['shape'][1]} x {summary['shape'][0]} pixels, "
            f"{summary['pixel_scale_arcsec']} arcsec/pixel"
        )
        for band, info in summary["bands"].items():
            print(f"  {band:<4} {info['filter']:<6} {info['instrument'] or '?':<5} {info['file']}")
    print(f"catalog {summary['catalog']}: {summary['candidates']} candidates")
    print(f"  layout {summary['layout']}")
    for line in summary["layout_evidence"]:
        print(f"    {line}")
    if summary["position_frame"]:
        print(f"  positions on the {summary['position_frame']} frame (--frame to choose)")
    ranges = summary["ranges"]
    print(
        "  x {x[min]:.1f}-{x[max]:.1f}, y {y[min]:.1f}-{y[max]:.1f} (1-based pixels)".format(**ranges)
        + (
            ", RA {ra[min]:.5f}-{ra[max]:.5f}, Dec {dec[min]:.5f}-{dec[max]:.5f} deg".format(**ranges)
            if "ra" in ranges and ranges["ra"]["finite"]
            else ""
        )
    )
    for band, mags in summary["photometry"].items():
        shown = f"{mags['min']:.2f}-{mags['max']:.2f} mag" if mags["detected"] else "none"
        print(f"  {band:<4} detected in {mags['detected']}: {shown}")
    for source, counts in summary["labels"].items():
        print(f"  {source}: " + ", ".join(f"class {c}: {n}" for c, n in counts.items()))
    if summary["label_choices"]:
        print(
            "  no class label taken: which class column is the human mode is not known; name one with --label-column:"
        )
        for choice in summary["label_choices"]:
            counts = ", ".join(f"{v}: {n}" for v, n in choice["counts"].items())
            print(f"    column {choice['column']}: {counts}")
    if "needs" in summary:
        print(f"no mosaics: cutting stamps needs {summary['needs']['text']}")
        return 0
    print(f"  {summary['usable']} usable for {summary['stamp_size']}-pixel stamps")
    excluded = ", ".join(f"{n} {reason}" for reason, n in summary["excluded"].items() if n)
    if excluded:
        print(f"  excluded: {excluded}")
    return 0
