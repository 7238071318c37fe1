"""``python -m webapp import-labels CSV --expert NAME``: bulk-import one expert's labels."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.labels import import_labels

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-labels",
        help="import an expert's labels from CSV (columns galaxy, id, class[, comment, seconds])",
    )
    parser.add_argument("csv", help="CSV file with a header")
    parser.add_argument("--expert", required=True, help="expert name (must exist)")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        count = import_labels(session, args.csv, expert=args.expert)
    print(f"{count} labels of {args.expert!r} imported from {args.csv}")
    return 0
