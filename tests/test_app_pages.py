"""Every page of the review app through Streamlit's AppTest, on a tiny database the test builds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from sqlalchemy import delete, select, update
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, use_case
from db.models import Candidate, Expert, Galaxy, Job, Label, Prediction
from tests.app_testing import prepared_database
from tests.db_testing import migrated_engine
from tests.legus_testing import catalog_rows, write_galaxy, write_tab
from webapp.services import auth
from webapp.services.auth import issue_session_token, read_session_token, sign_in
from webapp.services.database import open_database
from webapp.services.labels import add_expert

APP = str(Path(__file__).resolve().parents[1] / "webapp" / "app.py")
PAGES = [
    "pages/sign_in.py",
    "pages/review.py",
    "pages/galaxies.py",
    "pages/metrics.py",
    "pages/export.py",
    "pages/models.py",
    "pages/retrain.py",
]

pytestmark = pytest.mark.slow  # a few seconds of Streamlit reruns per test


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = prepared_database(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STARCNET_PASSWORD", raising=False)
    st.cache_resource.clear()  # the engine and mosaics of an earlier test's database
    st.cache_data.clear()
    yield url
    st.cache_resource.clear()


def _signed_in(name: str = "ann") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    app.selectbox[0].select(name)
    app.button[0].click().run()
    assert not app.exception
    assert app.session_state["expert"].name == name
    return app


def _labels(url: str) -> list[tuple[int, str | None, dict]]:
    """ann's label rows, oldest first: (source id, class or None for a retraction, display settings)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Candidate.source_id, Label.label_class, Label.display_settings)
            .join(Candidate)
            .join(Expert, Expert.id == Label.expert_id)
            .where(Expert.name == "ann")
            .order_by(Label.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _panel(app: AppTest) -> dict:
    """What the candidate panel was given to draw (the browser component's data)."""
    return json.loads(app.get("bidi_component")[0].proto.json)


def test_pages_ask_for_sign_in_then_render(database_url: str) -> None:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("pages/galaxies.py").run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Sign in"]  # the sign-in form, then back to the page asked for
    app.switch_page("pages/sign_in.py").run()  # AppTest's element tree after a redirect: draw the form anew
    app.selectbox[0].select("ann")
    app.button[0].click().run()
    assert not app.exception
    assert any("Field of" in s.label for s in app.selectbox)  # the Galaxies page
    app = _signed_in()
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)


