"""Scoring from real FITS mosaics: stamps cut at the catalog positions, predictions stored, resumable."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from astropy.io import fits
from db_testing import migrated_engine
from retrain_testing import starting_model
from sqlalchemy import func, select, update

from db.engine import session_factory
from db.models import Candidate, Galaxy, Prediction
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.nn import backends
from webapp.services.model_versions import import_model
from webapp.services.scoring import mosaic_stamps, request_scoring, score_candidates, unscored_candidates

FILTERS = {"NUV": "f275w", "U": "f336w", "B": "f438w", "V": "f555w", "I": "f814w"}


@pytest.fixture
def galaxy(tmp_path, monkeypatch):
    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    sessions = session_factory(migrated_engine(tmp_path))
    rng = np.random.default_rng(0)
    paths = {}
    for k, band in enumerate(BANDS):
        image = rng.normal(0.0, 0.01, (120, 150)).astype(np.float32)
        image[60, 70] += 5.0 + k  # a source at 0-based (row 60, col 70): 1-based x=71, y=61
        path = tmp_path / f"hlsp_legus_hst_wfc3_simgal_{FILTERS[band]}_v1_drc.fits"
        fits.PrimaryHDU(image).writeto(path)
        paths[band] = str(path)
    with sessions() as session:
        row = Galaxy(name="simgal", distance_mpc=10.0, mosaic_paths=paths)
        session.add(row)
        session.flush()
        positions = [(71.0, 61.0), (30.0, 40.0), (100.0, 90.0), (3.0, 3.0)]
        session.add_all(
            Candidate(galaxy_id=row.id, source_id=i + 1, x=x, y=y, usable=True)
            for i, (x, y) in enumerate(positions)
        )
        session.commit()
    return sessions, tmp_path


def test_stamps_come_from_the_mosaics_at_the_catalog_positions(galaxy) -> None:
    sessions, _ = galaxy
    with sessions() as session:
        ids = session.scalars(select(Candidate.id).order_by(Candidate.source_id)).all()
        stamps = mosaic_stamps(session, [ids[0], ids[3]])
    assert stamps.shape == (2, 5, 32, 32)
    # the published code slices around the 1-based x, y used as 0-based indices,
    # so a source at 1-based (71, 61) lands at stamp row/col 15; brightest in I
    assert np.unravel_index(np.argmax(stamps[0, 4]), (32, 32)) == (15, 15)
    assert stamps[0, :, 15, 15].argmax() == 4
    assert np.isnan(stamps[1]).all()  # at the edge: unusable
    with sessions() as session, pytest.raises(UserInputError):
        mosaic_stamps(session, [999])


def test_scoring_says_how_many_near_ties_fp32_scored(galaxy, monkeypatch) -> None:
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)  # bf16 is used whatever its check finds
    monkeypatch.setattr(backends, "NEAR_TIE_LOGIT_GAP", 100.0)  # every candidate a near-tie: fp32 scores all
    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
        said: list[str] = []
        assert score_candidates(session, version, chunk=2, precision="bf16", log=said.append) == 3
    assert said == [
        "inference precision bf16 on torch (requested bf16)",
        "near-ties scored in fp32 instead: 3 of the 3 candidates of the reduced precision",
    ]
    with sessions() as session:
        assert _precisions(session, version) == {("fp32", "torch")}  # each row says fp32 scored it
        # with no near-ties every row is bf16's own
        monkeypatch.setattr(backends, "NEAR_TIE_LOGIT_GAP", -1.0)
        other = import_model(session, tmp_path / "start.pt", "start again").id
        assert score_candidates(session, other, precision="bf16") == 3
        assert _precisions(session, other) == {("bf16", "torch")}


def test_the_score_command_scores_in_the_precision_asked_and_says_so(galaxy, monkeypatch, capsys) -> None:
    from webapp.cli import main

    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
    monkeypatch.setenv("DATABASE_URL", sessions.kw["bind"].url.render_as_string(hide_password=False))
    assert main(["score", "--precision", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "inference precision fp32 on torch (requested fp32)" in out
    assert f"stored 3 predictions of model version {version}" in out
    with sessions() as session:
        assert _precisions(session, version) == {("fp32", "torch")}


def test_a_worker_scores_its_jobs_in_its_precision(galaxy, monkeypatch) -> None:
    from webapp.cli import main

    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)  # bf16 is used whatever its check finds
    monkeypatch.setattr(backends, "NEAR_TIE_LOGIT_GAP", -1.0)  # and decides every candidate itself
    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
        request_scoring(session)
        session.commit()
    monkeypatch.setenv("DATABASE_URL", sessions.kw["bind"].url.render_as_string(hide_password=False))
    assert main(["score", "--background", "--precision", "bf16"]) == 2  # the worker's choice, not the job's
    assert main(["worker", "--once", "--precision", "bf16"]) == 0
    with sessions() as session:
        assert len(unscored_candidates(session, version)) == 1  # all but the edge candidate
        assert _precisions(session, version) == {("bf16", "torch")}


def test_the_models_page_line_counts_each_precision_and_predictions_that_do_not_say(galaxy) -> None:
    from db.scoring import precision_counts
    from webapp.services.model_versions import precision_text, scoring_status

    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
        assert score_candidates(session, version, precision="fp32") == 3
        first = session.scalars(select(Prediction.id).order_by(Prediction.id)).first()
        # as an imported file's rows, or rows stored before the columns existed
        session.execute(update(Prediction).where(Prediction.id == first).values(precision=None, engine=None))
        assert precision_counts(session, version) == [("fp32", "torch", 2), (None, None, 1)]
        assert scoring_status(session)["precisions"] == precision_counts(session, version)
    assert precision_text([("int8", "openvino", 2950), ("fp32", "torch", 50), (None, None, 12)]) == (
        "Computed in: int8 on openvino 2,950 · fp32 on torch 50 · not recorded 12"
    )
    assert precision_text([]) == ""


def _precisions(session, version: int) -> set[tuple[str | None, str | None]]:
    """The (precision, engine) pairs the predictions of a version record."""
    query = select(Prediction.precision, Prediction.engine).where(Prediction.model_version_id == version)
    return set(session.execute(query).tuples().all())


def test_scoring_stores_usable_predictions_once(galaxy) -> None:
    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
        assert len(unscored_candidates(session, version)) == 4
        said: list[str] = []
        assert score_candidates(session, version, chunk=2, precision="fp32", log=said.append) == 3
        assert said == ["inference precision fp32 on torch (requested fp32)"]  # told once, not per chunk
        assert _precisions(session, version) == {("fp32", "torch")}
        assert len(unscored_candidates(session, version)) == 1  # the edge candidate stays unscored
        assert score_candidates(session, version, unscored_candidates(session, version)) == 0
        assert session.scalar(select(func.count()).select_from(Prediction)) == 3
        # every prediction carries a BALD score of MC-dropout passes (the queue's most informative order);
        # this network has no dropout, so all passes agree and BALD is zero up to rounding (the
        # one-pass test below, with dropout, checks that it is informative)
        bald = session.scalars(select(Prediction.bald)).all()
        assert all(value is not None and 0 <= value < 1e-9 for value in bald)
        assert request_scoring(session).params["model_version_id"] == version
        with pytest.raises(UserInputError):
            request_scoring(session, 77)


def test_scores_and_bald_come_from_one_pass_of_the_convolutions(tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    import torch
    from retrain_testing import make_galaxy, synthetic_stamps
    from stamp_testing import TINY

    from starcnet_core.nn.checkpoint import save_checkpoint
    from starcnet_core.nn.model import StarcNet
    from starcnet_core.training.finetune import conv_features, head_bald
    from webapp.services import scoring

    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    sessions = session_factory(migrated_engine(tmp_path))
    with sessions() as session:
        ids = np.array(make_galaxy(session, n=24))
        torch.manual_seed(0)  # a network with dropout, so that the MC-dropout passes differ
        path = save_checkpoint(tmp_path / "d.pt", StarcNet(replace(TINY, dropout=0.5)), band_mean=np.zeros(5))
        version = import_model(session, path, "with dropout", activate=True).id
        loaded = scoring.load_version_model(session, version)
        seen: list[int] = []
        hooks = [
            path.features.register_forward_hook(lambda module, args, out: seen.append(len(args[0])))
            for path in loaded.model.pathways
        ]
        monkeypatch.setattr(scoring, "load_version_model", lambda session, version_id: loaded)
        assert score_candidates(session, version, ids, stamps=synthetic_stamps, precision="fp32") == 24
        for hook in hooks:
            hook.remove()
        # each of the 3 pathways' convolutions saw each stamp once: no second pass for BALD
        assert sum(seen) == 3 * 24
        stored = dict(
            session.execute(
                select(Prediction.candidate_id, Prediction.bald).where(Prediction.model_version_id == version)
            ).all()
        )
        stamps = synthetic_stamps(session, ids)
    # the same BALD as 20 MC-dropout passes of the head on the fp32 conv features of the stamps
    expected = head_bald(
        loaded.model, conv_features(loaded.model, stamps, loaded.band_mean), temperature=loaded.temperature
    )
    assert expected.min() > 1e-4
    np.testing.assert_allclose([stored[int(i)] for i in ids], expected, rtol=1e-4, atol=1e-7)


def test_a_quick_retrain_is_scored_from_cached_features_without_their_stamps(tmp_path, monkeypatch) -> None:
    from retrain_testing import make_galaxy, synthetic_stamps, true_class

    from starcnet_core.nn.checkpoint import save_checkpoint
    from starcnet_core.nn.predict import predict_stamps
    from starcnet_core.training.finetune import (
        CACHED_FEATURES_PRECISION,
        FeatureCache,
        QuickFinetuneConfig,
        finetune_head,
    )
    from webapp.services.scoring import load_version_model

    monkeypatch.setenv("STARCNET_DATA_DIR", str(tmp_path / "data"))
    sessions = session_factory(migrated_engine(tmp_path))
    with sessions() as session:
        ids = np.array(make_galaxy(session, n=24))
        parent = load_version_model(session, starting_model(session, tmp_path))
        cache = FeatureCache(tmp_path / "features")
        labelled = ids[:10]
        features, _ = cache.features(
            parent.model, labelled, lambda rows: synthetic_stamps(session, rows), parent.band_mean
        )
        labels = np.array([true_class(int(i)) for i in labelled])
        tuned = finetune_head(parent.model, features, labels, config=QuickFinetuneConfig(epochs=3)).model
        path = save_checkpoint(tmp_path / "quick.pt", tuned, band_mean=parent.band_mean)
        child = import_model(session, path, "quick").id
        requested: list[int] = []

        def counting_stamps(session, rows):
            requested.extend(int(r) for r in rows)
            return synthetic_stamps(session, rows)

        assert score_candidates(session, child, stamps=counting_stamps, chunk=5, features=cache) == 24
        assert sorted(requested) == sorted(ids[10:].tolist())  # the labelled ten came from the cache
        made_by = dict(
            session.execute(
                select(Prediction.candidate_id, Prediction.precision).where(
                    Prediction.model_version_id == child
                )
            ).all()
        )
        # the cache's float16 features say so; the other 14 are too few for auto to leave fp32
        assert {made_by[int(i)] for i in labelled} == {CACHED_FEATURES_PRECISION}
        assert {made_by[int(i)] for i in ids[10:]} == {"fp32"}
        rows = session.execute(
            select(Prediction.candidate_id, Prediction.p1, Prediction.p2, Prediction.p3, Prediction.p4).where(
                Prediction.model_version_id == child
            )
        ).all()
        stored = {row[0]: row[1:] for row in rows}
        expected = predict_stamps(
            load_version_model(session, child), synthetic_stamps(session, ids), precision="fp32"
        )
        scores = np.array([stored[int(i)] for i in ids])
        np.testing.assert_allclose(scores, expected.scores, atol=1e-2)
        assert np.array_equal(scores.argmax(1) + 1, expected.classes)
        # BALD from the cached features is the head's MC-dropout mutual information of exactly those features
        from starcnet_core.training.finetune import head_bald

        bald = dict(
            session.execute(
                select(Prediction.candidate_id, Prediction.bald).where(Prediction.model_version_id == child)
            ).all()
        )
        assert all(bald[int(i)] is not None and bald[int(i)] >= 0 for i in ids)
        loaded = load_version_model(session, child)
        found, cached = cache.lookup(loaded.model, labelled, loaded.band_mean)
        assert found.all()
        np.testing.assert_allclose(
            [bald[int(i)] for i in labelled],
            head_bald(loaded.model, cached, temperature=loaded.temperature),
            rtol=1e-6,
        )
        # without MC passes no BALD score is stored
        other = import_model(session, path, "quick, no passes").id
        score_candidates(session, other, stamps=synthetic_stamps, features=cache, bald_passes=0)
        assert set(
            session.scalars(select(Prediction.bald).where(Prediction.model_version_id == other)).all()
        ) == {None}
