"""``python -m webapp import-predictions FILE --galaxy FIELD --model NAME``: published StarcNet output."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.predictions import import_predictions

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-predictions", help="import a published StarcNet predictions file (.tab)"
    )
    parser.add_argument("file", help="tab-separated id, x, y, class, [p1 - p2 - p3 - p4]")
    parser.add_argument("--galaxy", required=True, help="galaxy name")
    parser.add_argument("--model", required=True, help="model version name (created when new)")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        result = import_predictions(session, args.file, galaxy=args.galaxy, model=args.model)
    state = "new" if result.created_model else "existing"
    print(
        f"{result.n_predictions} predictions of {state} model {result.model_name!r} ({result.status}) imported"
    )
    return 0
