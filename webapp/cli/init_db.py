"""``python -m webapp init-db``: create or migrate the database to the newest schema."""

from __future__ import annotations

import argparse

from db.migrate import current_revision
from webapp.cli import add_database_argument
from webapp.services.database import init_database

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init-db", help="create or upgrade the database (Alembic migrations to head)"
    )
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = init_database(args.database_url)
    print(
        f"database {database.engine.url.render_as_string(hide_password=True)} "
        f"at schema {current_revision(database.engine)}"
    )
    return 0
