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
from db.engine import session_factory
from db.models import Candidate, ModelVersion, Prediction
from db.queue import review_queue
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import label_fingerprint
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import StarcNet
from webapp.cli import main as webapp_main
from webapp.services import model_versions
from webapp.services.auth import SignedIn
from webapp.services.labels import add_expert, record_label
from webapp.services.retrain import (
    RetrainRequest,
    estimate_seconds,
    grow_held_out_set,
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
def test_labels_to_retrained_promoted_model_and_a_new_queue(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session)
        start = starting_model(session, tmp_path)
    assert worker.run(idle_exit=True) == 1  # the activation's scoring job
    with sessions() as session:
        before = _queue_ids(session)
        assert len(before) == 60
        label_all(session, ids)
        request = RetrainRequest(mode="quick", epochs=60, requested_by="ann")
        estimate = estimate_seconds(session, request)
        assert estimate["n_train"] + estimate["n_held_out"] == 60 and estimate["seconds"] > 0
        job = request_retrain(session, request)
        with pytest.raises(UserInputError, match="already queued"):
            request_retrain(session, request)
        held = set(model_versions.registry.held_out_ids(session).tolist())
        assert len(held) == 12 and not held & set(training_labels(session, request).candidate_ids.tolist())
    assert worker.run(idle_exit=True) == 2  # retrain, then scoring with the new version
    with sessions() as session:
        done = jobs.get_job(session, job.id)
        assert done.status == "succeeded", done.error
        assert len(done.result["history"]) == 60
        new = model_versions.registry.get_version(session, done.result["model_version_id"])
        assert new.status == "proposed" and new.parent_id == start and new.n_train_labels == 48
        assert new.metrics["n"] == 12 and new.baseline_metrics["n"] == 12
        assert new.metrics["accuracy"] > new.baseline_metrics["accuracy"]
        assert np.array(new.metrics["confusion"]).sum() == 12 and len(new.metrics["recall"]) == 4
        diff = model_versions.science_diff(session, new.id)
        assert diff["n_compared"] == 60 and np.array(diff["transitions"]).sum() == 60
        assert diff["changed"] and {"x", "y", "old_class", "new_class"} <= set(diff["changed"][0])
        assert diff["class_fractions"][0]["galaxy"] == "simgal"
        promoted = model_versions.promote_version(session, new.id, by="bob")
        assert promoted["previous"] == start
        assert model_versions.who_trained_and_promoted(session)[new.id] == {
            "requested_by": "ann",
            "promoted_by": "bob",
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
        assert grow_held_out_set(session, request, 0.25) == 12
        assert len(model_versions.registry.held_out_ids(session)) == 24
        assert session.scalar(select(func.count()).where(Prediction.model_version_id == new.id)) == 60
        rolled = model_versions.rollback_version(session)
        assert rolled["active"] == start


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
        done = model_versions.promote_version(session, new, by="bob")
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
    assert "quick: 16 labels, about" in capsys.readouterr().out
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
    page.form[0].form_submit_button[0].click().run()  # "Estimate time"
    assert not page.exception and "quick: 32 labels" in page.info[0].value
    models = page_as("models.py", bob)
    assert not models.exception
    assert "40 candidates scored by both" in models.caption[0].value
    models.button[-1].click().run()  # promote the compared version
    assert not models.exception and "re-scoring job" in models.success[0].value
    table = models.run().dataframe[0].value.set_index("status")
    assert table.loc["active", "retrain started by"] == "ann"
    assert table.loc["active", "promoted by"] == "bob"
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
def test_full_fine_tune_with_auto_promotion(app) -> None:
    sessions, worker, tmp_path = app
    with sessions() as session:
        ids = make_galaxy(session, n=44)
        start = _always_class_4_model(session, tmp_path)
        # labels 1 and 2 only: the starting model is wrong on every held-out candidate, in
        # 4 classes and in 1+2 vs 3+4, so any retrained model is not worse and must be promoted
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
        assert done.result["promoted"] is True and version.status == "active"
