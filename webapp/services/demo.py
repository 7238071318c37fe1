"""The embedded demo: a simulated LEGUS galaxy and a lite StarcNet trained on a simulated survey.

:func:`build_demo` brings a fresh database to a usable state in a few
minutes on two CPU cores: it simulates a galaxy (:func:`starcnet_core.sim.simulate_galaxy`)
and imports it, trains the ``lite`` network on a scaled-down simulated
survey (:func:`starcnet_core.sim.simulate_survey`, :func:`starcnet_core.training.train.train_model`),
registers the checkpoint as the active model version (:mod:`db.registry`),
scores the galaxy (:func:`webapp.services.scoring.score_candidates`), holds
out :data:`~webapp.services.held_out.HELD_OUT_MINIMUM` (100) of the galaxy's
catalog-labelled candidates and measures the model on them, so that the first
retrain is compared with it on a set that means something.
Each step is skipped when already done, so an interrupted build resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from db.engine import data_dir, use_case
from db.galaxies import galaxy_id_by_name
from db.predictions import active_model_version
from db.registry import (
    file_sha256,
    get_version,
    held_out_ids,
    promote,
    record_metrics,
    register_version,
    version_by_name,
)
from webapp.services.database import Database
from webapp.services.galaxies import import_galaxy
from webapp.services.held_out import (
    HELD_OUT_MINIMUM,
    grow_held_out_set,
    held_out_labels,
    measure_on_held_out,
    snapshot_fingerprint,
)
from webapp.services.scoring import load_version_model, mosaic_stamps, score_candidates, unscored_candidates

__all__ = ["DemoSettings", "DEMO_GALAXY", "DEMO_MODEL", "demo_ready", "build_demo"]

#: Names of the demo's galaxy and model version in the database.
DEMO_GALAXY = "simgal"
DEMO_MODEL = "demo-lite"

#: ``progress(step, n_steps, message)``.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo, chosen to be ready in under 5 minutes on 2 CPU cores.

    Parameters
    ----------
    image_size : int
        Side of the simulated mosaics (pixels).
    n_candidates : int
        Candidates in the simulated galaxy.
    distance_mpc : float
        Distance of the simulated galaxy (Mpc).
    survey_fraction : float
        Fraction of the paper's Table 6 counts simulated for training.
    epochs : int
        Training epochs of the lite network.
    learning_rate : float
        Adam learning rate; ten times the paper's 1e-4, which needs many more steps.
    seed : int

    Notes
    -----
    Measured on 2 busy cores (load 4-5) against the demo galaxy's catalog
    classes, 510 candidates: twice the stamps of the former setting (5% of
    Table 6, 4 epochs at 1e-4) in half the epochs at 1e-3 costs the same
    training steps and gives the same accuracy (48%) with a better
    balanced accuracy (51% instead of 46%; against the simulator's true
    classes 63% instead of 57%). Without the paper's class balancing the
    network calls most candidates non-clusters (balanced accuracy under 40%).
    """

    image_size: int = 2000
    n_candidates: int = 600
    distance_mpc: float = 10.0
    survey_fraction: float = 0.1
    epochs: int = 2
    learning_rate: float = 1e-3
    seed: int = 0


def demo_ready(database: Database) -> bool:
    """Whether the demo galaxy is imported and scored by an active model."""
    with database.read_sessions() as session, use_case(session):
        galaxy_id = galaxy_id_by_name(session, DEMO_GALAXY)
        version = active_model_version(session)
        return (
            galaxy_id is not None
            and version is not None
            and len(unscored_candidates(session, version.id, galaxy_id)) == 0
        )


def _say(progress: Progress | None, step: int, message: str) -> None:
    if progress is not None:
        progress(step, 4, message)


