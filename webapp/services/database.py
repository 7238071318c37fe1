"""Opening the app database: engine, session makers, migration to the newest schema.

The CLI, the worker and the app all open the database here, so that they
honour ``DATABASE_URL`` (default: a SQLite file in ``$STARCNET_DATA_DIR``)
the same way, and refuse to run on a database that ``init-db`` has not
brought to the newest schema. Each use case then runs in one transaction,
opened with :func:`db.engine.use_case`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.engine import database_url, make_engine, session_factory
from db.migrate import current_revision, head_revision, upgrade
from starcnet_core.atomic_write import atomic_path
from starcnet_core.errors import UserInputError

__all__ = ["Database", "backup_database", "init_database", "open_database"]


@dataclass(frozen=True)
class Database:
    """An open database: ``sessions()`` for use cases that write, ``read_sessions()`` for reads."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


def _database(url: str | None) -> Database:
    url = url or database_url()
    try:
        engine = make_engine(url)
    except ArgumentError as error:
        raise UserInputError(
            f"--database-url / DATABASE_URL {url!r}: not a database URL the app can open ({error}); "
            "e.g. sqlite:///path/starcnet.sqlite or postgresql+psycopg://user:pass@host/db"
        ) from None
    return Database(url, engine, session_factory(engine), session_factory(engine, read_only=True))


def init_database(url: str | None = None) -> Database:
    """Create or migrate the database at ``url`` (default ``DATABASE_URL``) to the newest schema."""
    database = _database(url)
    upgrade(database.engine)
    return database


def open_database(url: str | None = None) -> Database:
    """Open the database at ``url``; raise :class:`UserInputError` unless it is at the newest schema."""
    database = _database(url)
    try:
        revision = current_revision(database.engine)
    except OperationalError as error:
        shown = database.engine.url.render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise UserInputError(f"database {shown}: cannot connect ({reason})") from None
    if revision != head_revision():
        state = "is empty" if revision is None else f"is at schema {revision}, not {head_revision()}"
        raise UserInputError(
            f"database {database.engine.url.render_as_string(hide_password=True)} {state}: "
            "run `python -m webapp init-db`"
        )
    return database


def backup_database(database: Database, out: str | Path) -> Path:
    """Copy a SQLite database, consistently, to ``out`` while others keep labelling.

    SQLite's online backup copies a snapshot page by page; writers that
    commit during the copy are included or not, never half. The copy is
    written beside ``out`` and renamed into place, and never overwrites a
    file. PostgreSQL servers are backed up with their own tool (``pg_dump``).

    Raises
    ------
    UserInputError
        ``out`` exists, its folder does not, or the database is not SQLite.
    """
    out = Path(out)
    url = database.engine.url
    if url.get_backend_name() != "sqlite":
        raise UserInputError(
            f"backup copies SQLite files; back up the PostgreSQL database {url.database!r} with "
            f"`pg_dump --format=custom --file {out} ...`"
        )
    if out.exists():
        raise UserInputError(f"{out} exists: choose a new file name for the backup")
    if not out.parent.is_dir():
        raise UserInputError(f"{out.parent} is not a directory")
    with atomic_path(out) as partial, database.engine.connect() as connection:
        source = connection.connection.driver_connection
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
    return out
