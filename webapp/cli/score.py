"""``python -m webapp score``: score candidates with a model version (now, or as a background job)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from db.models import Galaxy
from db.predictions import active_model_version
from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.scoring import feature_cache, request_scoring, score_candidates

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="store a model version's predictions for the candidates")
    parser.add_argument("--version", type=int, help="model version id (default: the active one)")
    parser.add_argument("--galaxy", help="only this galaxy (default: every galaxy)")
    parser.add_argument("--background", action="store_true", help="queue a job for the worker instead")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        galaxy_id = None
        if args.galaxy is not None:
            galaxy_id = session.scalar(select(Galaxy.id).where(Galaxy.name == args.galaxy))
            if galaxy_id is None:
                raise UserInputError(f"no galaxy named {args.galaxy!r}")
        version = args.version
        if version is None:
            active = active_model_version(session)
            if active is None:
                raise UserInputError("there is no active model version; give --version")
            version = active.id
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
        )
    print(f"stored {n} predictions of model version {version}")
    return 0
