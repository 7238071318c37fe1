"""``python -m webapp score``: score candidates with a model version (now, or as a background job)."""

from __future__ import annotations

import argparse

from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument, add_precision_argument, precision_of
from webapp.services.database import open_database
from webapp.services.scoring import feature_cache, request_scoring, score_candidates, scoring_target

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="store a model version's predictions for the candidates")
    parser.add_argument("--version", type=int, help="model version id (default: the active one)")
    parser.add_argument("--galaxy", help="only this galaxy (default: every galaxy)")
    add_precision_argument(parser, "it scores")
    parser.add_argument("--background", action="store_true", help="queue a job for the worker instead")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    precision = precision_of(args)
    if args.background and precision != "auto":
        raise UserInputError(
            "--precision applies to scoring now; a background job scores with its worker's --precision"
        )
    database = open_database(args.database_url)
    with database.sessions() as session:
        version, galaxy_id = scoring_target(session, args.version, args.galaxy)
        if args.background:
            job = request_scoring(session, version, galaxy_id)
            print(f"queued score job #{job.id}")
            return 0
        n = score_candidates(
            session,
            version,
            galaxy_id=galaxy_id,
            progress=lambda f, message: print(message, flush=True),
            features=feature_cache(),
            precision=precision,
            log=print,
        )
    print(f"stored {n} predictions of model version {version}")
    return 0
