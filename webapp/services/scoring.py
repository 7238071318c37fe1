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

Several workers score one survey together: a ``score`` job splits the work
into shards, by galaxy and by id chunks of a large galaxy
(:func:`plan_shards`), scores the first and queues the others as
``score_shard`` jobs that any worker claims (:mod:`db.jobs`). Shards never
overlap, every chunk is committed with the version's unique (version,
candidate) constraint behind it, and a shard resumed after its worker died
scores only what is still missing: no candidate is scored twice into one
version. :func:`db.queue.queue_model_version` keeps the review queue on the
previous version until no scoring of the new one is pending.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from db import jobs
from db.engine import data_dir, use_case
from db.galaxies import candidate_positions, galaxy_id_by_name
from db.jobs import JobInfo
from db.models import Galaxy, ModelVersion
from db.predictions import active_model_version, store_predictions
from db.scoring import unscored_by_galaxy, unscored_ids
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.scores import score_summaries, scored_with

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
    "scoring_target",
    "SHARD_SIZE",
    "Shard",
    "plan_shards",
    "score_job_handler",
    "score_shard_handler",
]

#: Most candidates in one scoring shard: a few minutes of CPU for the paper network.
SHARD_SIZE = 20_000

#: ``loader(session, candidate_ids) -> (n, 5, 32, 32)`` stamps in e-/s, rows in the order of the ids.
StampLoader = Callable[[Session, Sequence[int]], np.ndarray]


def feature_cache() -> FeatureCache:
    """The app's cache of convolutional features (:class:`starcnet_core.training.finetune.FeatureCache`) in its data directory.

    ``$STARCNET_FEATURE_CACHE_GB`` sets its size limit (default 50 GiB);
    beyond it the least recently used shards are evicted.
    """
    from starcnet_core.training.finetune import FEATURE_CACHE_MAX_BYTES, FeatureCache

    limit = os.environ.get("STARCNET_FEATURE_CACHE_GB")
    max_bytes = int(float(limit) * 2**30) if limit else FEATURE_CACHE_MAX_BYTES
    return FeatureCache(data_dir() / "feature_cache", max_bytes=max_bytes)


def mosaic_stamps(session: Session, candidate_ids: Sequence[int], *, size: int = 32) -> np.ndarray:
    """Stamps of candidates cut from their galaxies' stored mosaics (e-/s, NaN rows where unusable)."""
    ids = np.asarray(candidate_ids, dtype=np.int64)
    with use_case(session):
        rows = candidate_positions(session, ids)
        galaxies = {g: session.get(Galaxy, int(g)) for g in {row.galaxy_id for row in rows}}
    position = {row.id: i for i, row in enumerate(rows)}
    missing = [int(i) for i in ids if int(i) not in position]
    if missing:
        raise UserInputError(f"unknown candidate id(s): {missing[:5]}")
    out = np.full((len(ids), len(BANDS), size, size), np.nan, dtype=np.float32)
    order = np.array([position[int(i)] for i in ids])
    galaxy_of = np.array([rows[j].galaxy_id for j in order])
    for galaxy_id in np.unique(galaxy_of):
        galaxy = galaxies[int(galaxy_id)]
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

    with use_case(session):
        version = session.get(ModelVersion, version_id)
    if version is None:
        raise UserInputError(f"no model version {version_id}")
    if not version.checkpoint_path:
        raise UserInputError(f"model version {version.name} has no checkpoint")
    return load_model(version.checkpoint_path)


