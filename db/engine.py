"""Engine and session setup: SQLite by default, PostgreSQL through ``DATABASE_URL``.

Without ``DATABASE_URL`` the database is the file ``starcnet.sqlite`` in the
app data directory (``$STARCNET_DATA_DIR``, default ``./data``). SQLite
connections run in WAL mode (readers never block the writer), with foreign
keys enforced and a busy timeout so that concurrent writers wait instead of
failing. Write transactions on SQLite start with ``BEGIN IMMEDIATE``: a
transaction that reads and then writes would otherwise fail at once when
another process committed in between, instead of waiting its turn.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DATABASE_FILE", "data_dir", "database_url", "make_engine", "session_factory"]

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
