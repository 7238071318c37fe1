"""Recording labels: append-only history, undo, consensus cache, validation without partial writes."""

from __future__ import annotations

import pytest
from db_testing import add_experts, add_galaxy, migrated_engine
from sqlalchemy import func, select

from db.consensus import consensus, refresh_consensus_cache
from db.engine import session_factory
from db.models import Candidate, Label
from starcnet_core.errors import UserInputError
from webapp.services.labels import (
    add_expert,
    find_candidate,
    import_labels,
    label_history,
    record_label,
    undo_label,
)


@pytest.fixture
def world(tmp_path):
    engine = migrated_engine(tmp_path)
    session = session_factory(engine)()
    galaxy = add_galaxy(session, "g1", n=4)
    experts = add_experts(session, "ana", "ben", "cy")
    session.commit()
    ids = session.scalars(
        select(Candidate.id).where(Candidate.galaxy_id == galaxy.id).order_by(Candidate.id)
    ).all()
    yield session, ids, [e.id for e in experts]
    session.close()


def _count(session):
    return session.scalar(select(func.count()).select_from(Label))


def test_latest_label_counts_and_history_is_kept(world):
    session, (c1, *_), (ana, ben, cy) = world
    record_label(session, candidate_id=c1, expert_id=ana, label_class=1, seconds_spent=3.5)
    record_label(session, candidate_id=c1, expert_id=ana, label_class="3", comment="changed my mind")
    record_label(session, candidate_id=c1, expert_id=ben, label_class=3, shown_scores=[0.1, 0.2, 0.6, 0.1])
    record_label(session, candidate_id=c1, expert_id=cy, label_class="unsure")
    result = consensus(session).as_dict()[c1]
    assert result == {
        "consensus": "3",
        "mean": 3.0,
        "n_votes": 2,
        "n_unsure": 1,
        "agreement": 1.0,
        "votes": [0, 0, 2, 0],
    }
    history = label_history(session, c1)
    assert [h.label_class for h in history] == ["1", "3", "3", "unsure"]
    assert history[0].seconds_spent == 3.5 and history[2].shown_scores == [0.1, 0.2, 0.6, 0.1]
    candidate = session.get(Candidate, c1)
    session.refresh(candidate)
    assert (candidate.n_votes, candidate.consensus_class) == (2, 3)


def test_tie_is_undecided_and_mean_is_kept(world):
    session, (c1, *_), (ana, ben, _) = world
    record_label(session, candidate_id=c1, expert_id=ana, label_class=1)
    record_label(session, candidate_id=c1, expert_id=ben, label_class=4)
    result = consensus(session)
    assert result.label(0) == "undecided" and result.mean[0] == 2.5 and result.agreement[0] == 0.5
    assert session.get(Candidate, c1).consensus_class is None


def test_undo_restores_the_previous_answer(world):
    session, (c1, c2, *_), (ana, ben, _) = world
    record_label(session, candidate_id=c1, expert_id=ana, label_class=2)
    record_label(session, candidate_id=c1, expert_id=ana, label_class=4)
    undo_label(session, candidate_id=c1, expert_id=ana)
    assert consensus(session).as_dict()[c1]["consensus"] == "2"
    undo_label(session, candidate_id=c1, expert_id=ana)
    assert c1 not in consensus(session).as_dict()
    assert session.get(Candidate, c1).n_votes == 0
    with pytest.raises(UserInputError, match="no label to undo"):
        undo_label(session, candidate_id=c1, expert_id=ana)
    assert _count(session) == 4  # two answers, two retractions: nothing deleted


@pytest.mark.parametrize(
    ("candidate", "expert", "cls", "message"),
    [
        (0, 0, 5, "not one of"),
        (0, 0, "cluster", "not one of"),
        (None, 0, 1, "unknown candidate"),
        (0, None, 1, "unknown expert"),
    ],
)
def test_invalid_label_is_refused_without_a_write(world, candidate, expert, cls, message):
    session, ids, experts = world
    with pytest.raises(UserInputError, match=message):
        record_label(
            session,
            candidate_id=ids[0] if candidate == 0 else 9999,
            expert_id=experts[0] if expert == 0 else 9999,
            label_class=cls,
        )
    assert _count(session) == 0