def unscored_candidates(
    session: Session, version_id: int, galaxy_id: int | None = None, id_range: tuple[int, int] | None = None
) -> np.ndarray:
    """Ids of usable candidates (of one galaxy, or all; ids within ``id_range``, inclusive) without a prediction of ``version_id``."""
    with use_case(session):
        return unscored_ids(session, version_id, galaxy_id, id_range)


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
    bald_passes: int | None = None,
) -> int:
    """Score candidates with a model version and store the predictions; returns how many were stored.

    Parameters
    ----------
    session : Session
        Each chunk's stamps are read, and its predictions stored, in a transaction of its own
        (none is held while the network runs); inside a caller's use case they join it.
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
        Told once which precision computed the scores, and at the end how many
        candidates were near-ties that fp32 scored instead (each stored
        prediction also records its own precision and engine).
    bald_passes : int, optional
        MC-dropout passes of the fully connected layers behind each stored BALD
        score (the queue's ``most_informative`` order); default
        :data:`starcnet_core.nn.mc_dropout.BALD_PASSES`, 0 stores none. They
        cost only the small final layers: from stamps they start from the
        pre-dropout features of the same backend pass that gives the scores
        (:func:`~starcnet_core.nn.predict.predict_stamps`, in the requested
        ``precision``), from cached features from those.
    """
    from starcnet_core.nn.mc_dropout import BALD_PASSES
    from starcnet_core.nn.predict import predict_stamps

    passes = BALD_PASSES if bald_passes is None else bald_passes

    ids = (
        unscored_candidates(session, version_id, galaxy_id)
        if candidate_ids is None
        else np.asarray(candidate_ids, dtype=np.int64)
    )
    if len(ids) == 0:
        return 0
    loaded = load_version_model(session, version_id)
    stored = 0
    said: set[tuple[str, str]] = set()
    near_ties, reduced = 0, 0  # near-ties that fp32 scored, of the candidates a reduced precision ran
    if features is not None:
        stored, ids = _score_cached(session, version_id, loaded, ids, features, passes)
    for start in range(0, len(ids), chunk):
        if should_stop is not None and should_stop():
            raise InterruptedError(f"scoring stopped after {stored} of {len(ids)} candidates")
        batch = ids[start : start + chunk]
        # the (on SQLite, locking) transaction ends before the slow part
        with use_case(session):
            batch_stamps = stamps(session, batch)
        usable = ~np.isnan(batch_stamps).any(axis=(1, 2, 3))
        if usable.any():
            predicted = predict_stamps(loaded, batch_stamps[usable], precision=precision, bald_passes=passes)
            summaries = {**predicted.summaries, "bald": predicted.bald}
            precisions, engines = predicted.row_precision()
            with use_case(session):
                stored += store_predictions(
                    session,
                    version_id,
                    batch[usable].tolist(),
                    predicted.scores,
                    summaries,
                    precision=precisions,
                    engine=engines,
                )
            used = (predicted.precision, predicted.engine)
            if log is not None and used not in said:
                said.add(used)
                log(f"inference precision {scored_with(*used)} (requested {precision})")
            if predicted.in_fp32 is not None:
                near_ties += int(predicted.in_fp32.sum())
                reduced += len(predicted.in_fp32)
        if progress is not None:
            progress((start + len(batch)) / len(ids), f"scored {start + len(batch)} of {len(ids)} candidates")
    if log is not None and reduced:
        log(
            f"near-ties scored in fp32 instead: {near_ties} of the {reduced} candidates of the reduced precision"
        )
    return stored


def _bald(loaded: Any, features: np.ndarray, passes: int) -> np.ndarray | None:
    """BALD scores of conv features under the version's calibration; None without passes."""
    from starcnet_core.training.finetune import head_bald

    if passes <= 0:
        return None
    return head_bald(loaded.model, features, n_samples=passes, temperature=loaded.temperature)


def _score_cached(
    session: Session, version_id: int, loaded: Any, ids: np.ndarray, features: FeatureCache, passes: int
) -> tuple[int, np.ndarray]:
    """Score the candidates whose conv features are cached; returns (stored, ids still to score)."""
    from starcnet_core.training.finetune import CACHED_FEATURES_PRECISION, head_probabilities

    found, cached = features.lookup(loaded.model, ids, loaded.band_mean)
    if not found.any():
        return 0, ids
    scores = head_probabilities(loaded.model, cached, temperature=loaded.temperature)
    summaries = {**score_summaries(scores), "bald": _bald(loaded, cached, passes)}
    with use_case(session):
        stored = store_predictions(
            session,
            version_id,
            ids[found].tolist(),
            scores,
            summaries,
            precision=CACHED_FEATURES_PRECISION,
            engine="torch",
        )
    return stored, ids[~found]


def request_scoring(
    session: Session,
    version_id: int | None = None,
    galaxy_id: int | None = None,
    *,
    shard_size: int | None = None,
) -> JobInfo:
    """Queue a ``score`` job for a model version (default: the active one).

    ``shard_size`` (default :data:`SHARD_SIZE`) is the most candidates of one
    shard the job splits into (see :func:`plan_shards`).
    """
    if shard_size is not None and shard_size < 1:
        raise UserInputError(f"shard size must be at least 1, not {shard_size}")
    with use_case(session):
        if version_id is None:
            active = active_model_version(session)
            if active is None:
                raise UserInputError("there is no active model version to score with")
            version_id = active.id
        elif session.get(ModelVersion, version_id) is None:
            raise UserInputError(f"no model version {version_id}")
        params = {"model_version_id": version_id, "galaxy_id": galaxy_id}
        if shard_size is not None:
            params["shard_size"] = int(shard_size)
        return jobs.enqueue(session, "score", params)


