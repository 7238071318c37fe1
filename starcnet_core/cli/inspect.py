"""``python -m starcnet_core inspect PATH``: what a galaxy directory (or catalog + mosaics) holds."""

from __future__ import annotations

import argparse
import json

from starcnet_core.commandline import add_frame_argument
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.io.inspect import summarize_galaxy

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    parser = subparsers.add_parser(
        "inspect",
        help="summarise a LEGUS galaxy: bands, shape, candidates, usable stamps, labels",
        description="Read a galaxy directory (five mosaics + catalog), or a catalog with --mosaics, "
        "and print what was found.",
    )
    parser.add_argument("path", help="galaxy directory, or a catalog file")
    parser.add_argument("--catalog", help="catalog file, when the directory holds several tables")
    parser.add_argument("--mosaics", nargs="+", help="directory of the mosaics, or the five FITS files")
    parser.add_argument("--readme", help="readme naming the catalog columns ('N. description' lines)")
    parser.add_argument("--label-column", help="a further class column to count (name or 1-based number)")
    parser.add_argument("--label-source", help="name for --label-column's labels")
    parser.add_argument("--zero-based", action="store_true", help="catalog x, y are 0-based array indices")
    add_frame_argument(parser)
    parser.add_argument("--size", type=int, default=32, help="stamp side in pixels (default 32)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    mosaics = None
    if args.mosaics:
        mosaics = args.mosaics[0] if len(args.mosaics) == 1 else args.mosaics
    galaxy = read_galaxy(
        args.path,
        catalog=args.catalog,
        mosaics=mosaics,
        readme=args.readme,
        label_column=args.label_column,
        label_source=args.label_source,
        zero_based=args.zero_based,
        frame=args.frame,
    )
    summary = summarize_galaxy(galaxy, args.size)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"field {summary['field']}: {summary['shape'][1]} x {summary['shape'][0]} pixels, "
        f"{summary['pixel_scale_arcsec']} arcsec/pixel"
    )
    for band, info in summary["bands"].items():
        print(f"  {band:<4} {info['filter']:<6} {info['instrument'] or '?':<5} {info['file']}")
    print(
        f"catalog {summary['catalog']} ({summary['catalog_layout']}): {summary['candidates']} candidates, "
        f"{summary['usable']} usable for {summary['stamp_size']}-pixel stamps"
    )
    if summary["position_frame"]:
        print(f"  positions on the {summary['position_frame']} frame (--frame to choose)")
    excluded = ", ".join(f"{n} {reason}" for reason, n in summary["excluded"].items() if n)
    if excluded:
        print(f"  excluded: {excluded}")
    for source, counts in summary["labels"].items():
        print(f"  {source}: " + ", ".join(f"class {c}: {n}" for c, n in counts.items()))
    return 0
