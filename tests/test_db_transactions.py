"""``db.engine.use_case``: one transaction per use case, joined by the use cases it is made of."""

from __future__ import annotations

import pytest
from db_testing import migrated_engine, postgres_database
from sqlalchemy import func, select

from db.engine import make_engine, session_factory, use_case
from db.migrate import upgrade
from db.models import Galaxy


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_engine(tmp_path)
        return
    with postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture
def readers(engine):
    """Read-only sessions: on SQLite they never wait for the write lock a use case holds."""
    return session_factory(engine, read_only=True)


def _galaxies(readers) -> list[str]:
    with readers() as other:
        return list(other.scalars(select(Galaxy.name).order_by(Galaxy.name)))


def test_a_use_case_commits_when_it_ends_and_writes_nothing_when_it_raises(sessions, readers) -> None:
    with sessions() as session:
        with use_case(session):
            session.add(Galaxy(name="kept"))
            session.flush()
            assert _galaxies(readers) == []  # not visible before the use case ends
        assert not session.in_transaction()
        assert _galaxies(readers) == ["kept"]
        with pytest.raises(RuntimeError), use_case(session):
            session.add(Galaxy(name="lost"))
            session.flush()
            raise RuntimeError("the use case failed")
        assert not session.in_transaction()
    assert _galaxies(readers) == ["kept"]


def test_inner_use_cases_join_the_outer_transaction(sessions, readers) -> None:
    with sessions() as session:
        with pytest.raises(RuntimeError), use_case(session):
            with use_case(session):  # e.g. an import that queues its scoring job
                session.add(Galaxy(name="inner"))
            assert session.in_transaction()  # the inner block did not commit
            assert _galaxies(readers) == []
            raise RuntimeError("the outer use case failed after the inner one")
    assert _galaxies(readers) == []  # the inner write went with the outer transaction


def test_a_read_left_open_outside_any_use_case_is_ended_first(sessions, readers) -> None:
    with readers() as session:
        assert session.scalar(select(func.count(Galaxy.id))) == 0  # autobegins a transaction
        assert session.in_transaction()
        with sessions() as writer, use_case(writer):
            writer.add(Galaxy(name="meanwhile"))
        with use_case(session):
            # a fresh transaction: it sees what was committed since the read began
            assert session.scalar(select(func.count(Galaxy.id))) == 1
            session.add(Galaxy(name="after"))
        assert not session.in_transaction()
    assert _galaxies(readers) == ["after", "meanwhile"]
