"""``python -m webapp catalog-labels GALAXY --label-column N``: import one class column of a galaxy's catalog."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.galaxies import import_catalog_labels

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog-labels",
        help="import the labels of one class column of an imported galaxy's catalog (one of those "
        "listed when the catalog has several and no readme)",
    )
    parser.add_argument("galaxy", help="galaxy name")
    parser.add_argument("--label-column", required=True, help="catalog column (1-based number or name)")
    parser.add_argument("--label-source", help="pseudo-expert name (default: 'catalog column N')")
    parser.add_argument("--readme", help="the catalog's LEGUS .readme, when it was given at import")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        source, count = import_catalog_labels(
            session, args.galaxy, args.label_column, label_source=args.label_source, readme=args.readme
        )
    print(f"galaxy {args.galaxy!r}: {count} labels of {source!r} imported from column {args.label_column}")
    return 0
