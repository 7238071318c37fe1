"""Scoring: run a model version over a galaxy's (or every) candidate and store its predictions.

Stamps come from the galaxy's stored mosaics through
:func:`starcnet_core.io.mosaics.open_mosaics` and
:func:`starcnet_core.io.cutouts.extract_stamps`; scores from
:func:`starcnet_core.nn.predict.predict_stamps` with the version's checkpoint
(:func:`starcnet_core.nn.checkpoint.load_model`). Candidates are scored in
chunks, each committed on its own, and only candidates without a prediction of
that version are scored, so an interrupted scoring job resumes where it
stopped when it is run again. The ``score`` job kind is what promotion queues and what ``python -m webapp score`` runs
(:func:`score_job_handler`).

Candidates whose convolutional features are in the feature cache under the
version's convolution weights and band mean (quick retraining caches its
training candidates', and a quick-mode version keeps its parent's
convolutions) are scored by the fully connected layers alone
(:func:`starcnet_core.training.finetune.head_probabilities`), without cutting stamps.
Only those are reused: the cache holds no other candidates, since the paper
network's features take 192 KiB per candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import jobs
from db.engine import data_dir
from db.jobs import JobInfo
from db.models import Candidate, Galaxy, ModelVersion, Prediction
from db.predictions import active_model_version, store_predictions
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.scores import score_summaries

if TYPE_CHECKING:  # torch is imported only when scoring really runs
    from starcnet_core.training.finetune import FeatureCache

__all__ = [
    "StampLoader",
    "feature_cache",
    "mosaic_stamps",
    "load_version_model",
    "unscored_candidates",
    "score_candidates",
    "request_scoring",
    "score_job_handler",
]

#: ``loader(session, candidate_ids) -> (n, 5, 32, 32)`` stamps in e-/s, rows in the order of the ids.
StampLoader = Callable[[Session, Sequence[int]], np.ndarray]


def feature_cache() -> FeatureCache:
    """The app's cache of convolutional features (:class:`starcnet_core.training.finetune.FeatureCache`) in its data directory."""
    from starcnet_core.training.finetune import FeatureCache

    return FeatureCache(data_dir() / "feature_cache")


def mosaic_stamps(session: Session, candidate_ids: Sequence[int], *, size: int = 32) -> np.ndarray:
    """Stamps of candidates cut from their galaxies' stored mosaics (e-/s, NaN rows where unusable)."""
    ids = np.asarray(candidate_ids, dtype=np.int64)
    rows = session.execute(
        select(Candidate.id, Candidate.galaxy_id, Candidate.x, Candidate.y).where(
            Candidate.id.in_(ids.tolist())
        )
    ).all()
    position = {row.id: i for i, row in enumerate(rows)}
    missing = [int(i) for i in ids if int(i) not in position]
    if missing:
        raise UserInputError(f"unknown candidate id(s): {missing[:5]}")
    out = np.full((len(ids), len(BANDS), size, size), np.nan, dtype=np.float32)
    order = np.array([position[int(i)] for i in ids])
    galaxy_of = np.array([rows[j].galaxy_id for j in order])
    for galaxy_id in np.unique(galaxy_of):
        galaxy = session.get(Galaxy, int(galaxy_id))
        paths = galaxy.mosaic_paths or {}
        if set(paths) != set(BANDS):
            raise UserInputError(
                f"galaxy {galaxy.name} has no mosaics for bands {sorted(set(BANDS) - set(paths))}"
            )
        # imported here: the data layer is only needed when stamps are really cut
        from starcnet_core.io.cutouts import extract_stamps
        from starcnet_core.io.mosaics import open_mosaics

        mosaics = open_mosaics([paths[band] for band in BANDS])
        here = np.flatnonzero(galaxy_of == galaxy_id)
        x = np.array([rows[order[k]].x for k in here])
        y = np.array([rows[order[k]].y for k in here])
        out[here] = extract_stamps(mosaics.arrays(), x, y, size=size).stamps
    return out


def load_version_model(session: Session, version_id: int):
    """The :class:`starcnet_core.nn.checkpoint.LoadedModel` of a model version's checkpoint."""
    from starcnet_core.nn.checkpoint import load_model

    version = session.get(ModelVersion, version_id)
    if version is None:
        raise UserInputError(f"no model version {version_id}")
    if not version.checkpoint_path:
        raise UserInputError(f"model version {version.name} has no checkpoint")
    return load_model(version.checkpoint_path)


def unscored_candidates(session: Session, version_id: int, galaxy_id: int | None = None) -> np.ndarray:
    """Ids of usable candidates (of one galaxy, or all) without a prediction of ``version_id``."""
    scored = select(Prediction.candidate_id).where(Prediction.model_version_id == version_id)
    query = select(Candidate.id).where(Candidate.usable.is_(True), Candidate.id.not_in(scored))
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    return np.fromiter(session.scalars(query.order_by(Candidate.id)), dtype=np.int64)


