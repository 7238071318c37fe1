"""``python -m webapp check [--repair]``: verify the stored consensus of every candidate against its labels."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.integrity import check_consensus

__all__ = ["register"]

#: Mismatches listed one per line; the rest are counted.
_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="verify each candidate's stored votes and consensus against its labels (exit 1 on a mismatch)",
    )
    parser.add_argument(
        "--repair", action="store_true", help="rewrite the stored consensus of the mismatched candidates"
    )
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        result = check_consensus(session, repair=args.repair)
    for mismatch in result.mismatches[:_SHOWN]:
        print(mismatch.describe())
    if len(result.mismatches) > _SHOWN:
        print(f"... and {len(result.mismatches) - _SHOWN} more")
    n = len(result.mismatches)
    if result.repaired:
        print(f"consensus: {result.n_candidates} candidates checked, {n} mismatches repaired")
        return 0
    print(f"consensus: {result.n_candidates} candidates checked, {n} mismatches")
    return 1 if n else 0
