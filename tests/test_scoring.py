"""Scoring from real FITS mosaics: stamps cut at the catalog positions, predictions stored, resumable."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from db_testing import migrated_engine
from retrain_testing import starting_model
from sqlalchemy import func, select

from db.engine import session_factory
from db.models import Candidate, Galaxy, Prediction
from starcnet_core.bands import BANDS
from starcnet_core.errors import UserInputError
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


def test_scoring_stores_usable_predictions_once(galaxy) -> None:
    sessions, tmp_path = galaxy
    with sessions() as session:
        version = starting_model(session, tmp_path)
        assert len(unscored_candidates(session, version)) == 4
        assert score_candidates(session, version, chunk=2) == 3
        assert len(unscored_candidates(session, version)) == 1  # the edge candidate stays unscored
        assert score_candidates(session, version, unscored_candidates(session, version)) == 0
        assert session.scalar(select(func.count()).select_from(Prediction)) == 3
        assert request_scoring(session).params["model_version_id"] == version
        with pytest.raises(UserInputError):
            request_scoring(session, 77)
