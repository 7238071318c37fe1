"""Model registry: only complete checkpoints register; promote, roll back; the held-out set."""

from __future__ import annotations

import numpy as np
import pytest

from db import registry
from db.engine import make_engine, session_factory
from db.models import Base, Candidate, Galaxy


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    Base.metadata.create_all(engine)
    with session_factory(engine)() as session:
        yield session


def _checkpoint(tmp_path, name: str) -> tuple[str, str]:
    path = tmp_path / name
    path.write_bytes(name.encode() * 100)
    return str(path), registry.file_sha256(path)


def test_a_truncated_checkpoint_is_never_registered(session, tmp_path) -> None:
    path, digest = _checkpoint(tmp_path, "v1.pt")
    with open(path, "r+b") as stream:
        stream.truncate(50)
    with pytest.raises(ValueError, match="sha256"):
        registry.register_version(
            session, name="v1", checkpoint_path=path, checkpoint_sha256=digest, mode="quick"
        )
    with pytest.raises(ValueError, match="does not exist"):
        registry.register_version(
            session, name="v1", checkpoint_path=tmp_path / "nope.pt", checkpoint_sha256=digest, mode="quick"
        )
    assert registry.list_versions(session) == []


def test_promote_and_roll_back(session, tmp_path) -> None:
    ids = []
    for name in ("v1", "v2", "v3"):
        path, digest = _checkpoint(tmp_path, name)
        ids.append(
            registry.register_version(
                session, name=name, checkpoint_path=path, checkpoint_sha256=digest, mode="quick"
            ).id
        )
    assert registry.promote(session, ids[0]) is None
    assert registry.promote(session, ids[1]) == ids[0]
    assert registry.promote(session, ids[2]) == ids[1]
    session.commit()
    assert [v.status for v in registry.list_versions(session)] == ["active", "archived", "archived"]
    assert registry.rollback(session) == ids[1]
    assert registry.get_version(session, ids[1]).status == "active"
    assert registry.rollback(session) == ids[0]
    with pytest.raises(LookupError):
        registry.rollback(session)


def test_held_out_set_is_stratified_exact_and_each_growth_recorded(session) -> None:
    galaxies = [Galaxy(name=f"g{i}") for i in range(2)]
    session.add_all(galaxies)
    session.flush()
    candidates = [Candidate(galaxy_id=galaxies[i % 2].id, source_id=i, x=1.0, y=1.0) for i in range(80)]
    session.add_all(candidates)
    session.flush()
    ids = np.array([c.id for c in candidates])
    classes = np.arange(80) // 2 % 4 + 1
    galaxy_ids = np.array([c.galaxy_id for c in candidates])
    chosen = registry.add_held_out(session, ids, classes, galaxy_ids, 16)
    assert len(chosen) == 16
    for cls in range(1, 5):
        for galaxy in galaxies:
            assert np.count_nonzero(np.isin(chosen, ids[(classes == cls) & (galaxy_ids == galaxy.id)])) == 2
    # an uneven number is still exact: the largest remainders take the extra ones
    added = registry.add_held_out(session, ids, classes, galaxy_ids, 13, seed=1)
    assert len(added) == 13 and not np.isin(added, chosen).any()
    assert len(registry.held_out_ids(session)) == 29
    growth = registry.held_out_growth(session)
    assert [(g.n_added, g.size) for g in growth] == [(16, 16), (13, 29)]
    assert growth[0].added_at <= growth[1].added_at
    # never more than there are candidates left
    rest = registry.add_held_out(session, ids, classes, galaxy_ids, 1000)
    assert len(rest) == 80 - 29 and len(registry.held_out_ids(session)) == 80


def test_rollback_target_is_none_until_a_second_version_was_active(session, tmp_path) -> None:
    ids = []
    for name in ("v1", "v2"):
        path, digest = _checkpoint(tmp_path, name)
        ids.append(
            registry.register_version(
                session, name=name, checkpoint_path=path, checkpoint_sha256=digest, mode="quick"
            ).id
        )
    assert registry.rollback_target(session) is None
    registry.promote(session, ids[0])
    assert registry.rollback_target(session) is None  # one version was ever active
    registry.promote(session, ids[1])
    assert registry.rollback_target(session) == ids[0]