def scoring_target(session: Session, version_id: int | None, galaxy: str | None) -> tuple[int, int | None]:
    """The model version (default: the active one) and galaxy id (None: every galaxy) a scoring names."""
    with use_case(session):
        galaxy_id = None
        if galaxy is not None:
            galaxy_id = galaxy_id_by_name(session, galaxy)
            if galaxy_id is None:
                raise UserInputError(f"no galaxy named {galaxy!r}")
        if version_id is None:
            active = active_model_version(session)
            if active is None:
                raise UserInputError("there is no active model version; give --version")
            version_id = active.id
        return version_id, galaxy_id


@dataclass(frozen=True)
class Shard:
    """The usable candidates of one galaxy with ids ``first_id``..``last_id`` (inclusive), to score with one version."""

    model_version_id: int
    galaxy_id: int
    first_id: int
    last_id: int
    n_candidates: int

    def params(self) -> dict[str, int]:
        """The params of its ``score_shard`` job."""
        return asdict(self)


def _pending_shards(session: Session, version_id: int) -> list[Shard]:
    """Queued or running ``score_shard`` jobs of ``version_id``."""
    return [
        Shard(**job.params)
        for job in jobs.active_jobs(session, frozenset({"score_shard"}))
        if job.params.get("model_version_id") == version_id
    ]


def plan_shards(
    session: Session, version_id: int, galaxy_id: int | None = None, shard_size: int = SHARD_SIZE
) -> list[Shard]:
    """Split what ``version_id`` has not scored (of one galaxy, or all) into shards, by galaxy then by id.

    A galaxy's unscored usable candidates, in id order, make shards of at most
    ``shard_size``; candidates inside a queued or running shard of the same
    version are left out, so planning again (a second request, or a planning
    job resumed after its worker died) never gives two workers the same
    candidates.
    """
    with use_case(session):
        rows = unscored_by_galaxy(session, version_id, galaxy_id)
        pending_shards = _pending_shards(session, version_id)
    keep = np.ones(len(rows), dtype=bool)
    for pending in pending_shards:
        keep &= ~(
            (rows[:, 0] == pending.galaxy_id)
            & (rows[:, 1] >= pending.first_id)
            & (rows[:, 1] <= pending.last_id)
        )
    rows = rows[keep]
    shards = []
    for galaxy in np.unique(rows[:, 0]):
        ids = rows[rows[:, 0] == galaxy, 1]
        for start in range(0, len(ids), shard_size):
            part = ids[start : start + shard_size]
            shards.append(Shard(version_id, int(galaxy), int(part[0]), int(part[-1]), len(part)))
    return shards


def _score_shard(
    sessions: sessionmaker[Session], context: Any, shard: Shard, stamps: StampLoader, precision: str
) -> int:
    with sessions() as session:
        return score_candidates(
            session,
            shard.model_version_id,
            unscored_candidates(
                session, shard.model_version_id, shard.galaxy_id, (shard.first_id, shard.last_id)
            ),
            stamps=stamps,
            progress=context.progress,
            should_stop=context.should_stop,
            features=feature_cache(),
            precision=precision,
            log=context.log,
        )


def score_job_handler(
    stamps: StampLoader = mosaic_stamps, precision: str = "auto"
) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``score`` jobs (params ``model_version_id``, optional ``galaxy_id``, ``shard_size``).

    The job plans its shards (:func:`plan_shards`), queues all but the first
    as ``score_shard`` jobs for any worker to take, and scores the first
    itself; a survey that fits one shard is one job. Reuses the app's feature
    cache (:func:`feature_cache`) for the candidates it holds. ``precision``
    is the inference backend this worker scores with (:func:`score_candidates`).
    """

    def run_score_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        params = context.params
        version_id = int(params["model_version_id"])
        with sessions() as session, use_case(session):
            shards = plan_shards(
                session, version_id, params.get("galaxy_id"), int(params.get("shard_size", SHARD_SIZE))
            )
            queued = jobs.enqueue_many(session, "score_shard", [shard.params() for shard in shards[1:]])
        context.log(f"{sum(s.n_candidates for s in shards)} candidates to score in {len(shards)} shard(s)")
        n = _score_shard(sessions, context, shards[0], stamps, precision) if shards else 0
        context.log(f"stored {n} predictions; {len(queued)} shard job(s) queued for the workers")
        return {"n_scored": n, "shard_jobs": queued}

    return run_score_job


def score_shard_handler(
    stamps: StampLoader = mosaic_stamps, precision: str = "auto"
) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``score_shard`` jobs (params: the fields of :class:`Shard`).

    Scores what of its shard is still unscored, so a shard resumed after its
    worker died (:func:`db.jobs.recover_stale`) does not redo stored chunks.
    """

    def run_shard_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        n = _score_shard(sessions, context, Shard(**context.params), stamps, precision)
        context.log(f"stored {n} predictions")
        return {"n_scored": n}

    return run_shard_job
