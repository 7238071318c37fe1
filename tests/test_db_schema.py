"""Schema and migrations: the Alembic head matches the models; constraints keep labels safe."""

from __future__ import annotations

import pytest
from alembic import command
from db_testing import add_experts, add_galaxy, migrated_engine, postgres_database
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.engine import make_engine, session_factory
from db.migrate import alembic_config, current_revision, head_revision, upgrade
from db.models import Candidate, Label, ModelVersion


def test_migrations_reach_head_and_match_models(tmp_path):
    engine = migrated_engine(tmp_path)
    assert current_revision(engine) == head_revision() != ""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when the models differ from the migrated schema


def test_upgrade_is_idempotent_and_downgrade_reverses(tmp_path):
    engine = migrated_engine(tmp_path)
    assert upgrade(engine) == head_revision()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    with engine.connect() as connection:
        tables = (
            connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'").scalars().all()
        )
    assert set(tables) <= {"alembic_version"}
    assert upgrade(engine) == head_revision()


def test_sqlite_pragmas(tmp_path):
    engine = migrated_engine(tmp_path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_default_url_is_a_file_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "appdata"))
    engine = make_engine()
    upgrade(engine)
    assert (tmp_path / "appdata" / "starcnet.sqlite").is_file()


@pytest.fixture
def session(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        yield session


def _label(session, **fields):
    galaxy = add_galaxy(session)
    (expert,) = add_experts(session, "ana")
    candidate = session.scalars(select(Candidate).where(Candidate.galaxy_id == galaxy.id)).first()
    label = Label(candidate_id=candidate.id, expert_id=expert.id, **fields)
    session.add(label)
    session.flush()
    return label


@pytest.mark.parametrize("bad", ["5", "0", "cluster", None])
def test_label_class_is_checked(session, bad):
    with pytest.raises(IntegrityError):
        _label(session, label_class=bad)


def test_labels_are_append_only(session):
    label = _label(session, label_class="2")
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(Label).where(Label.id == label.id).values(label_class="3"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(Label).where(Label.id == label.id))
    session.rollback()
    columns = "id, candidate_id, expert_id, label_class, comment, created_at, display_settings"
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(
                text(
                    f"{verb} INTO label ({columns}) SELECT id, candidate_id, expert_id, '4', comment, "
                    f"created_at, display_settings FROM label WHERE id = {label.id}"
                )
            )
        session.rollback()
    assert session.scalars(select(Label.label_class)).all() == ["2"]


def test_a_retraction_cannot_be_replaced(session):
    answer = _label(session, label_class="2")
    undo = Label(candidate_id=answer.candidate_id, expert_id=answer.expert_id, retracts_id=answer.id)
    session.add(undo)
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(
            text(
                "INSERT OR REPLACE INTO label (candidate_id, expert_id, retracts_id, comment, created_at, "
                f"display_settings) VALUES ({answer.candidate_id}, {answer.expert_id}, {answer.id}, '', "
                "'2026-01-01', '{}')"
            )
        )
    session.rollback()
    assert session.scalars(select(Label.id).order_by(Label.id)).all() == [answer.id, undo.id]


def test_foreign_keys_are_enforced(session):
    session.add(Label(candidate_id=999, expert_id=999, label_class="1"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_at_most_one_active_model(session):
    session.add_all([ModelVersion(name="a", status="active"), ModelVersion(name="b", status="proposed")])
    session.flush()
    assert session.scalars(select(ModelVersion.name).where(ModelVersion.is_active)).all() == ["a"]
    session.add(ModelVersion(name="c", status="active"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_read_only_sessions_do_not_take_the_write_lock(tmp_path):
    engine = migrated_engine(tmp_path)
    reader = session_factory(engine, read_only=True)()
    writer = session_factory(engine)()
    assert reader.execute(text("SELECT count(*) FROM galaxy")).scalar() == 0
    # fail at once, rather than after the busy timeout, if the reader held the write lock
    writer.connection().exec_driver_sql("PRAGMA busy_timeout = 0")
    add_galaxy(writer)
    writer.commit()
    assert reader.in_transaction()  # the read was still open while the writer committed
    assert reader.execute(text("SELECT count(*) FROM galaxy")).scalar() == 0  # its own snapshot
    reader.close()
    writer.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM galaxy")).scalar() == 1


def _model_statuses_after_upgrade(engine) -> list[tuple[str, str]]:
    """Versions written by the initial schema with the old status names, then upgraded to head."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for name, status in (("old", "candidate"), ("live", "active"), ("gone", "archived")):
            connection.execute(
                text(
                    "INSERT INTO model_version (name, config, mode, n_train_labels, metrics, baseline_metrics,"
                    " history, status, created_at) VALUES (:name, '{}', 'import', 0, '{}', '{}', '[]', :status,"
                    " '2026-01-01 00:00:00')"
                ),
                {"name": name, "status": status},
            )
    assert upgrade(engine) == head_revision()
    with session_factory(engine)() as session:
        statuses = session.execute(
            select(ModelVersion.name, ModelVersion.status).order_by(ModelVersion.id)
        ).all()
        session.add(ModelVersion(name="second", status="active"))
        with pytest.raises(IntegrityError):  # the one-active index survived the migration
            session.flush()
        session.rollback()
        session.add(ModelVersion(name="bad", status="candidate"))
        with pytest.raises(IntegrityError):  # "candidate" is no longer a model status
            session.flush()
    return [tuple(row) for row in statuses]


def test_model_status_candidate_is_migrated_to_proposed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    assert _model_statuses_after_upgrade(engine) == [
        ("old", "proposed"),
        ("live", "active"),
        ("gone", "archived"),
    ]


@pytest.mark.postgres
def test_postgres_migration_matches_models_and_keeps_labels_append_only():
    with postgres_database() as url:
        engine = make_engine(url)
        assert upgrade(engine) == head_revision()
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.check(config)
        with session_factory(engine)() as session:
            label = _label(session, label_class="unsure")
            session.commit()
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(delete(Label).where(Label.id == label.id))
            session.rollback()
            for statement in ("TRUNCATE label", "TRUNCATE candidate CASCADE", "TRUNCATE expert, label"):
                with pytest.raises(DBAPIError, match="append-only"):
                    session.execute(text(statement))
                session.rollback()
            assert session.scalars(select(Label.id)).all() == [label.id]
            session.add(ModelVersion(name="a", status="active"))
            session.add(ModelVersion(name="b", status="active"))
            with pytest.raises(IntegrityError):
                session.flush()
        engine.dispose()


@pytest.mark.postgres
def test_postgres_model_status_candidate_is_migrated_to_proposed():
    with postgres_database() as url:
        engine = make_engine(url)
        statuses = _model_statuses_after_upgrade(engine)
        engine.dispose()
    assert statuses == [("old", "proposed"), ("live", "active"), ("gone", "archived")]