def test_what_was_shown_is_checked(world):
    session, ids, experts = world
    with pytest.raises(UserInputError, match="unknown model version"):
        record_label(
            session, candidate_id=ids[0], expert_id=experts[0], label_class=1, shown_model_version_id=7
        )
    with pytest.raises(UserInputError, match="4 values"):
        record_label(
            session, candidate_id=ids[0], expert_id=experts[0], label_class=1, shown_scores=[0.5, 0.5]
        )
    assert _count(session) == 0


def test_experts_are_unique_and_found_by_name(world):
    session, ids, _ = world
    assert add_expert(session, "dora") > 0
    with pytest.raises(UserInputError, match="already exists"):
        add_expert(session, "dora")
    with pytest.raises(UserInputError, match="role"):
        add_expert(session, "eve", role="boss")
    assert find_candidate(session, "g1", 2).id == ids[1]
    with pytest.raises(UserInputError, match="no candidate"):
        find_candidate(session, "g1", 99)


def test_bulk_import_is_all_or_nothing_and_once_only(world, tmp_path):
    session, ids, _ = world
    good = tmp_path / "good.csv"
    good.write_text("galaxy,id,class,comment,seconds\ng1,1,1,,2\ng1,2,unsure,hm,\ng1,3,4,,\n")
    assert import_labels(session, good, expert="ana") == 3
    assert _count(session) == 3
    with pytest.raises(
        UserInputError, match=r"good.csv: this file was already imported for expert 'ana' on 20\d\d-"
    ):
        import_labels(session, good, expert="ana")
    bad = tmp_path / "bad.csv"
    bad.write_text("galaxy,id,class\ng1,4,2\ng1,4,7\n")
    with pytest.raises(UserInputError, match="bad.csv:3: class '7'"):
        import_labels(session, bad, expert="ben")
    missing = tmp_path / "missing.csv"
    missing.write_text("galaxy,id,class\ng1,4,2\ng1,99,2\n")
    with pytest.raises(UserInputError, match="no candidate with id 99"):
        import_labels(session, missing, expert="ben")
    with pytest.raises(UserInputError, match="unknown expert"):
        import_labels(session, bad, expert="nobody")
    assert _count(session) == 3
    assert session.get(Candidate, ids[0]).consensus_class == 1


def test_identical_files_of_two_experts_both_count(world, tmp_path):
    session, ids, _ = world
    text = "galaxy,id,class\ng1,1,2\ng1,2,3\n"
    (tmp_path / "ana.csv").write_text(text)
    (tmp_path / "ben.csv").write_text(text)
    assert import_labels(session, tmp_path / "ana.csv", expert="ana") == 2
    assert import_labels(session, tmp_path / "ben.csv", expert="ben") == 2
    with pytest.raises(UserInputError, match="already imported for expert 'ben'"):
        import_labels(session, tmp_path / "ana.csv", expert="ben")
    assert _count(session) == 4
    result = consensus(session).as_dict()
    assert (result[ids[0]]["votes"], result[ids[1]]["votes"]) == ([0, 2, 0, 0], [0, 0, 2, 0])
    session.expire_all()
    assert [session.get(Candidate, c).n_votes for c in ids[:2]] == [2, 2]


def test_refresh_rebuilds_the_cache(world, monkeypatch):
    session, ids, (ana, *_) = world
    for cid, cls in zip(ids, [2, 3, 4], strict=False):
        record_label(session, candidate_id=cid, expert_id=ana, label_class=cls)
    for cid in ids:
        session.get(Candidate, cid).n_votes = 0
        session.get(Candidate, cid).consensus_class = None
    session.commit()
    monkeypatch.setattr("db.consensus._CHUNK", 3)  # several chunks
    assert refresh_consensus_cache(session) == 4
    session.commit()
    assert [session.get(Candidate, c).consensus_class for c in ids] == [2, 3, 4, None]
    assert [session.get(Candidate, c).n_votes for c in ids] == [1, 1, 1, 0]
