"""``python -m webapp backup OUT``: a consistent copy of the SQLite label database, taken while the app runs."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import backup_database, open_database

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup", help="copy the SQLite database (labels, models, jobs) to a new file, safely while in use"
    )
    parser.add_argument("out", help="the backup file to write (must not exist)")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    out = backup_database(open_database(args.database_url), args.out)
    print(f"backed up to {out}")
    return 0
