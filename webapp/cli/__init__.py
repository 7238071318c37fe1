"""``python -m webapp``: one module per subcommand (see :mod:`starcnet_core.commandline`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from starcnet_core.commandline import build_parser, run

__all__ = ["main", "add_database_argument"]


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """``--database-url``, which every command that opens the database takes."""
    parser.add_argument(
        "--database-url", help="default: $DATABASE_URL or the SQLite file in $STARCNET_DATA_DIR"
    )


def main(args: Sequence[str] | None = None) -> int:
    """Run the administration CLI with ``args`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser(
        "python -m webapp",
        "StarcNet Studio administration: database, imports, labels, scoring, jobs, export.",
        __name__,
    )
    return run(parser, args)
