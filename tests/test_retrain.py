"""Retraining end to end through the services and the worker; cancel; one retrain at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from db_testing import migrated_engine
from retrain_testing import TINY, label_all, make_galaxy, starting_model, synthetic_stamps
from sqlalchemy import func, select

from db import jobs
from db.engine import session_factory, use_case
from db.models import Candidate, ModelVersion, Prediction
from db.queue import review_queue
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import label_fingerprint
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import StarcNet
from webapp.cli import main as webapp_main
from webapp.services import model_versions
from webapp.services.auth import SignedIn
from webapp.services.held_out import grow_held_out_set, held_out_summary, request_measurement
from webapp.services.labels import add_expert, record_label
from webapp.services.retrain import (
    RetrainRequest,
    estimate_seconds,
    not_worse,
    request_retrain,
    training_labels,
)
from webapp.worker import Worker, default_handlers


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    engine = migrated_engine(tmp_path)
    sessions = session_factory(engine)
    worker = Worker(engine, default_handlers(stamps=synthetic_stamps), worker_id="test", heartbeat_s=0.1)
    return sessions, worker, tmp_path


def _queue_ids(session) -> list[int]:
    return [item.candidate_id for item in review_queue(session, order="least_confidence", limit=100).items]


@pytest.mark.slow
def test_labels_to_retrained_model_held_out_comparison_and_a_new_queue(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session)
        start = starting_model(session, tmp_path)
    assert worker.run(idle_exit=True) == 1  # the activation's scoring job
    with sessions() as session:
        before = _queue_ids(session)
        assert len(before) == 60
        label_all(session, ids)
        add_expert(session, "root", role="admin")
        request = RetrainRequest(mode="quick", epochs=60, requested_by="ann")
        first = estimate_seconds(session, request)
        # nothing measured yet on this installation: no number rather than a guess
        assert first["seconds"] is None and "no estimate" in first["summary"]
        assert first["n_train"] == 60 and not len(model_versions.registry.held_out_ids(session))
        job = request_retrain(session, request)
        with pytest.raises(UserInputError, match="already queued"):
            request_retrain(session, request)
        # the first request chose the held-out set: 10% of the labelled candidates, never trained on
        held = set(model_versions.registry.held_out_ids(session).tolist())
        assert len(held) == 6 and not held & set(training_labels(session, request).candidate_ids.tolist())
    assert worker.run(idle_exit=True) == 2  # retrain, then scoring with the new version
    with sessions() as session:
        done = jobs.get_job(session, job.id)
        assert done.status == "succeeded", done.error
        assert len(done.result["history"]) == 60
        # every label outside the held-out set trained or validated; none was set aside unused
        assert done.result["n_fit"] + done.result["n_validation"] == 54 and done.result["n_validation"] == 5
        new = model_versions.registry.get_version(session, done.result["model_version_id"])
        assert new.status == "proposed" and new.parent_id == start and new.n_train_labels == 54
        assert new.metrics["n"] == 6 and new.baseline_metrics["n"] == 6
        assert new.metrics["accuracy"] > new.baseline_metrics["accuracy"]
        assert np.array(new.metrics["confusion"]).sum() == 6 and len(new.metrics["recall"]) == 4
        # the job's measurements make the next estimate
        timing = done.result["timing"]
        assert timing["mode"] == "quick" and timing["conv_s_per_stamp"] > 0 and timing["seconds"] > 0
        again = estimate_seconds(session, RetrainRequest(mode="quick", epochs=60))
        assert again["measured_by"] == job.id and again["seconds"] > 0
        diff = model_versions.science_diff(session, new.id)
        assert diff["n_compared"] == 60 and np.array(diff["transitions"]).sum() == 60
        assert diff["changed"] and {"x", "y", "old_class", "new_class"} <= set(diff["changed"][0])
        assert diff["class_fractions"][0]["galaxy"] == "simgal"
        review = model_versions.promotion_review(session, new.id)
        assert review["new_current"] and review["active_current"]
        assert review["n_changed"] == len(diff["changed"]) and review["n_compared"] == 60
        assert len(review["refusals"]) == 1 and "fewer than the 100" in review["refusals"][0]
        with pytest.raises(UserInputError, match="6 labelled candidates, fewer than the 100"):
            model_versions.promote_version(session, new.id, by="bob")
        with pytest.raises(UserInputError, match="only an admin"):
            model_versions.promote_version(session, new.id, by="ann", force=True)
        promoted = model_versions.promote_version(session, new.id, by="root", force=True)
        assert promoted["previous"] == start and "fewer than the 100" in promoted["forced"][0]
        assert model_versions.who_trained_and_promoted(session)[new.id] == {
            "requested_by": "ann",
            "promoted_by": "root",
        }
    assert worker.run(idle_exit=True) == 1  # the promotion's re-scoring (nothing left to score)
    with sessions() as session:
        assert _queue_ids(session) != before
        page = review_queue(session, order="least_confidence", limit=5)
        assert page.model_version_id == new.id
        version = session.get(ModelVersion, page.model_version_id)
        trained = training_labels(session, request)
        fingerprint = label_fingerprint(trained.galaxy_names, trained.source_ids, trained.classes)
        assert version.label_fingerprint == fingerprint
        assert grow_held_out_set(session, share=0.25)["added"] == 9
        assert len(model_versions.registry.held_out_ids(session)) == 15
        # grown: the stored figures are of the old set until both versions are re-measured
        stale = model_versions.held_out_comparison(session, start)
        assert not stale["new_current"] and not stale["active_current"]
        measuring = request_measurement(session, [start, new.id])
    assert worker.run(idle_exit=True) == 1
    with sessions() as session:
        assert jobs.get_job(session, measuring.id).status == "succeeded"
        fresh = model_versions.held_out_comparison(session, start)
        assert fresh["new_current"] and fresh["active_current"] and fresh["new"]["n"] == 15
        assert session.scalar(select(func.count()).where(Prediction.model_version_id == new.id)) == 60
        rolled = model_versions.rollback_version(session)
        assert rolled["active"] == start


@pytest.mark.slow
def test_full_and_scratch_retrains_train_on_every_label_outside_the_held_out_set(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=40)
        starting_model(session, tmp_path)
        label_all(session, ids)
        assert grow_held_out_set(session, share=0.2)["added"] == 8
    assert worker.run(idle_exit=True) == 1  # scoring with the starting model
    results = {}
    for mode in ("full", "scratch"):
        with sessions() as session:
            request = RetrainRequest(mode=mode, epochs=1)
            job = request_retrain(session, request)
            expected = training_labels(session, request)
            assert len(expected) == 32
        assert worker.run(idle_exit=True) == 2  # the retrain and the new version's scoring
        with sessions() as session:
            done = jobs.get_job(session, job.id)
            assert done.status == "succeeded", done.error
            results[mode] = (
                done,
                model_versions.registry.get_version(session, done.result["model_version_id"]),
            )
    for mode, (done, version) in results.items():
        # 32 labels outside the held-out set: 10% choose the best epoch, the rest train, none is left out
        assert done.result["n_fit"] + done.result["n_validation"] == 32, mode
        assert done.result["n_validation"] == 4 and version.n_train_labels == 32  # sklearn rounds up
        assert version.metrics["n"] == 8
    # from scratch on this CPU: the lite preset, recorded with the job and the version
    done, scratch = results["scratch"]
    with sessions() as session:
        config = {mode: session.get(ModelVersion, v.id).config["model"] for mode, (_, v) in results.items()}
    assert done.params["preset"] == "lite" and config["scratch"]["width"] == 32
    assert (
        done.result["timing"]["architecture"] == "lite" and done.result["timing"]["fit_s_per_label_epoch"] > 0
    )
    assert config["full"]["width"] == 8  # fine-tuned the active (tiny) network


def test_reads_never_choose_the_held_out_set_and_the_command_line_grows_it(app, capsys) -> None:
    sessions, _, tmp_path = app
    url = str(sessions.kw["bind"].url)
    with sessions() as session:
        ids = make_galaxy(session, n=40)
        starting_model(session, tmp_path)
        label_all(session, ids)
        request = RetrainRequest(mode="quick")
        assert len(training_labels(session, request)) == 40
        assert estimate_seconds(session, request)["n_held_out"] == 0
        assert held_out_summary(session)["n"] == 0
        session.commit()
        assert not len(model_versions.registry.held_out_ids(session))
    assert webapp_main(["held-out", "show", "--database-url", url]) == 0
    assert "held-out set: 0 of 40 labelled candidates (0.0%)" in capsys.readouterr().out
    assert webapp_main(["held-out", "grow", "--share", "0.2", "--database-url", url]) == 0
    assert "8 candidates added; held-out set: 8 of 40" in capsys.readouterr().out
    # at most half of the labels are ever held out
    assert webapp_main(["held-out", "grow", "--at-least", "100", "--database-url", url]) == 0
    assert "12 candidates added; held-out set: 20 of 40" in capsys.readouterr().out
    assert webapp_main(["held-out", "show", "--database-url", url]) == 0
    shown = capsys.readouterr().out
    assert (
        "(below the 100 automatic promotion needs)" in shown and "+8 -> 8" in shown and "+12 -> 20" in shown
    )
    assert webapp_main(["held-out", "grow", "--share", "0.9", "--database-url", url]) == 2
    assert "held-out share must be in (0, 0.5]" in capsys.readouterr().err
    assert webapp_main(["held-out", "measure", "--database-url", url]) == 2
    assert webapp_main(["held-out", "measure", "--versions", "99", "--database-url", url]) == 2
    with sessions() as session:
        assert len(training_labels(session, request)) == 20
        assert jobs.list_jobs(session, kind="evaluate") == []


def _version(session, tmp_path, name: str, metrics: dict) -> int:
    checkpoint = tmp_path / f"{name}.pt"
    checkpoint.write_bytes(name.encode() * 10)
    version = model_versions.registry.register_version(
        session,
        name=name,
        checkpoint_path=checkpoint,
        checkpoint_sha256=model_versions.registry.file_sha256(checkpoint),
        mode="quick",
        metrics=metrics,
    ).id
    session.commit()
    return version


def test_promotion_is_refused_when_clearly_worse_or_measured_on_another_set(app) -> None:
    sessions, _, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=220)
        start = starting_model(session, tmp_path)
        label_all(session, ids)
        add_expert(session, "root", role="admin")
        summary = grow_held_out_set(session, at_least=100)
        assert summary["n"] == 100 and not summary["below_minimum"]
        current = summary["fingerprint"]

        def metrics(accuracy: float, low: float, high: float, fingerprint: str = current) -> dict:
            return {
                "n": 100,
                "accuracy": accuracy,
                "accuracy_ci95": [low, high],
                "binary_accuracy": 0.9,
                "binary_accuracy_ci95": [0.85, 0.95],
                "held_out_fingerprint": fingerprint,
            }

        model_versions.registry.record_metrics(session, start, metrics(0.80, 0.72, 0.88))
        session.commit()
        worse = _version(session, tmp_path, "worse", metrics(0.60, 0.50, 0.70))
        elsewhere = _version(session, tmp_path, "elsewhere", metrics(0.90, 0.80, 0.95, "an older set"))
        close = _version(session, tmp_path, "close", metrics(0.76, 0.68, 0.84))
        (refusal,) = model_versions.promotion_review(session, worse)["refusals"]
        assert "4-class accuracy 60.0% [50%, 70%] is clearly below the active model's 80.0%" in refusal
        (refusal,) = model_versions.promotion_review(session, elsewhere)["refusals"]
        assert "not both measured on the current held-out set" in refusal
        # within the interval is not clearly worse: the expert decides
        assert model_versions.promotion_review(session, close)["refusals"] == []
        with pytest.raises(UserInputError, match="clearly below"):
            model_versions.promote_version(session, worse, by="ann")
        with pytest.raises(UserInputError, match="only an admin"):
            model_versions.promote_version(session, worse, by=None, force=True)
        assert model_versions.promote_version(session, close, by="ann")["forced"] == []
        assert model_versions.registry.get_version(session, close).status == "active"
        assert model_versions.can_roll_back(session)
        forced = model_versions.promote_version(session, worse, by="root", force=True)
        assert forced["active"] == worse and "clearly below" in forced["forced"][0]


def test_who_started_a_retrain_and_who_promoted_or_rolled_back(app) -> None:
    sessions, _, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=20)
        start = starting_model(session, tmp_path)
        label_all(session, ids)
        job = request_retrain(session, RetrainRequest(mode="quick", requested_by="ann"))
        assert jobs.get_job(session, job.id).params["requested_by"] == "ann"
        # the version the worker would register at the end of that job
        checkpoint = tmp_path / "new.pt"
        checkpoint.write_bytes(b"weights" * 10)
        new = model_versions.registry.register_version(
            session,
            name="new",
            checkpoint_path=checkpoint,
            checkpoint_sha256=model_versions.registry.file_sha256(checkpoint),
            mode="quick",
            job_id=job.id,
        ).id
        session.commit()
        people = model_versions.who_trained_and_promoted(session)
        assert people[new] == {"requested_by": "ann", "promoted_by": None}
        assert start not in people  # imported from the command line, activated by nobody in particular
        add_expert(session, "bob", role="admin")
        # two held-out candidates and no measurement: only an admin's force promotes
        done = model_versions.promote_version(session, new, by="bob", force=True)
        assert jobs.get_job(session, done["score_job"]).params["requested_by"] == "bob"
        assert model_versions.who_trained_and_promoted(session)[new]["promoted_by"] == "bob"
        model_versions.rollback_version(session, by="carla")
        people = model_versions.who_trained_and_promoted(session)
        assert people[start] == {"requested_by": None, "promoted_by": "carla"}
        assert people[new]["promoted_by"] == "bob"


def test_cancel_stops_a_running_retrain_and_registers_nothing(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=40)
        starting_model(session, tmp_path)
    worker.run(idle_exit=True)
    with sessions() as session:
        label_all(session, ids)
        job = request_retrain(session, RetrainRequest(mode="quick", epochs=100_000))
        # a second request is refused while this one is pending
        with pytest.raises(UserInputError):
            request_retrain(session, RetrainRequest(mode="quick"))

    runner = threading.Thread(target=worker.run_once)
    runner.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sessions() as session:
            if jobs.get_job(session, job.id).progress > 0.1:
                with use_case(session):
                    jobs.request_cancel(session, job.id)
                break
        time.sleep(0.05)
    runner.join(timeout=30)
    with sessions() as session:
        assert jobs.get_job(session, job.id).status == "cancelled"
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 1
        assert session.scalar(select(func.count()).select_from(Prediction)) == 40
        assert not list((tmp_path / "data" / "models").glob("*.pt"))


_KILLABLE_WORKER = """
import sys
sys.path.insert(0, "tests")
from retrain_testing import synthetic_stamps
from db.engine import make_engine
from webapp.worker import Worker, default_handlers

