"""The review queue: orders, filters, keyset pages, predictions of the active model only."""

from __future__ import annotations

import numpy as np
import pytest
from db_testing import add_experts, add_galaxy, add_model, migrated_engine
from sqlalchemy import select, text

from db.engine import session_factory
from db.models import Candidate, ModelVersion
from db.queue import QUEUE_ORDERS, review_queue
from webapp.services.labels import record_label

SCORES = [
    [0.90, 0.05, 0.03, 0.02],  # confident class 1
    [0.40, 0.35, 0.15, 0.10],  # small margin, class 1
    [0.25, 0.25, 0.25, 0.25],  # flat: least confident, highest entropy
    [0.10, 0.60, 0.20, 0.10],  # class 2
    [0.05, 0.05, 0.10, 0.80],  # class 4
    [0.30, 0.10, 0.50, 0.10],  # class 3
]


@pytest.fixture
def queue_world(tmp_path):
    engine = migrated_engine(tmp_path)
    session = session_factory(engine)()
    galaxy = add_galaxy(session, "g1", n=6)
    other = add_galaxy(session, "g2", n=2)
    ids = session.scalars(
        select(Candidate.id).where(Candidate.galaxy_id == galaxy.id).order_by(Candidate.id)
    ).all()
    other_ids = session.scalars(select(Candidate.id).where(Candidate.galaxy_id == other.id)).all()
    add_model(session, "old", {c: [0.25, 0.25, 0.25, 0.25] for c in ids}, status="archived")
    add_model(session, "active", {**dict(zip(ids, SCORES, strict=True)), **{c: SCORES[0] for c in other_ids}})
    ana, ben = add_experts(session, "ana", "ben")
    session.commit()
    yield session, ids, ana.id, ben.id, galaxy.id
    session.close()


def _ids(page):
    return [item.candidate_id for item in page.items]


def test_orders(queue_world):
    session, ids, *_, galaxy_id = queue_world
    q = lambda order: _ids(review_queue(session, order=order, galaxy_id=galaxy_id))  # noqa: E731
    assert q("least_confidence") == [ids[i] for i in (2, 1, 5, 3, 4, 0)]
    assert q("smallest_margin")[:2] == [ids[2], ids[1]]
    assert q("highest_entropy")[0] == ids[2] and q("highest_entropy")[-1] == ids[0]
    assert sorted(q("random")) == sorted(ids) and q("random") != ids
    assert sorted(q("fewest_votes")) == sorted(ids)


def test_fewest_votes_and_disagreement_follow_labels(queue_world):
    session, ids, ana, ben, galaxy_id = queue_world
    record_label(session, candidate_id=ids[0], expert_id=ana, label_class=4)  # model says 1
    record_label(session, candidate_id=ids[3], expert_id=ana, label_class=2)  # model agrees
    record_label(session, candidate_id=ids[3], expert_id=ben, label_class=2)
    assert _ids(review_queue(session, order="fewest_votes", galaxy_id=galaxy_id))[-2:] == [ids[0], ids[3]]
    assert _ids(review_queue(session, order="disagreement", galaxy_id=galaxy_id)) == [ids[0]]


def test_filters(queue_world):
    session, ids, ana, _, galaxy_id = queue_world
    assert len(review_queue(session, order="least_confidence").items) == 8
    assert _ids(review_queue(session, predicted_class=1, galaxy_id=galaxy_id)) == [ids[2], ids[1], ids[0]]
    assert _ids(
        review_queue(session, order="random", mag_v_range=(21.0, 22.0), galaxy_id=galaxy_id)
    ) == sorted(ids[1:3], key=lambda c: session.get(Candidate, c).shuffle_key)
    record_label(session, candidate_id=ids[2], expert_id=ana, label_class=3)
    mine = review_queue(session, expert_id=ana, labelled_by_expert=True)
    assert _ids(mine) == [ids[2]]
    assert ids[2] not in _ids(review_queue(session, expert_id=ana, labelled_by_expert=False))
    session.get(Candidate, ids[1]).usable = False
    session.commit()
    assert ids[1] not in _ids(review_queue(session, galaxy_id=galaxy_id))


