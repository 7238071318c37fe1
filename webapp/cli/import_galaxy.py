"""``python -m webapp import PATH``: import a galaxy (directory, or catalog [+ mosaics])."""

from __future__ import annotations

import argparse

from starcnet_core.commandline import add_frame_argument
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.galaxies import import_galaxy

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a galaxy: a directory with 5 mosaics + catalog, or a catalog file [+ --mosaics]",
    )
    parser.add_argument("path", help="galaxy directory or LEGUS catalog (.tab / .csv)")
    parser.add_argument("--name", help="galaxy name (default: the field name in the file names)")
    parser.add_argument("--distance", type=float, help="distance (Mpc)")
    parser.add_argument("--mosaics", nargs=5, metavar="FITS", help="the five mosaics, with a catalog file")
    parser.add_argument("--catalog", help="the catalog file, when the galaxy directory holds several tables")
    parser.add_argument("--readme", help="the catalog's LEGUS .readme")
    parser.add_argument(
        "--label-column",
        help="catalog column holding classes 1-4 (1-based number or name), e.g. one of those listed when "
        "a catalog without a readme has several class columns",
    )
    parser.add_argument(
        "--label-source", help="pseudo-expert name of those labels, e.g. 'LEGUS 3-human mode'"
    )
    parser.add_argument("--zero-based", action="store_true", help="catalog x, y are 0-based (LEGUS: 1-based)")
    add_frame_argument(parser)
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        summary = import_galaxy(
            session,
            args.path,
            name=args.name,
            distance_mpc=args.distance,
            mosaics=args.mosaics,
            readme=args.readme,
            label_column=args.label_column,
            label_source=args.label_source,
            zero_based=args.zero_based,
            catalog=args.catalog,
            frame=args.frame,
        )
    print(
        f"galaxy {summary.name!r}: {summary.n_candidates} candidates, {summary.n_usable} usable for cutouts, "
        f"{summary.n_labelled} with catalog labels"
    )
    if summary.label_choices:
        print(
            "no catalog labels imported: the catalog has several class columns and no readme says which is "
            f"the human mode; import one with: python -m webapp catalog-labels {summary.name!r} --label-column N"
        )
        for choice in summary.label_choices:
            print(f"  {choice.describe()}")
    return 0
