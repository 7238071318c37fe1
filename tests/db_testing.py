"""Helpers for the database tests: a migrated SQLite file and a tiny labelled galaxy."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import create_postgres_database, drop_postgres_database, make_engine
from db.migrate import upgrade
from db.models import Candidate, Expert, Galaxy, ModelVersion
from db.predictions import store_predictions
from starcnet_core.scores import score_summaries


def migrated_engine(tmp_path: Path, name: str = "test.sqlite") -> Engine:
    """A SQLite file database in ``tmp_path`` migrated to head."""
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    return engine


def add_galaxy(session: Session, name: str = "g1", n: int = 6) -> Galaxy:
    """A galaxy with ``n`` candidates (source ids 1..n, mag_v 20..20+n-1)."""
    galaxy = Galaxy(name=name, distance_mpc=10.0)
    session.add(galaxy)
    session.flush()
    for i in range(1, n + 1):
        session.add(
            Candidate(
                galaxy_id=galaxy.id,
                source_id=i,
                x=10.0 * i,
                y=5.0 * i,
                mag_v=19.0 + i,
                usable=True,
                shuffle_key=((i * 7919) % 101) / 101,
            )
        )
    session.flush()
    return galaxy


def add_experts(session: Session, *names: str) -> list[Expert]:
    """Experts (role ``expert``) with the given names."""
    experts = [Expert(name=name) for name in names]
    session.add_all(experts)
    session.flush()
    return experts


def add_model(
    session: Session,
    name: str,
    scores: dict[int, list[float]],
    *,
    status: str = "active",
    precision: str | None = None,
    engine: str | None = None,
) -> ModelVersion:
    """A model version with predictions ``candidate id -> [p1, p2, p3, p4]`` (computed in ``precision``)."""
    model = ModelVersion(name=name, status=status)
    session.add(model)
    session.flush()
    table = np.array(list(scores.values()))
    store_predictions(
        session, model.id, list(scores), table, score_summaries(table), precision=precision, engine=engine
    )
    return model


@contextmanager
def postgres_database() -> Iterator[str]:
    """URL of a fresh database on ``$STARCNET_TEST_POSTGRES_URL``'s server, dropped afterwards.

    Skips the test when the variable is unset.
    """
    server = os.environ.get("STARCNET_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("STARCNET_TEST_POSTGRES_URL is not set")
    name = f"starcnet_test_{uuid.uuid4().hex[:12]}"
    url = create_postgres_database(server, name)
    try:
        yield url
    finally:
        drop_postgres_database(server, name)
