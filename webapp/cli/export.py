"""``python -m webapp export --galaxy FIELD --format FMT --out FILE``: consensus, votes, latest scores."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.export import EXPORT_FORMATS, export_galaxy

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a galaxy's consensus, votes and model scores")
    parser.add_argument("--galaxy", required=True, help="galaxy name")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    parser.add_argument("--out", required=True, help="output file")
    parser.add_argument("--model", help="model version whose scores to export (default: the active one)")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.read_sessions() as session:
        path = export_galaxy(session, args.galaxy, args.fmt, args.out, model=args.model)
    print(f"wrote {path}")
    return 0