def build_demo(
    database: Database,
    *,
    settings: DemoSettings = DemoSettings(),
    directory: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """Build (or finish building) the demo in ``database``.

    Parameters
    ----------
    database : Database
        A migrated database.
    settings : DemoSettings
    directory : Path, optional
        Where the simulated files and the checkpoint go; default ``$STARCNET_DATA_DIR/demo``.
    progress : callable, optional
        ``progress(step, n_steps, message)`` as each step starts and inside training.
    """
    # The simulator and trainer pull in torch; imported here so that listing the CLI stays fast.
    from starcnet_core.io.bands import BANDS, CLASS_NAMES
    from starcnet_core.nn.checkpoint import save_checkpoint
    from starcnet_core.nn.model import PRESETS
    from starcnet_core.sim import simulate_galaxy, simulate_survey
    from starcnet_core.training.train import TrainConfig, train_model

    directory = Path(directory or data_dir() / "demo")
    directory.mkdir(parents=True, exist_ok=True)
    with database.sessions() as session:
        with use_case(session):
            imported = galaxy_id_by_name(session, DEMO_GALAXY) is not None
        if not imported:
            _say(progress, 1, f"simulating galaxy {DEMO_GALAXY} ({settings.n_candidates} candidates)")
            galaxy_dir = simulate_galaxy(
                directory / DEMO_GALAXY,
                size=settings.image_size,
                n_candidates=settings.n_candidates,
                distance_mpc=settings.distance_mpc,
                seed=settings.seed,
                field=DEMO_GALAXY,
            )
            import_galaxy(session, galaxy_dir, name=DEMO_GALAXY, distance_mpc=settings.distance_mpc)
        with use_case(session):
            galaxy_id = galaxy_id_by_name(session, DEMO_GALAXY)
            version = version_by_name(session, DEMO_MODEL)
        if version is None:
            _say(progress, 2, "simulating a training survey")
            survey = simulate_survey(None, seed=settings.seed, fraction=settings.survey_fraction)
            config = TrainConfig(
                epochs=settings.epochs, lr=settings.learning_rate, seed=settings.seed, device="cpu"
            )

            def on_step(event: dict) -> None:
                if progress is None:
                    return
                if "val_accuracy" in event:  # the end of an epoch
                    accuracy = event["val_accuracy"]
                    progress(
                        3,
                        4,
                        f"epoch {event['epoch']} of {settings.epochs}: validation accuracy {accuracy:.0%}",
                    )
                elif event["step"] % 20 == 0:
                    progress(3, 4, f"training step {event['step']} of {event['total_steps']}")

            _say(
                progress,
                3,
                f"training lite StarcNet on {len(survey.table)} stamps ({settings.epochs} epochs)",
            )
            result = train_model(survey, config, PRESETS["lite"], progress=on_step)
            fingerprint = survey.label_fingerprint
            path = save_checkpoint(
                directory / f"{DEMO_MODEL}.pt",
                result.model,
                band_mean=result.band_mean,
                bands=BANDS,
                class_names=tuple(CLASS_NAMES.values()),
                label_fingerprint=fingerprint,
                metrics=result.test_metrics,
                temperature=result.temperature,
            )
            with use_case(session):
                version = register_version(
                    session,
                    name=DEMO_MODEL,
                    checkpoint_path=path,
                    checkpoint_sha256=file_sha256(path),
                    mode="scratch",
                    label_fingerprint=fingerprint,
                    n_train_labels=len(survey.table),
                    history=result.history,
                    config={"preset": "lite", **PRESETS["lite"].to_dict()},
                )
                promote(session, version.id)
            version_id = version.id
        else:
            version_id = version.id
            with use_case(session):
                if active_model_version(session) is None:
                    promote(session, version_id)
        _say(progress, 4, f"scoring {DEMO_GALAXY} with {DEMO_MODEL}")
        score_candidates(session, version_id, galaxy_id=galaxy_id)
        with use_case(session):
            if not len(held_out_ids(session)):
                grow_held_out_set(session, at_least=HELD_OUT_MINIMUM, seed=settings.seed)
        held = held_out_labels(session)
        with use_case(session):
            measured = get_version(session, version_id).metrics.get("held_out_fingerprint")
        if measured != snapshot_fingerprint(held):
            model = load_version_model(session, version_id)
            stamps = mosaic_stamps(session, held.candidate_ids)
            with use_case(session):
                record_metrics(session, version_id, measure_on_held_out(held, [model], stamps)[0])
