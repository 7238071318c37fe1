"""``python -m webapp models``: list model versions, import a checkpoint, promote, roll back."""

from __future__ import annotations

import argparse
from pathlib import Path

from starcnet_core.errors import UserInputError
from webapp.cli import add_by_argument, add_database_argument, expert_name
from webapp.services import model_versions
from webapp.services.database import open_database

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="model versions: list, import, promote, rollback")
    parser.add_argument("action", choices=("list", "import", "promote", "rollback"))
    parser.add_argument("target", nargs="?", help="import: checkpoint path; promote: version id")
    parser.add_argument("--name", help="import: the version's name (default: the file name)")
    parser.add_argument("--activate", action="store_true", help="import: make it the active version")
    parser.add_argument(
        "--force",
        action="store_true",
        help="promote: override a refusal (small held-out set, clearly worse); needs --by an admin",
    )
    add_by_argument(parser, "promotes or rolls back")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        if args.action == "list":
            for v in model_versions.list_versions(session):
                accuracy = v.metrics.get("accuracy")
                low, high = v.metrics.get("accuracy_ci95") or (accuracy, accuracy)
                shown = (
                    "-" if accuracy is None else f"{accuracy:.3f} [{low:.2f}, {high:.2f}] n={v.metrics['n']}"
                )
                print(
                    f"{v.id:4d} {v.status:9s} {v.mode:8s} {v.n_train_labels:6d} labels  acc {shown}  {v.name}"
                )
            return 0
        if args.target is None and args.action in ("import", "promote"):
            needed = "a checkpoint path" if args.action == "import" else "a version id"
            raise UserInputError(f"models {args.action} needs {needed}")
        if args.action == "import":
            version = model_versions.import_model(
                session, args.target, args.name or Path(args.target).stem, activate=args.activate
            )
            print(f"imported model version {version.id} ({version.status})")
        elif args.action == "promote":
            if not args.target.strip().isdigit():
                raise UserInputError(
                    f"models promote: {args.target!r} is not a model version id (see `models list`)"
                )
            done = model_versions.promote_version(
                session, int(args.target), by=expert_name(session, args.by), force=args.force
            )
            forced = f" (forced over: {'; '.join(done['forced'])})" if done["forced"] else ""
            print(
                f"model version {done['active']} is active; re-scoring job #{done['score_job']} queued{forced}"
            )
        else:
            done = model_versions.rollback_version(session, by=expert_name(session, args.by))
            print(f"rolled back to model version {done['active']}; scoring job #{done['score_job']} queued")
    return 0
