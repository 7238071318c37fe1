"""Engine and session setup: SQLite by default, PostgreSQL through ``DATABASE_URL``.

Without ``DATABASE_URL`` the database is the file ``starcnet.sqlite`` in the
app data directory (``$STARCNET_DATA_DIR``, default ``./data``). SQLite
connections run in WAL mode (readers never block the writer), with foreign
keys enforced and a busy timeout so that concurrent writers wait instead of
failing. Write transactions on SQLite start with ``BEGIN IMMEDIATE``: a
transaction that reads and then writes would otherwise fail at once when
another process committed in between, instead of waiting its turn.

Each use case of the app (record a label, import a galaxy, claim a job, show
a queue page) runs in exactly one transaction, opened with :func:`use_case`:
``with session.begin()``, joined by the smaller use cases it is made of.
The query functions of :mod:`db` never commit; their callers own the
transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session, SessionTransactionOrigin, sessionmaker

__all__ = [
    "DATABASE_FILE",
    "create_postgres_database",
    "data_dir",
    "database_url",
    "drop_postgres_database",
    "make_engine",
    "session_factory",
    "use_case",
]

DATABASE_FILE = "starcnet.sqlite"
#: Milliseconds a SQLite writer waits for the lock before giving up.
BUSY_TIMEOUT_MS = 60_000


def data_dir() -> Path:
    """The app data directory: ``$STARCNET_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("STARCNET_DATA_DIR", "data"))


def database_url() -> str:
    """``$DATABASE_URL``, else a SQLite file in :func:`data_dir`."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{(data_dir() / DATABASE_FILE).resolve()}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own transaction handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001 - SQLAlchemy Connection
        mode = "DEFERRED" if connection.get_execution_options().get("read_only") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """Create the engine for ``url`` (default :func:`database_url`).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL, e.g. ``sqlite:///path/db.sqlite`` or
        ``postgresql+psycopg://user:pw@host/db``.
    echo : bool
        Log every SQL statement.

    Returns
    -------
    sqlalchemy.Engine
        SQLite file engines get WAL, foreign keys, busy timeout and immediate
        write transactions; the directory of a SQLite file is created.
    """
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """A session maker for ``engine``; one session per user action.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    read_only : bool
        Sessions that only read (queue pages, exports): on SQLite their
        transactions start deferred and never hold the write lock.
    """
    bind = engine.execution_options(read_only=True) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def use_case(session: Session) -> Iterator[Session]:
    """The one transaction of a use case: ``with session.begin()``, committed together or not at all.

    - No transaction open: ``session.begin()``; the block's writes are committed
      when it succeeds and rolled back when it raises.
    - Inside another use case (a transaction opened by ``begin``): the block
      joins it, and the outer use case commits or rolls back everything.
    - A transaction the session began by itself for statements run outside
      any use case (SQLAlchemy's autobegin, e.g. a test's or a page's own
      read) is ended first, so that the use case starts on a fresh snapshot.
      Writes belong in use cases, so such a transaction holds reads; it is
      committed rather than rolled back so that nothing a caller flushed is
      lost silently.
    """
    current = session.get_transaction()
    if current is not None and current.origin is not SessionTransactionOrigin.AUTOBEGIN:
        yield session
        return
    if current is not None:
        session.commit()
    with session.begin():
        yield session


_INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE


def create_postgres_database(server: str, name: str, *, exist_ok: bool = False) -> str:
    """Create the database ``name`` on the PostgreSQL ``server`` (a URL); return its URL.

    With ``exist_ok`` an existing database of that name is kept as it is.
    """
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists is None or not exist_ok:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server: str, name: str) -> None:
    """Drop the scratch database ``name`` on the PostgreSQL ``server`` (a URL), even while it is in use.

    ``DROP DATABASE ... WITH (FORCE)`` ends the other sessions, but refuses
    outright when one of them belongs to a role this one may not signal: an
    autovacuum worker, which PostgreSQL starts on a database that has just
    taken many writes (seen after the 70,000-id test). Then this role's own
    sessions are ended and a plain ``DROP DATABASE`` cancels the worker
    itself, as PostgreSQL does for autovacuum.
    """
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            try:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except ProgrammingError as error:
                if getattr(error.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                    raise
                _drop_after_ending_own_sessions(connection, name)
    finally:
        admin.dispose()


def _drop_after_ending_own_sessions(connection: Connection, name: str) -> None:
    connection.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
        ),
        {"name": name},
    )
    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
