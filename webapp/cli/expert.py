"""``python -m webapp expert``: add an expert, change their role, or list the experts and their label counts."""

from __future__ import annotations

import argparse

from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.labels import add_expert, list_experts, set_role

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "expert",
        help="add an expert (`expert add NAME`), change a role (`expert role NAME --role admin`) or list them",
    )
    parser.add_argument("action", choices=["add", "role", "list"])
    parser.add_argument("name", nargs="?", help="the expert's name (for add and role)")
    parser.add_argument("--role", default="expert", choices=["expert", "admin"])
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        if args.action in ("add", "role") and not args.name:
            raise UserInputError(f"`expert {args.action}` needs a NAME")
        if args.action == "role":
            set_role(session, args.name, args.role)
            print(f"expert {args.name!r} is now {args.role}")
            return 0
        if args.action == "add":
            expert_id = add_expert(session, args.name, args.role)
            print(f"expert {args.name!r} added (id {expert_id}, role {args.role})")
            return 0
        for expert in list_experts(session):
            print(f"{expert['name']}\t{expert['role']}\t{expert['n_labels']} labels")
    return 0
