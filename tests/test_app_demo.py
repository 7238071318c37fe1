"""The embedded demo at a tiny size: simulated galaxy imported, lite model trained, activated and scored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Candidate, Prediction
from db.predictions import active_model_version
from webapp.services.database import init_database
from webapp.services.demo import DEMO_GALAXY, DEMO_MODEL, DemoSettings, build_demo, demo_ready
from webapp.services.held_out import HELD_OUT_MINIMUM, held_out_summary

TINY = DemoSettings(image_size=300, n_candidates=30, survey_fraction=0.004, epochs=1)


@pytest.mark.slow
def test_demo_is_built_once_and_scored(tmp_path: Path) -> None:
    database = init_database(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    assert not demo_ready(database)
    steps: list[int] = []
    build_demo(
        database, settings=TINY, directory=tmp_path / "demo", progress=lambda step, n, msg: steps.append(step)
    )
    assert demo_ready(database)
    assert steps[0] == 1 and steps[-1] == 4 and 3 in steps
    with database.read_sessions() as session:
        assert active_model_version(session).name == DEMO_MODEL
        usable = session.scalar(select(func.count()).where(Candidate.usable.is_(True)))
        scored = session.scalar(select(func.count(Prediction.id)))
    assert usable > 0 and scored == usable
    with database.read_sessions() as session:
        held = held_out_summary(session)
        metrics = active_model_version(session).metrics
    # the demo holds out 100 labelled candidates (here at most half of the tiny galaxy's) and measures on them
    assert held["n"] == min(HELD_OUT_MINIMUM, held["n_labelled"] // 2) > 0
    assert metrics["held_out_fingerprint"] == held["fingerprint"] and metrics["n"] == held["n"]
    # a second run finds everything done: nothing is simulated or trained again
    again: list[str] = []
    build_demo(
        database, settings=TINY, directory=tmp_path / "demo", progress=lambda step, n, msg: again.append(msg)
    )
    assert again == [f"scoring {DEMO_GALAXY} with {DEMO_MODEL}"]
    database.engine.dispose()