Worker(make_engine(sys.argv[1]), default_handlers(stamps=synthetic_stamps), worker_id="doomed",
       heartbeat_s=0.2).run(max_jobs=1)
"""


@pytest.mark.slow
def test_sigkill_mid_training_leaves_the_registry_and_active_model_intact(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=40)
        start = starting_model(session, tmp_path)
    worker.run(idle_exit=True)
    with sessions() as session:
        label_all(session, ids)
        job = request_retrain(session, RetrainRequest(mode="quick", epochs=100_000))
    url = str(sessions.kw["bind"].url)
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_WORKER, url],
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sessions() as session:
                if jobs.get_job(session, job.id).progress > 0.1:
                    break
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    with sessions() as session:
        assert jobs.get_job(session, job.id).status == "running"
    time.sleep(0.5)
    survivor = Worker(sessions.kw["bind"], default_handlers(stamps=synthetic_stamps), stale_after_s=0.3)
    assert survivor.run_once() is None
    with sessions() as session:
        failed = jobs.get_job(session, job.id)
        assert failed.status == "failed" and "doomed" in failed.error
        versions = model_versions.list_versions(session)
        assert [(v.id, v.status) for v in versions] == [(start, "active")]
        assert not list((tmp_path / "data" / "models").glob("*.pt"))
        again = request_retrain(session, RetrainRequest(mode="quick", epochs=5))
    assert worker.run(idle_exit=True) == 2
    with sessions() as session:
        assert jobs.get_job(session, again.id).status == "succeeded"
        assert model_versions.registry.get_version(session, start).status == "active"
        assert len(model_versions.list_versions(session)) == 2


def test_command_line_models_retrain_and_worker(app, capsys) -> None:
    sessions, _, tmp_path = app
    url = str(sessions.kw["bind"].url)
    with sessions() as session:
        ids = make_galaxy(session, n=20)
    start_checkpoint = tmp_path / "start.pt"
    with sessions() as session:
        starting_model(session, tmp_path)
        label_all(session, ids)
    assert webapp_main(["models", "list", "--database-url", url]) == 0
    assert "active" in capsys.readouterr().out
    assert webapp_main(["models", "promote", "99", "--database-url", url]) == 2
    assert webapp_main(["models", "import", str(tmp_path / "nope.pt"), "--database-url", url]) == 2
    assert start_checkpoint.is_file()
    assert webapp_main(["retrain", "--estimate", "--database-url", url]) == 0
    shown = capsys.readouterr()
    assert "quick (width 8, depth 2 network): 20 labels; no earlier quick retrain" in shown.out
    assert "warning: only 20 labels to train on" in shown.err
    assert webapp_main(["retrain", "--by", "nobody", "--database-url", url]) == 2
    assert "unknown expert 'nobody'" in capsys.readouterr().err
    assert webapp_main(["expert", "add", "ada", "--database-url", url]) == 0
    assert webapp_main(["retrain", "--epochs", "3", "--by", "ada", "--database-url", url]) == 0
    assert "queued retrain job" in capsys.readouterr().out
    with sessions() as session:
        assert jobs.list_jobs(session, kind="retrain")[0].params["requested_by"] == "ada"
    assert webapp_main(["retrain", "--database-url", url]) == 2
    assert "already queued" in capsys.readouterr().err
    # the real worker cuts stamps from mosaics, which this galaxy lacks: both jobs fail, with reasons
    assert webapp_main(["worker", "--once", "--database-url", url]) == 0
    assert "ran 2 job(s)" in capsys.readouterr().out
    with sessions() as session:
        failed = jobs.list_jobs(session)
        assert [j.status for j in failed] == ["failed", "failed"]
        assert all("mosaics" in j.error for j in failed)
        active = model_versions.registry.list_versions(session)[0].id
    assert webapp_main(["models", "promote", str(active), "--by", "nobody", "--database-url", url]) == 2
    assert webapp_main(["models", "promote", str(active), "--by", "ada", "--database-url", url]) == 0
    with sessions() as session:
        assert model_versions.who_trained_and_promoted(session)[active]["promoted_by"] == "ada"


@pytest.mark.slow
def test_retrain_and_models_pages_render_a_finished_retrain(app, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from webapp.components.database import get_database

    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=40)
        starting_model(session, tmp_path)
        label_all(session, ids)
        request_retrain(session, RetrainRequest(mode="quick", epochs=5, requested_by="ann"))
        bob = SignedIn(add_expert(session, "bob"), "bob")
    assert worker.run(idle_exit=True) == 3
    monkeypatch.setenv("DATABASE_URL", str(sessions.kw["bind"].url))
    get_database.clear()

    def page_as(script: str, expert: SignedIn | None) -> AppTest:
        page = AppTest.from_file("../webapp/app.py", default_timeout=60)
        if expert is not None:
            page.session_state["expert"] = expert
        return page.switch_page(f"pages/{script}").run()

    for script in ("retrain.py", "models.py"):
        anonymous = page_as(script, None)
        # without a sign-in the sign-in form opens instead (and returns to the page afterwards)
        assert not anonymous.exception and [title.value for title in anonymous.title] == ["Sign in"]
        assert not anonymous.dataframe and not anonymous.subheader
    page = page_as("retrain.py", bob)
    assert not page.exception
    assert any("succeeded" in header.value for header in page.subheader)
    assert any("quick retrain started by ann" in caption.value for caption in page.caption)
    # queued before anything was measured: no estimate then, the actual time now
    assert any(c.value.startswith("Took ") and "no estimate" in c.value for c in page.caption)
    assert any("trained on 32 labels (4 more chose the best epoch)" in text.value for text in page.markdown)
    page.form[0].form_submit_button[0].click().run()  # "Estimate time"
    assert not page.exception
    assert "quick (width 8, depth 2 network): 36 labels, about" in page.info[0].value
    with sessions() as session:
        (finished,) = jobs.list_jobs(session, kind="retrain")
    assert f"measured by job #{finished.id}" in page.info[0].value
    page.form[0].form_submit_button[1].click().run()  # "Start retraining" on 36 labels
    assert "Only 36 labels to train on" in page.warning[0].value and not page.success
    with sessions() as session:
        assert len(jobs.list_jobs(session, kind="retrain")) == 1  # the warning held it back

    def button(page: AppTest, label: str):  # noqa: ANN202 - an AppTest Button
        return next(b for b in page.button if b.label.startswith(label))

    models = page_as("models.py", bob)
    assert not models.exception
    assert any("fewer than 100 labelled candidates" in w.value for w in models.warning)
    assert button(models, "Roll back").disabled  # only one version was ever active
    assert any("40 candidates scored by both" in c.value for c in models.caption)
    button(models, "Promote version").click().run()
    assert not models.exception
    assert any("change class" in text.value and "4 candidates" in text.value for text in models.markdown)
    assert any("fewer than the 100" in e.value for e in models.error)
    assert button(models, "Confirm promotion").disabled  # bob is no admin
    with sessions() as session:
        root = SignedIn(add_expert(session, "root", role="admin"), "root")
    models = page_as("models.py", root)
    button(models, "Promote version").click().run()
    models.checkbox(key="models_force").check().run()
    button(models, "Confirm promotion").click().run()
    assert not models.exception and "re-scoring job" in models.success[0].value
    # the comparison refreshed: the promoted version is the active one now, and there is a roll back
    table = models.dataframe[1].value.set_index("status")
    assert table.loc["active", "retrain started by"] == "ann"
    assert table.loc["active", "promoted by"] == "root"
    assert not button(models, "Roll back").disabled
    get_database.clear()


def _always_class_4_model(session, directory) -> int:
    """A tiny network whose head ignores its input and always scores class 4 highest; activated."""
    torch.manual_seed(0)
    model = StarcNet(TINY)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 10.0]))
    path = save_checkpoint(directory / "class4.pt", model, band_mean=np.zeros(5))
    return model_versions.import_model(session, path, "class4", activate=True).id


def test_promotion_rule_refuses_a_worse_model() -> None:
    old = {"accuracy": 0.8, "binary_accuracy": 0.9}
    assert not_worse({"accuracy": 0.8, "binary_accuracy": 0.9}, old)
    assert not not_worse({"accuracy": 0.9, "binary_accuracy": 0.85}, old)
    assert not not_worse({"accuracy": 0.7, "binary_accuracy": 0.95}, old)
    assert not_worse({"accuracy": 0.1, "binary_accuracy": 0.5}, {})  # nothing to compare with


@pytest.mark.slow
def test_automatic_promotion_is_refused_below_the_held_out_minimum(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=44)
        start = _always_class_4_model(session, tmp_path)
        # labels 1 and 2 only: the starting model is wrong on every held-out candidate, in
        # 4 classes and in 1+2 vs 3+4, so a retrained model is not worse: only the size of the set stops it
        expert_id = add_expert(session, "ann")
        session.commit()
        for cid in ids:
            record_label(session, candidate_id=cid, expert_id=expert_id, label_class=(cid % 2) + 1)
        # labels on candidates without a full stamp (at an edge) are left out of training and held-out set
        edge = session.scalars(select(Candidate).where(Candidate.id.in_(ids[-4:]))).all()
        for candidate in edge:
            candidate.usable = False
        session.commit()
        assert not set(ids[-4:]) & set(training_labels(session, RetrainRequest()).candidate_ids.tolist())
        job = request_retrain(session, RetrainRequest(mode="full", epochs=2, auto_promote=True))
    assert worker.run(idle_exit=True) == 3
    with sessions() as session:
        done = jobs.get_job(session, job.id)
        assert done.status == "succeeded", done.error
        version = model_versions.registry.get_version(session, done.result["model_version_id"])
        assert version.mode == "full" and version.parent_id == start and len(version.history) == 2
        assert (
            version.baseline_metrics["accuracy"] == 0.0 and version.baseline_metrics["binary_accuracy"] == 0.0
        )
        assert not_worse(version.metrics, version.baseline_metrics)
        assert version.metrics["n"] == 4 and not done.result["promoted"]
        assert done.result["promotion_note"] == "not promoted: 4 held-out candidates, fewer than 100"
        assert version.status == "proposed"
        assert model_versions.registry.get_version(session, start).status == "active"


@pytest.mark.slow
def test_automatic_promotion_of_a_better_version_on_a_large_enough_held_out_set(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=220)
        start = starting_model(session, tmp_path)
        label_all(session, ids)
        assert grow_held_out_set(session, at_least=100)["n"] == 100
        job = request_retrain(session, RetrainRequest(mode="quick", epochs=15, auto_promote=True))
    assert worker.run(idle_exit=True) == 3
    with sessions() as session:
        done = jobs.get_job(session, job.id)
        assert done.status == "succeeded", done.error
        version = model_versions.registry.get_version(session, done.result["model_version_id"])
        # the random starting network is near chance; 120 labels of clear synthetic stamps beat it
        assert version.metrics["n"] == 100 and version.baseline_metrics["model_version_id"] == start
        assert version.metrics["accuracy"] > version.baseline_metrics["accuracy"] + 0.2
        assert done.result["promoted"] and done.result["promotion_note"] is None
        assert version.status == "active"
