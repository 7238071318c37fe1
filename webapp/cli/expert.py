"""``python -m webapp expert``: add an expert, or list the experts and their label counts."""

from __future__ import annotations

import argparse

from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.labels import add_expert, list_experts

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "expert", help="add an expert (`expert add NAME`) or list them (`expert list`)"
    )
    parser.add_argument("action", choices=["add", "list"])
    parser.add_argument("name", nargs="?", help="the expert's name (for add)")
    parser.add_argument("--role", default="expert", choices=["expert", "admin"])
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        if args.action == "add":
            if not args.name:
                raise UserInputError("`expert add` needs a NAME")
            expert_id = add_expert(session, args.name, args.role)
            print(f"expert {args.name!r} added (id {expert_id}, role {args.role})")
            return 0
        for expert in list_experts(session):
            print(f"{expert['name']}\t{expert['role']}\t{expert['n_labels']} labels")
    return 0