def score_candidates(
    session: Session,
    version_id: int,
    candidate_ids: Sequence[int] | None = None,
    *,
    galaxy_id: int | None = None,
    stamps: StampLoader = mosaic_stamps,
    chunk: int = 512,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    features: FeatureCache | None = None,
    precision: str = "auto",
    log: Callable[[str], None] | None = None,
) -> int:
    """Score candidates with a model version and store the predictions; returns how many were stored.

    Parameters
    ----------
    session : Session
        Committed after every chunk.
    version_id : int
        The model version.
    candidate_ids : sequence of int, optional
        Default: every usable candidate (of ``galaxy_id``) not yet scored by this version.
    stamps : StampLoader
        Where stamps come from (default: cut from the stored mosaics).
    chunk : int
        Candidates per stamp load, prediction and commit.
    progress : callable, optional
        ``progress(fraction, message)`` after every chunk.
    should_stop : callable, optional
        Polled between chunks; True stops with :class:`InterruptedError` (finished chunks stay stored).
    features : FeatureCache, optional
        Candidates with cached convolutional features under this version's
        convolutions and band mean are scored from them by the fully connected
        layers alone, first (the float16 features move scores by about 1e-3).
    precision : str
        Inference backend (:func:`starcnet_core.nn.backends.select_backend`; default ``auto``).
    log : callable, optional
        Told once which precision computed the scores (a job's log is its record).
    """
    from starcnet_core.nn.predict import predict_stamps

    ids = (
        unscored_candidates(session, version_id, galaxy_id)
        if candidate_ids is None
        else np.asarray(candidate_ids, dtype=np.int64)
    )
    if len(ids) == 0:
        session.commit()
        return 0
    loaded = load_version_model(session, version_id)
    session.commit()
    stored = 0
    said: set[str] = set()
    if features is not None:
        stored, ids = _score_cached(session, version_id, loaded, ids, features)
    for start in range(0, len(ids), chunk):
        if should_stop is not None and should_stop():
            raise InterruptedError(f"scoring stopped after {stored} of {len(ids)} candidates")
        batch = ids[start : start + chunk]
        batch_stamps = stamps(session, batch)
        # end the (on SQLite, locking) transaction before the slow part
        session.commit()
        usable = ~np.isnan(batch_stamps).any(axis=(1, 2, 3))
        if usable.any():
            predicted = predict_stamps(loaded, batch_stamps[usable], precision=precision)
            stored += store_predictions(
                session, version_id, batch[usable].tolist(), predicted.scores, predicted.summaries
            )
            if log is not None and predicted.precision not in said:
                said.add(predicted.precision)
                log(f"inference precision {predicted.precision} (requested {precision})")
        session.commit()
        if progress is not None:
            progress((start + len(batch)) / len(ids), f"scored {start + len(batch)} of {len(ids)} candidates")
    return stored


def _score_cached(
    session: Session, version_id: int, loaded: Any, ids: np.ndarray, features: FeatureCache
) -> tuple[int, np.ndarray]:
    """Score the candidates whose conv features are cached; returns (stored, ids still to score)."""
    from starcnet_core.training.finetune import head_probabilities

    found, cached = features.lookup(loaded.model, ids, loaded.band_mean)
    if not found.any():
        return 0, ids
    scores = head_probabilities(loaded.model, cached, temperature=loaded.temperature)
    stored = store_predictions(session, version_id, ids[found].tolist(), scores, score_summaries(scores))
    session.commit()
    return stored, ids[~found]


def request_scoring(session: Session, version_id: int | None = None, galaxy_id: int | None = None) -> JobInfo:
    """Queue a ``score`` job for a model version (default: the active one)."""
    if version_id is None:
        active = active_model_version(session)
        if active is None:
            raise UserInputError("there is no active model version to score with")
        version_id = active.id
    elif session.get(ModelVersion, version_id) is None:
        raise UserInputError(f"no model version {version_id}")
    return jobs.enqueue(session, "score", {"model_version_id": version_id, "galaxy_id": galaxy_id})


def score_job_handler(stamps: StampLoader = mosaic_stamps) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``score`` jobs (params ``model_version_id``, optional ``galaxy_id``).

    Reuses the app's feature cache (:func:`feature_cache`) for the candidates it holds.
    """

    def run_score_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        params = context.params
        with sessions() as session:
            n = score_candidates(
                session,
                int(params["model_version_id"]),
                galaxy_id=params.get("galaxy_id"),
                stamps=stamps,
                progress=context.progress,
                should_stop=context.should_stop,
                features=feature_cache(),
                log=context.log,
            )
        context.log(f"stored {n} predictions")
        return {"n_scored": n}

    return run_score_job
