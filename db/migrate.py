"""Schema migrations with Alembic, run from Python (no ``alembic.ini`` needed).

The migration scripts live in ``db/migrations/versions``; :func:`upgrade`
brings a database to the newest revision. This is the only way the app
creates its tables: a live database is never touched by ``create_all``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from db.engine import make_engine

__all__ = ["alembic_config", "upgrade", "current_revision", "head_revision"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """The Alembic configuration of this package (script location ``db/migrations``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(url_or_engine: str | Engine | None) -> Engine:
    return url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)


def upgrade(url_or_engine: str | Engine | None = None, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (default the newest); return the revision reached.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.Engine, optional
        Database URL or engine; default :func:`db.engine.database_url`.
    revision : str
        Target Alembic revision.
    """
    engine = _engine(url_or_engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine) or ""


def current_revision(url_or_engine: str | Engine | None = None) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with _engine(url_or_engine).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision among the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""
