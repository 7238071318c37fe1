"""``python -m webapp label``: record (or undo) one expert's label on one candidate."""

from __future__ import annotations

import argparse

from db.models import LABEL_CLASSES
from starcnet_core.errors import UserInputError
from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.labels import find_candidate, get_expert, record_label, undo_label

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("label", help="record one label (or --undo the expert's latest)")
    parser.add_argument("--expert", required=True, help="expert name")
    parser.add_argument("--galaxy", required=True, help="galaxy name")
    parser.add_argument("--id", type=int, required=True, dest="source_id", help="catalog source id")
    parser.add_argument("--class", dest="label_class", choices=LABEL_CLASSES, help="1-4 or unsure")
    parser.add_argument("--comment", default="")
    parser.add_argument("--undo", action="store_true", help="retract the expert's latest label instead")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.undo == (args.label_class is not None):
        raise UserInputError("give either --class or --undo")
    database = open_database(args.database_url)
    with database.sessions() as session:
        expert_id = get_expert(session, args.expert).id
        candidate_id = find_candidate(session, args.galaxy, args.source_id).id
        if args.undo:
            undo_label(session, candidate_id=candidate_id, expert_id=expert_id)
            print(f"{args.expert}: latest label on {args.galaxy} #{args.source_id} undone")
        else:
            record_label(
                session,
                candidate_id=candidate_id,
                expert_id=expert_id,
                label_class=args.label_class,
                comment=args.comment,
            )
            print(f"{args.expert}: {args.galaxy} #{args.source_id} -> class {args.label_class}")
    return 0