def test_new_expert_and_shared_password(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARCNET_PASSWORD", "orion")
    monkeypatch.setattr(auth, "SIGN_IN_LIMITER", auth.SignInLimiter())
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    # nobody's name before the password
    assert not app.selectbox and [t.label for t in app.text_input] == ["Password"]
    app.text_input[0].input("wrong")
    app.button[0].click().run()
    assert app.error[0].value == "wrong password"
    assert "expert" not in app.session_state and not app.selectbox
    app.text_input[0].input("orion")
    app.button[0].click().run()
    assert app.selectbox[0].options == ["ann", "bob"]
    app.text_input[0].input("carla")
    app.button[0].click().run()
    assert app.session_state["expert"].name == "carla"


def test_wrong_passwords_are_rate_limited(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARCNET_PASSWORD", "orion")
    monkeypatch.setattr(auth, "SIGN_IN_LIMITER", auth.SignInLimiter())
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    for _ in range(auth.MAX_FAILURES):
        app.text_input[0].input("guess")
        app.button[0].click().run()
        assert app.error[0].value == "wrong password"
    app.text_input[0].input("orion")  # right, but too late
    app.button[0].click().run()
    assert app.error[0].value.startswith("too many wrong passwords")
    assert not app.selectbox and "door_password" not in app.session_state


def test_markdown_in_an_expert_name_is_shown_as_text(database_url: str) -> None:
    name = "[x](https://example.org)![p](http://127.0.0.1:9/p.png)"
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    app.text_input[0].input(name)
    app.button[0].click().run()
    app.switch_page("pages/review.py").run()
    app.toggle(key="review_blind").set_value(False).run()
    app.button(key="label_2").click().run()
    app = _signed_in("ann")
    app.switch_page("pages/review.py").run()
    app.toggle(key="review_blind").set_value(False).run()
    shown = [element.value for element in [*app.caption, *app.markdown, *app.success]]
    assert not any(name in text for text in shown), shown  # no markdown element holds it unescaped
    # the candidate panel sets every text as the DOM's textContent: plain text, the name as typed
    assert any(line.startswith("Others:") and name in line for line in _panel(app)["current"]["lines"])


def test_label_with_display_settings_then_undo(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    first = app.session_state["view"]
    # least confident first: the active model is least sure about the last candidate
    assert first.source_id == 6
    assert first.scores is not None  # StarcNet's scores are shown by default
    app.text_input(key="comment").input("two peaks?")
    app.button(key="label_3").click().run()
    assert not app.exception
    labels = _labels(database_url)
    assert labels[-1][0] == 6 and labels[-1][1] == "3"
    assert labels[-1][2] == {"stretch": "asinh", "percentiles": [0.25, 99.75], "stamp_px": 48, "blind": False}
    second = app.session_state["view"]
    assert second.source_id == 5
    assert "ann: 1 labelled today" in _panel(app)["current"]["progress"]
    app.button(key="undo").click().run()
    assert app.session_state["view"].source_id == 6  # back to the undone candidate
    assert _labels(database_url)[-1][1] is None  # a retraction
    # the undone label no longer counts as labelled today
    assert "ann: 0 labelled today · 6 left" in _panel(app)["current"]["progress"]


def test_display_range_and_stretch_are_stored_with_the_label(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    default_rgb = app.session_state["view"].rgb
    app.select_slider(key="review_percentiles").set_range(1.0, 90.0).run()
    view = app.session_state["view"]
    assert view.percentiles == (1.0, 90.0) and not (view.rgb == default_rgb).all()
    assert _panel(app)["current"]["frames"][0]["name"] == "RGB (asinh, 1-90%), 48 px"
    app.segmented_control(key="review_stretch").set_value("linear").run()
    app.button(key="label_2").click().run()
    assert not app.exception
    assert _labels(database_url)[-1][2] == {
        "stretch": "linear",
        "percentiles": [1.0, 90.0],
        "stamp_px": 48,
        "blind": False,
    }
    app.segmented_control(key="review_stretch").set_value("zscale").run()
    assert app.select_slider(key="review_percentiles").disabled  # zscale chooses its own range


def test_review_choices_outlive_a_visit_to_another_page(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    app.segmented_control(key="review_stretch").set_value("log").run()
    app.select_slider(key="review_percentiles").set_range(2.0, 98.0).run()
    app.toggle(key="review_blind").set_value(True).run()
    app.selectbox(key="review_order").select("fewest_votes").run()
    app.switch_page("pages/galaxies.py").run()
    app.switch_page("pages/review.py").run()
    assert not app.exception and not app.warning
    view = app.session_state["view"]
    assert (view.stretch, view.percentiles, view.scores is None) == ("log", (2.0, 98.0), True)
    assert app.selectbox(key="review_order").value == "fewest_votes"


def test_preferences_are_the_experts_and_restored_at_sign_in(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    app.segmented_control(key="review_stretch").set_value("linear").run()
    app.select_slider(key="review_context").set_value(32).run()
    app.selectbox(key="review_marker").select("aperture").run()
    app.toggle(key="review_blind").set_value(True).run()
    app.selectbox(key="review_order").select("random").run()
    # another browser, the same expert: everything comes back from the database
    again = _signed_in()
    again.switch_page("pages/review.py").run()
    view = again.session_state["view"]
    assert (view.stretch, view.context_size, view.scores) == ("linear", 32, None)
    assert again.selectbox(key="review_order").value == "random"
    assert _panel(again)["marker"] == "aperture"
    # and bob keeps his own (the defaults: scores shown)
    bob = _signed_in("bob")
    bob.switch_page("pages/review.py").run()
    assert bob.session_state["view"].scores is not None and bob.session_state["view"].stretch == "asinh"


def test_flag_back_forward_and_the_flagged_filter(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    assert app.session_state["view"].source_id == 6
    app.button(key="flag").click().run()  # not labelled yet: the flag goes with the label
    assert _panel(app)["current"]["flagged"] is True
    app.button(key="label_2").click().run()
    assert app.session_state["view"].source_id == 5
    app.button(key="back").click().run()
    assert app.session_state["view"].source_id == 6 and app.session_state["view"].my_label == "2"
    app.button(key="forward").click().run()
    assert app.session_state["view"].source_id == 5
    app.button(key="forward").click().run()  # nothing seen after it: says so, stays
    assert app.session_state["view"].source_id == 5
    assert "no later candidate" in _panel(app)["message"]
    app.toggle(key="review_flagged").set_value(True).run()
    assert app.session_state["view"].source_id == 6  # the only one flagged
    engine = make_engine(database_url)
    with engine.connect() as connection:
        flagged = connection.execute(select(Label.flagged).order_by(Label.id.desc()).limit(1)).scalar()
    engine.dispose()
    assert flagged is True


def test_an_unscored_galaxy_falls_back_to_fewest_votes(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(delete(Prediction))  # as a galaxy just imported, before scoring
    engine.dispose()
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    assert not app.exception
    assert app.selectbox(key="review_order").value == "smallest_margin"  # the expert's choice stays
    assert "not scored this galaxy yet" in _panel(app)["current"]["note"]
    assert app.session_state["view"].scores is None


def test_skip_unsure_and_blind_off_shows_scores_and_others(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    app.toggle(key="review_blind").set_value(False).run()
    view = app.session_state["view"]
    assert view.scores is not None and view.labels is not None
    # the scores say what computed them, as their prediction records it
    assert _panel(app)["current"]["scores_title"] == "StarcNet scores · int8 on openvino"
    app.button(key="skip").click().run()
    assert app.session_state["view"].source_id == 5
    app.button(key="label_unsure").click().run()
    assert _labels(database_url)[-1][:2] == (5, "unsure")


def test_queue_order_and_filters(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    app.selectbox(key="review_order").select("fewest_votes").run()
    # candidate 2 carries bob's vote as well as the catalog's: never first by fewest votes
    assert app.session_state["view"].source_id != 2
    classes = app.selectbox(key="review_class")
    assert classes.options[classes.index] == "any"  # no filter says so (not "Choose an option")
    classes.select(2).run()
    assert app.session_state["view"].source_id in (2, 6)  # model's class is (rank % 4) + 1
    classes = app.selectbox(key="review_class")
    assert classes.options[classes.index] == "2 asymmetric cluster"
    classes.select(0).run()
    assert app.selectbox(key="review_class").options[app.selectbox(key="review_class").index] == "any"
    assert app.session_state["saved_preferences"].predicted_class is None  # stored as no filter
    app.toggle(key="review_labelled").set_value(True).run()
    assert not app.exception


def test_the_queue_can_follow_the_most_informative_bald_order(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        ids = dict(connection.execute(select(Candidate.source_id, Candidate.id)).all())
        for source, cid in ids.items():
            bald = 0.5 if source == 4 else 0.01 * source
            connection.execute(update(Prediction).where(Prediction.candidate_id == cid).values(bald=bald))
    engine.dispose()
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    order = app.selectbox(key="review_order")
    assert "most informative (BALD)" in order.options
    order.select("most_informative").run()
    assert not app.exception
    assert app.session_state["view"].source_id == 4  # the highest mutual information first
    app.button(key="skip").click().run()
    assert app.session_state["view"].source_id == 6


def _queue_seen(app: AppTest, order: str, n: int) -> list[int]:
    """Source ids of the first ``n`` candidates the Review page shows in ``order``, skipping each."""
    app.switch_page("pages/review.py").run()
    app.selectbox(key="review_order").select(order).run()
    assert not app.exception
    seen = [app.session_state["view"].source_id]
    for _ in range(n - 1):
        app.button(key="skip").click().run()
        seen.append(app.session_state["view"].source_id)
    return seen


def test_the_queue_can_mix_the_smallest_margin_with_random_picks(database_url: str) -> None:
    margin = _queue_seen(_signed_in(), "smallest_margin", 4)
    shuffled = _queue_seen(_signed_in(), "random", 4)
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    assert "smallest margin, every other at random" in app.selectbox(key="review_order").options
    mixed = _queue_seen(app, "smallest_margin_and_random", 4)
    expected: list[int] = []
    for pair in zip(margin, shuffled, strict=True):
        expected.extend(s for s in pair if s not in expected)
    assert mixed == expected[:4] and mixed != margin  # alternating, each candidate once


def test_export_every_format(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/export.py").run()
    for fmt in ("csv", "ecsv", "fits", "starcnet-tab", "ds9"):
        app.radio(key="export_format").set_value(fmt).run()
        assert not app.exception and not app.error, fmt


def _make_admin(url: str, name: str = "ann") -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(update(Expert).where(Expert.name == name).values(role="admin"))
    engine.dispose()


def test_server_directories_are_for_admins_under_the_data_roots(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    assert not [t for t in app.text_input if t.key == "import_dir"]
    assert any("for admins" in c.value for c in app.caption)
    _make_admin(database_url)
    monkeypatch.setenv("STARCNET_DATA_ROOTS", str(tmp_path / "data"))
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    for outside in ("/etc", "../..", str(tmp_path / "ngc9999")):
        app.text_input(key="import_dir").input(outside)
        app.button(key="import_dir_go").click().run()
        assert not app.exception
        error = app.error[0].value
        assert "not under the data roots" in error and "passwd" not in error and "fits" not in error


def test_galaxies_page_refuses_bad_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_admin(database_url)
    monkeypatch.setenv("STARCNET_DATA_ROOTS", str(tmp_path))
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    assert app.dataframe[0].value["candidates"].tolist() == [6]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x_f555w.fits").write_text("not a fits file")
    app.text_input(key="import_dir").input(str(bad))
    app.button(key="import_dir_go").click().run()
    assert not app.exception
    assert "not a FITS file" in app.error[0].value


def test_galaxies_page_imports_the_catalog_named_in_the_form(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_admin(database_url)
    monkeypatch.setenv("STARCNET_DATA_ROOTS", str(tmp_path))
    directory = write_galaxy(
        tmp_path / "two", [40.5, 50.5], [40.5, 50.5], [1, 2], field="ngc4246", shape=(90, 90)
    )
    write_tab(directory / "ngc4246_multiband_avgapcor_v2.tab", catalog_rows([45.5], [45.5], [3]))
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    app.text_input(key="import_dir").input(str(directory))
    app.button(key="import_dir_go").click().run()
    assert "several possible catalogs" in app.error[0].value
    app.text_input(key="import_catalog").input("ngc4246_multiband_avgapcor_v2.tab")
    app.selectbox(key="import_frame").set_value("pointing")
    app.button(key="import_dir_go").click().run()
    assert not app.exception and not app.error
    assert "Imported ngc4246: 1 candidates, 1 usable." in app.success[0].value
    # the import queued scoring of the new galaxy with the active model, shown with its progress
    engine = make_engine(database_url)
    with engine.connect() as connection:
        queued = connection.execute(select(Job.params).where(Job.kind == "score")).scalars().all()
        galaxy_id = connection.execute(select(Galaxy.id).where(Galaxy.name == "ngc4246")).scalar_one()
    engine.dispose()
    assert [params["galaxy_id"] for params in queued] == [galaxy_id]
    app.run()
    assert any("Scoring ngc4246" in bar.proto.text for bar in app.get("progress"))
    assert app.button(key=f"score_now_{galaxy_id}").disabled  # already queued


def test_candidate_opened_from_the_galaxies_page(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    app.number_input(key="open_id").set_value(3).run()
    app.button[-1].click().run()
    assert not app.exception
    assert app.session_state["view"].source_id == 3
    # AppTest keeps the page it last switched to: go to Review as the browser did
    app.switch_page("pages/review.py").run()
    assert app.session_state["view"].source_id == 3
    app.button(key="label_1").click().run()  # then the queue goes on, least confident first
    assert app.session_state["view"].source_id == 6


def test_after_labelling_the_others_labels_are_revealed(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    app.toggle(key="review_blind").set_value(True).run()
    app.selectbox(key="review_class").select(2).run()
    assert app.session_state["view"].source_id == 6
    app.button(key="skip").click().run()
    assert app.session_state["view"].source_id == 2  # bob labelled it 2, hidden while blind
    assert app.session_state["view"].labels is None
    app.button(key="label_1").click().run()
    assert not app.exception
    shown = [caption.value.replace("\\", "") for caption in app.caption]  # markdown escapes off
    assert any("Previous #2: you 1" in text and "bob 2" in text for text in shown), shown


def test_the_models_page_counts_the_active_models_predictions_per_precision(database_url: str) -> None:
    app = _signed_in()
    app.switch_page("pages/models.py").run()
    assert not app.exception
    shown = [caption.value for caption in app.caption]
    assert any("Computed in: int8 on openvino 6" in text for text in shown), shown


def test_an_empty_database_says_what_to_do_on_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = migrated_engine(tmp_path)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    engine.dispose()
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STARCNET_PASSWORD", raising=False)
    st.cache_resource.clear()
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    app.text_input[0].input("zoe")
    app.button[0].click().run()
    expected = {
        "pages/review.py": "No galaxy with mosaics yet",
        "pages/galaxies.py": "No galaxy yet",
        "pages/export.py": "No galaxy imported yet",
        "pages/models.py": "No model yet",
    }
    for page, hint in expected.items():
        app.switch_page(page).run()
        assert not app.exception, page
        assert any(hint in info.value for info in app.info), (page, [i.value for i in app.info])
    app.switch_page("pages/retrain.py").run()
    assert "No retrain job yet." in [caption.value for caption in app.caption]
    st.cache_resource.clear()


def test_an_admin_imposes_a_blind_campaign_and_labels_record_it(database_url: str) -> None:
    database = open_database(database_url)
    with database.sessions() as session:
        add_expert(session, "carol", "admin")
    database.engine.dispose()
    admin = _signed_in("carol")
    admin.switch_page("pages/review.py").run()
    admin.toggle(key="review_campaign").set_value(True).run()
    assert not admin.exception
    app = _signed_in()
    app.switch_page("pages/review.py").run()
    assert app.session_state["view"].scores is None
    assert app.toggle(key="review_blind").disabled  # not the expert's choice while the campaign runs
    assert "blind campaign imposed by carol" in _panel(app)["current"]["scores_note"]
    app.button(key="label_4").click().run()
    assert (
        _labels(database_url)[-1][2]["blind"] is True
        and _labels(database_url)[-1][2]["blind_imposed"] is True
    )


def test_a_session_token_signs_in_again_until_it_expires(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database(database_url)
    with database.sessions() as session:
        signed = sign_in(session, "ann")
        token = issue_session_token(signed)
        assert read_session_token(session, token) == signed
        assert read_session_token(session, token[:-2] + "xx") is None  # forged
        assert read_session_token(session, None) is None
        monkeypatch.setattr("webapp.services.auth.SESSION_HOURS", -1.0)  # expired at once
        assert read_session_token(session, token) is None
    database.engine.dispose()


def test_a_failed_retrain_is_rerun_from_the_page(database_url: str) -> None:
    from db import jobs
    from db.engine import session_factory
    from webapp.services.retrain import RetrainRequest, request_retrain

    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        request = RetrainRequest(mode="scratch", include_catalog=True, epochs=3, requested_by="ann")
        job = request_retrain(session, request)
        with use_case(session):
            jobs.claim_next(session, "w1")
            jobs.finish(session, job.id, "w1", "failed", error="RuntimeError: out of memory")
        params = jobs.get_job(session, job.id).params
    app = _signed_in()
    app.switch_page("pages/retrain.py").run()
    assert "out of memory" in app.error[0].value
    app.button(key=f"rerun-{job.id}").click().run()
    assert not app.exception
    assert f"Job #{job.id} queued again as #{job.id + 1}." in [s.value for s in app.success], [
        e.value for e in app.error
    ]
    with session_factory(engine)() as session:
        again = jobs.get_job(session, job.id + 1)
    engine.dispose()
    assert (again.kind, again.status) == ("retrain", "queued")
    assert RetrainRequest.from_params(again.params) == RetrainRequest.from_params(params)


def _ngc45_like(directory: Path, at: float = 40.5) -> Path:
    """A galaxy whose catalog, without a readme, has two class columns as NGC 45's (sources at ``at`` and ``at`` + 10 px)."""
    where = [at, at + 10.0]
    directory = write_galaxy(directory, where, where, [1, 2], field=directory.name, shape=(90, 90))
    tab = next(directory.glob("*.tab"))
    tab.with_suffix(".readme").unlink()
    rows = catalog_rows(where, where, [1, 2])[:, :33]
    # As NGC 45: a 0/1 flag, a class column, a 0-2 column, another class column.
    np.savetxt(tab, np.column_stack([rows, [0, 1], [3, 4], [0, 2], [4, 1]]), fmt="%.5f")
    return directory


def test_galaxies_page_lists_ambiguous_class_columns_and_imports_the_one_chosen(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_admin(database_url)
    monkeypatch.setenv("STARCNET_DATA_ROOTS", str(tmp_path))
    app = _signed_in()
    app.switch_page("pages/galaxies.py").run()
    directory = _ngc45_like(tmp_path / "ngc45")
    app.text_input(key="import_dir").input(str(directory)).run()
    assert "several class columns" in app.warning[0].value
    choice = app.selectbox(key=f"import_dir_label:{directory}")
    assert choice.options == ["none", "column 35 (3: 1, 4: 1)", "column 37 (1: 1, 4: 1)"]
    choice.set_value(37)
    app.button(key="import_dir_go").click().run()
    assert not app.exception and not app.error and not app.text
    engine = make_engine(database_url)
    with engine.connect() as connection:
        labels = connection.execute(
            select(Candidate.source_id, Label.label_class)
            .join(Candidate)
            .join(Expert, Expert.id == Label.expert_id)
            .where(Expert.name == "catalog column 37")
            .order_by(Candidate.source_id)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in labels] == [(1, "4"), (2, "1")]
    # Imported with none chosen: the page says how to add one later.
    # another field: the same ids elsewhere (the same positions would be refused as a copy of ngc45)
    app.text_input(key="import_dir").input(str(_ngc45_like(tmp_path / "ngc46", at=35.5))).run()
    app.button(key="import_dir_go").click().run()
    assert "Imported ngc46" in app.success[0].value
    assert "catalog-labels ngc46 --label-column N" in app.text[0].value