@pytest.mark.parametrize("order", [o for o in QUEUE_ORDERS if o not in ("disagreement", "most_informative")])
def test_keyset_pages_cover_everything_once(queue_world, order):
    session, ids, *_ = queue_world
    seen, cursor = [], None
    while True:
        page = review_queue(session, order=order, limit=3, after=cursor)
        seen += _ids(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(session.scalars(select(Candidate.id)).all())
    assert seen == _ids(review_queue(session, order=order, limit=100))


def test_items_carry_the_active_model_scores(queue_world):
    session, ids, *_ = queue_world
    item = review_queue(session, order="least_confidence", limit=1).items[0]
    assert item.candidate_id == ids[2] and item.predicted_class == 1
    assert np.allclose(item.scores, SCORES[2]) and np.isclose(item.entropy, np.log(4))


def test_unknown_order_and_missing_model(tmp_path):
    engine = migrated_engine(tmp_path)
    with session_factory(engine)() as session:
        add_galaxy(session)
        with pytest.raises(ValueError, match="unknown queue order"):
            review_queue(session, order="best")
        with pytest.raises(ValueError, match="active model"):
            review_queue(session, order="least_confidence")
        page = review_queue(session, order="fewest_votes")
        assert len(page.items) == 6 and page.items[0].scores is None


@pytest.mark.parametrize("bound", [3, 20_000])
@pytest.mark.parametrize("analyze", [False, True])
def test_filtered_pages_are_the_same_whichever_index_leads(tmp_path, monkeypatch, bound, analyze):
    """SQLite: a filter matching many candidates is kept off its index; the pages stay exact."""
    monkeypatch.setattr("db.queue._SQLITE_LEADING_ROWS", bound)
    engine = migrated_engine(tmp_path)
    rng = np.random.default_rng(4)
    with session_factory(engine)() as session:
        galaxies = [add_galaxy(session, f"g{k}", n=30) for k in range(3)]
        rows = session.execute(select(Candidate.id, Candidate.galaxy_id, Candidate.mag_v)).all()
        scores = {c: list(rng.dirichlet(np.ones(4))) for c, _, _ in rows}
        add_model(session, "m", scores)
        (ana,) = add_experts(session, "ana")
        for c, _, _ in rows[::4]:
            record_label(session, candidate_id=c, expert_id=ana.id, label_class=1)
        if analyze:
            session.execute(text("ANALYZE"))
        session.commit()
        labelled = {c for c, _, _ in rows[::4]}
        galaxy = galaxies[1].id
        expected = sorted(
            (
                (max(scores[c]), c)
                for c, g, mag in rows
                if g == galaxy and mag >= 22 and c not in labelled and int(np.argmax(scores[c])) == 2
            ),
        )
        pages, after = [], None
        while True:
            page = review_queue(
                session,
                order="least_confidence",
                galaxy_id=galaxy,
                predicted_class=3,
                mag_v_range=(22.0, None),
                expert_id=ana.id,
                labelled_by_expert=False,
                limit=2,
                after=after,
            )
            pages += _ids(page)
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert pages == [c for _, c in expected] and len(expected) >= 2


def test_most_informative_orders_by_the_stored_bald_score_and_skips_predictions_without_one(tmp_path):
    from db.predictions import store_predictions
    from starcnet_core.scores import score_summaries

    engine = migrated_engine(tmp_path)
    session = session_factory(engine)()
    galaxy = add_galaxy(session, "g1", n=5)
    ids = session.scalars(
        select(Candidate.id).where(Candidate.galaxy_id == galaxy.id).order_by(Candidate.id)
    ).all()
    model = ModelVersion(name="active", status="active")
    session.add(model)
    session.flush()
    table = np.array(SCORES[:4])
    bald = np.array([0.01, 0.30, 0.05, 0.20])
    store_predictions(session, model.id, ids[:4], table, {**score_summaries(table), "bald": bald})
    # scored without MC passes: no BALD score, so not in the BALD order
    store_predictions(
        session, model.id, ids[4:], np.array(SCORES[4:5]), score_summaries(np.array(SCORES[4:5]))
    )
    session.commit()
    page = review_queue(session, order="most_informative")
    assert _ids(page) == [ids[1], ids[3], ids[2], ids[0]]
    assert np.allclose([item.bald for item in page.items], [0.30, 0.20, 0.05, 0.01])
    seen, cursor = [], None
    while True:
        page = review_queue(session, order="most_informative", limit=3, after=cursor)
        seen += _ids(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [ids[1], ids[3], ids[2], ids[0]]
    unscored = [
        item for item in review_queue(session, order="highest_entropy").items if item.candidate_id == ids[4]
    ]
    assert unscored[0].bald is None
    session.close()
