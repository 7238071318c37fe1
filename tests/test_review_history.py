"""The Review page's session bookkeeping without Streamlit: back/forward, skips, the queue, late keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Candidate, Expert, Galaxy, Label
from starcnet_core.io.bands import BANDS
from starcnet_core.io.mosaics import open_mosaics
from tests.app_testing import prepared_database
from webapp.components.review_actions import KEPT_VIEWS, ReviewActions
from webapp.components.review_history import ReviewHistory
from webapp.services.auth import SignedIn
from webapp.services.database import open_database
from webapp.services.labels import get_expert
from webapp.services.preferences import load_preferences
from webapp.services.review import build_candidate_view


def test_back_forward_and_the_queue_ahead() -> None:
    history = ReviewHistory()
    history.use_filters("all")
    refills = []

    def refill(skipped: set[int]) -> list[int]:
        refills.append(set(skipped))
        return [n for n in (10, 11, 12, 13) if n not in skipped]

    assert history.current(refill) == 10 and history.previous_id is None
    assert history.next_id() == 11
    history.advance(10)
    assert history.current(refill) == 11 and history.previous_id == 10
    history.skip(11)
    assert history.current(refill) == 12 and 11 in history.skipped
    assert history.back() and history.current(refill) == 11
    assert history.next_id() == 12 and history.following_id == 12  # a label now brings the one seen after
    assert history.back() and history.current(refill) == 10 and not history.back()
    assert history.forward() and history.forward() and history.current(refill) == 12
    assert not history.forward()
    history.show_here(10)  # an undone label: on screen where the expert is, → goes on to 12
    assert history.current(refill) == 10 and history.following_id == 12
    assert len(refills) == 1


def test_new_filters_start_a_new_queue_and_back_still_reaches_the_others() -> None:
    history = ReviewHistory(skipped={3})
    history.use_filters("any class")
    assert history.current(lambda skipped: [n for n in (1, 2, 3) if n not in skipped]) == 1
    history.use_filters("class 2")
    assert history.on_screen is None
    assert history.current(lambda skipped: [2, 5]) == 2 and history.previous_id == 1
    history.use_filters("class 2")  # the same filters keep the queue
    assert history.queue == [2, 5]
    assert history.current(lambda skipped: []) == 2


def test_done_elsewhere_keeps_the_candidate_on_screen() -> None:
    history = ReviewHistory()
    history.use_filters("f")
    assert history.current(lambda skipped: [7, 8, 9]) == 7
    history.done_elsewhere(8)  # labelled from a screen that has moved on: it leaves the queue ahead
    assert history.on_screen == 7 and history.queue == [7, 9] and history.next_id() == 9
    history.skip(9)
    assert history.on_screen == 7 and history.queue == [7] and history.skipped == {9}


@pytest.fixture
def review(tmp_path: Path):
    """The pieces of a Review page for ann: database, a state dict, views by source id."""
    database = open_database(prepared_database(tmp_path))
    with database.sessions() as session:
        ann = get_expert(session, "ann").id
        galaxy = session.scalars(select(Galaxy)).one()
        arrays = open_mosaics([galaxy.mosaic_paths[b] for b in BANDS]).arrays()
        ids = dict(session.execute(select(Candidate.source_id, Candidate.id)).all())
        views = {s: build_candidate_view(session, c, arrays, expert_id=ann) for s, c in ids.items()}
        preferences = load_preferences(session, ann)
    state = {"review_history": ReviewHistory(), "saved_preferences": preferences}
    actions = ReviewActions(state, database, SignedIn(ann, "ann", "s1"), blind=False, blind_imposed=False)
    yield database, state, actions, views, ids
    database.engine.dispose()


def _ann_labels(database) -> list[tuple[int, str]]:  # noqa: ANN001
    with database.read_sessions() as session:
        rows = session.execute(
            select(Candidate.source_id, Label.label_class)
            .join(Candidate)
            .join(Expert, Expert.id == Label.expert_id)
            .where(Expert.name == "ann")
            .order_by(Label.id)
        ).all()
    return [tuple(r) for r in rows]


def test_a_key_pressed_before_new_filters_arrived_labels_what_was_seen(review) -> None:
    database, state, actions, views, ids = review
    history = state["review_history"]
    history.use_filters("any")
    history.current(lambda skipped: [ids[6], ids[5], ids[4]])
    actions.shown(views[6])
    # the expert changes a filter and presses 3 at once: the filter's run shows #1 first
    history.use_filters("class 1")
    history.current(lambda skipped: [ids[1], ids[5]])
    actions.shown(views[1])
    state["candidate_view"] = {"key": {"action": "3", "candidate_id": ids[6], "seq": 1}}
    actions.on_key()
    assert _ann_labels(database) == [(6, "3")]
    assert history.on_screen == ids[1]  # the new filters' candidate stays on screen
    assert "#6: labelled 3" in state["toast"] and "#6" in state["previous"]
    actions.on_key()  # the same event again (another rerun): taken once
    assert _ann_labels(database) == [(6, "3")]
    # moves from a screen that has changed are refused, and say so
    state["candidate_view"] = {"key": {"action": "back", "candidate_id": ids[6], "seq": 2}}
    actions.on_key()
    assert history.on_screen == ids[1] and "not taken" in state["toast"]
    # a key on the candidate on screen acts as always
    state["candidate_view"] = {"key": {"action": "skip", "candidate_id": ids[1], "seq": 3}}
    actions.on_key()
    assert history.current(lambda skipped: []) == ids[5] and ids[1] in history.skipped
    # a late skip of a candidate no longer on screen leaves the queue ahead without moving on
    state["candidate_view"] = {"key": {"action": "skip", "candidate_id": ids[6], "seq": 4}}
    actions.on_key()
    assert history.on_screen == ids[5] and ids[6] in history.skipped and "#6: skipped" in state["toast"]


def test_keys_on_candidates_never_shown_are_not_taken(review) -> None:
    database, state, actions, views, ids = review
    history = state["review_history"]
    history.use_filters("any")
    history.current(lambda skipped: [ids[6]])
    actions.shown(views[6])
    state["candidate_view"] = {"key": {"action": "1", "candidate_id": ids[2], "seq": 1}}
    actions.on_key()
    assert _ann_labels(database) == [] and "not taken" in state["toast"]
    for n in range(KEPT_VIEWS + 3):  # only the latest shown are kept
        actions.shown(dataclasses.replace(views[1], candidate_id=1000 + n))
    assert list(state["shown_views"]) == [1000 + n for n in range(3, KEPT_VIEWS + 3)]
