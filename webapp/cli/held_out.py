"""``python -m webapp held-out``: show the held-out set, grow it, re-measure versions on it."""

from __future__ import annotations

import argparse

from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.held_out import (
    HELD_OUT_MINIMUM,
    HELD_OUT_SHARE,
    grow_held_out_set,
    held_out_summary,
    request_measurement,
)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "held-out", help="the held-out set every model version is measured on: show, grow, measure"
    )
    parser.add_argument("action", choices=("show", "grow", "measure"))
    parser.add_argument(
        "--share",
        type=float,
        default=HELD_OUT_SHARE,
        help=f"grow: share of the labelled candidates to hold out (default {HELD_OUT_SHARE:.0%})",
    )
    parser.add_argument(
        "--at-least",
        type=int,
        default=0,
        help=f"grow: hold out at least this many (automatic promotion needs {HELD_OUT_MINIMUM})",
    )
    parser.add_argument(
        "--versions", type=int, nargs="+", metavar="ID", help="measure: the model versions to re-measure"
    )
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _describe(summary: dict) -> str:
    when = summary["updated_at"]
    since = f", last grown {when:%Y-%m-%d %H:%M} UTC" if when else ""
    warning = (
        f" (below the {summary['minimum']} automatic promotion needs)" if summary["below_minimum"] else ""
    )
    return (
        f"held-out set: {summary['n']} of {summary['n_labelled']} labelled candidates "
        f"({summary['share']:.1%}){since}{warning}"
    )


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        if args.action == "show":
            summary = held_out_summary(session)
            print(_describe(summary))
            for growth in summary["growth"]:
                print(f"  {growth.added_at:%Y-%m-%d %H:%M:%S} +{growth.n_added} -> {growth.size}")
        elif args.action == "grow":
            done = grow_held_out_set(session, share=args.share, at_least=args.at_least)
            print(f"{done['added']} candidates added; {_describe(done)}")
        else:
            if not args.versions:
                raise UserInputError("held-out measure needs --versions ID [ID ...]")
            job = request_measurement(session, args.versions)
            print(f"queued evaluate job #{job.id} (run `python -m webapp worker` if no worker is running)")
    return 0
