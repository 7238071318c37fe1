"""Retraining: the label set, the time estimate, the ``retrain`` job and its new model version.

A retrain request (:class:`RetrainRequest`) names the label set (expert
consensus with at least ``min_votes`` votes, with or without the labels
imported with catalogs) and the mode:

- ``quick``: the active model's convolutions frozen, its fully connected layers
  retrained on cached convolutional features (:mod:`starcnet_core.training.finetune`);
- ``full``: every layer fine-tuned from the active model
  (:func:`starcnet_core.training.train.train_model` with ``init_state``);
- ``scratch``: the paper recipe from random weights (``train_model``).

The held-out set (:mod:`db.registry`) is chosen on the first request and never
trained on. The job ends by writing the checkpoint atomically, measuring the
new and the active model on the held-out set, and registering a ``candidate``
version with both metric sets and the fingerprint of its training labels; it
then queues scoring of every candidate with the new version (for the science
diff) and, with ``auto_promote``, promotes it when it is not worse. Nothing is
registered or promoted before the checkpoint is complete, so a killed job
leaves the registry and the active model as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import jobs, registry
from db.engine import data_dir
from db.jobs import JobInfo
from db.models import Candidate
from db.predictions import active_model_version
from db.snapshot import LabelSnapshot, label_snapshot
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import label_fingerprint
from webapp.services.scoring import StampLoader, feature_cache, load_version_model, mosaic_stamps

__all__ = [
    "MODES",
    "RetrainRequest",
    "training_labels",
    "held_out_labels",
    "grow_held_out_set",
    "heldout_metrics",
    "not_worse",
    "estimate_seconds",
    "request_retrain",
    "retrain_job_handler",
]

#: Retraining modes, fastest first.
MODES: tuple[str, ...] = ("quick", "full", "scratch")

# what a training curve keeps of each epoch's progress event
_EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "val_accuracy", "seconds")

# roles whose labels are experts' own (the "catalog" role holds imported catalog classes)
_EXPERT_ROLES = ("expert", "admin")


@dataclass(frozen=True)
class RetrainRequest:
    """What to retrain on and how.

    Parameters
    ----------
    mode : {"quick", "full", "scratch"}
        See the module docstring.
    include_catalog : bool
        Also use the classes imported with the catalogs (pseudo-expert role ``catalog``).
    min_votes : int
        Minimum votes behind a consensus class for a candidate to be used.
    epochs : int, optional
        Default: 40 (quick), 5 (full), 15 (scratch, the paper's).
    auto_promote : bool
        Promote the new version when it is not worse than the active one on the held-out set.
    held_out_fraction : float
        Share of each (class, galaxy) held out, when the held-out set is first chosen.
    seed : int
        Seed of the held-out choice and of training.
    requested_by : str, optional
        Name of the expert who started the retrain (kept with the job and the new version's config).
    """

    mode: str = "quick"
    include_catalog: bool = False
    min_votes: int = 1
    epochs: int | None = None
    auto_promote: bool = False
    held_out_fraction: float = 0.2
    seed: int = 0
    requested_by: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserInputError(f"unknown retrain mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.min_votes < 1:
            raise UserInputError("min_votes must be at least 1")

    @property
    def n_epochs(self) -> int:
        return self.epochs or {"quick": 40, "full": 5, "scratch": 15}[self.mode]


def _usable(session: Session, snapshot: LabelSnapshot) -> LabelSnapshot:
    """The rows of ``snapshot`` whose candidates have a full stamp (no edge, no missing band)."""
    usable = set(
        session.scalars(
            select(Candidate.id).where(
                Candidate.id.in_(snapshot.candidate_ids.tolist()), Candidate.usable.is_(True)
            )
        )
    )
    keep = np.array([int(i) in usable for i in snapshot.candidate_ids], dtype=bool)
    return LabelSnapshot(
        candidate_ids=snapshot.candidate_ids[keep],
        classes=snapshot.classes[keep],
        means=snapshot.means[keep],
        n_votes=snapshot.n_votes[keep],
        galaxy_ids=snapshot.galaxy_ids[keep],
        galaxy_names=snapshot.galaxy_names[keep],
        source_ids=snapshot.source_ids[keep],
    )


def _split(session: Session, request: RetrainRequest) -> tuple[LabelSnapshot, LabelSnapshot]:
    """(training labels, held-out labels) of usable candidates; chooses the held-out set first if there is none."""
    rules = {"roles": None if request.include_catalog else _EXPERT_ROLES, "min_votes": request.min_votes}
    everything = _usable(session, label_snapshot(session, held_out=None, **rules))
    registry.choose_held_out(
        session,
        everything.candidate_ids,
        everything.classes,
        everything.galaxy_ids,
        fraction=request.held_out_fraction,
        seed=request.seed,
    )
    return (
        _usable(session, label_snapshot(session, held_out=False, **rules)),
        _usable(session, label_snapshot(session, held_out=True, **rules)),
    )


def training_labels(session: Session, request: RetrainRequest) -> LabelSnapshot:
    """The labels a retrain with ``request`` would train on (held-out candidates excluded).

    Chooses the held-out set first if it does not exist yet (flushes; the caller commits).
    """
    return _split(session, request)[0]


def held_out_labels(session: Session, request: RetrainRequest) -> LabelSnapshot:
    """The held-out candidates that have a consensus class under ``request``'s label rules."""
    return _split(session, request)[1]


def grow_held_out_set(session: Session, request: RetrainRequest, fraction: float) -> int:
    """Hold out a further stratified ``fraction`` of the training labels (on request only); commits.

    Versions evaluated before and after the growth are no longer measured on
    the same set: compare them by re-running their metrics, not by the stored numbers.
    Returns how many candidates were added.
    """
    if not 0 < fraction < 1:
        raise UserInputError("the fraction to hold out must be between 0 and 1")
    train = training_labels(session, request)
    added = registry.grow_held_out(
        session,
        train.candidate_ids,
        train.classes,
        train.galaxy_ids,
        fraction=fraction,
        seed=request.seed + 1,
    )
    session.commit()
    return len(added)


def heldout_metrics(classes: np.ndarray, scores: np.ndarray, *, n_boot: int = 200) -> dict[str, Any]:
    """Held-out summary of :func:`starcnet_core.evaluation.evaluate.evaluate` (JSON-ready).

    ``n``; 4-class and binary (1+2 vs 3+4) ``accuracy``/``binary_accuracy``
    with bootstrap 95% intervals (``*_ci95``); the 4-class ``confusion``
    counts (rows: consensus class, columns: predicted) and per-class ``recall``.
    """
    from starcnet_core.evaluation.evaluate import evaluate

    if len(classes) == 0:
        return {"n": 0}
    report = evaluate(np.asarray(classes), np.asarray(scores), n_boot=n_boot)
    four, binary = report["four_class"], report["binary_12_34"]
    return {
        "n": int(report["n"]),
        "accuracy": float(four["accuracy"]),
        "accuracy_ci95": four["accuracy_ci95"],
        "binary_accuracy": float(binary["accuracy"]),
        "binary_accuracy_ci95": binary["accuracy_ci95"],
        "confusion": four["confusion_counts"],
        "recall": [float(report["per_class"][str(k)]["recall"]) for k in (1, 2, 3, 4)],
        "ece": report["calibration"]["ece"],
        "reliability": report["calibration"]["reliability"],
    }


def not_worse(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether ``new`` metrics are at least as good as ``old`` in 4-class and binary accuracy."""
    if not old or "accuracy" not in old:
        return "accuracy" in new
    return new["accuracy"] >= old["accuracy"] and new["binary_accuracy"] >= old["binary_accuracy"]


def estimate_seconds(session: Session, request: RetrainRequest) -> dict[str, Any]:
    """How long a retrain with ``request`` would take on this machine, before starting it.

    Times the active network (the paper network for a retrain from scratch)
    on a few stamps and scales: quick mode pays the convolutions of every
    training candidate not yet in the feature cache, the fully connected
    training per sample and epoch, and two forward passes per held-out
    candidate (new and active model); full and from-scratch training pay about
    three forward passes (forward + backward) per augmented sample and epoch.

    Returns
    -------
    dict
        ``n_train``, ``n_held_out``, ``n_new_features`` (quick mode),
        ``seconds`` and a one-line ``summary``.
    """
    from starcnet_core.nn.model import PRESETS, StarcNet
    from starcnet_core.training.augment import balanced_plan
    from starcnet_core.training.finetune import quick_costs

    train, held = _split(session, request)
    session.rollback()  # an estimate must not choose the held-out set
    active = active_model_version(session)
    if active is None and request.mode != "scratch":
        raise UserInputError(f"{request.mode} retraining needs an active model; train from scratch instead")
    if request.mode == "scratch" or active is None:
        model, band_mean = StarcNet(PRESETS["paper"]), np.zeros(PRESETS["paper"].n_bands, np.float32)
    else:
        loaded = load_version_model(session, active.id)
        model, band_mean = loaded.model, loaded.band_mean
    session.rollback()
    conv_s, head_s = quick_costs(model, band_mean)
    evaluation = 2 * len(held) * conv_s
    n_new = 0
    if request.mode == "quick":
        n_new = feature_cache().missing(model, train.candidate_ids, band_mean)
        seconds = n_new * conv_s + request.n_epochs * len(train) * head_s + evaluation
    else:
        # the paper's augmentation balances the classes and adds rotations
        n_augmented = len(balanced_plan(np.arange(len(train)), train.classes)) if len(train) else 0
        seconds = request.n_epochs * n_augmented * 3 * conv_s + evaluation
    seconds += 2.0  # loading, checkpoint writing, registration
    return {
        "n_train": len(train),
        "n_held_out": len(held),
        "n_new_features": int(n_new),
        "seconds": float(seconds),
        "summary": f"{request.mode}: {len(train)} labels, about {seconds:.0f} s on this machine",
    }


def _model_dir() -> Path:
    return data_dir() / "models"


def request_retrain(session: Session, request: RetrainRequest) -> JobInfo:
    """Queue a ``retrain`` job; refuses while another retrain is queued or running.

    Raises
    ------
    UserInputError
        Another retrain is pending, there are no training labels, or the mode
        needs an active model and there is none.
    """
    if request.mode != "scratch" and active_model_version(session) is None:
        raise UserInputError(f"{request.mode} retraining needs an active model; train from scratch instead")
    train = training_labels(session, request)
    if len(train) == 0:
        session.rollback()
        raise UserInputError("no labelled candidates to train on (outside the held-out set)")
    # the held-out choice and the job are committed together, atomically with the pending check
    job, created = jobs.enqueue_unless_active(session, "retrain", asdict(request))
    if not created:
        raise UserInputError(f"retrain job #{job.id} is already {job.status}; wait or cancel it")
    return job


def _train(
    loaded: Any,
    train: LabelSnapshot,
    stamps: np.ndarray | Callable[[np.ndarray], np.ndarray],
    request: RetrainRequest,
    context: Any,
):
    """Run the chosen training; returns (model, band_mean, history, calibration temperature)."""
    if request.mode == "quick":
        from starcnet_core.training.finetune import QuickFinetuneConfig, finetune_head

        context.progress(0.02, "computing convolutional features")
        features, n_new = feature_cache().features(
            loaded.model, train.candidate_ids, stamps, loaded.band_mean, should_stop=context.should_stop
        )
        context.log(f"features: {n_new} computed, {len(train) - n_new} from cache")
        config = QuickFinetuneConfig(epochs=request.n_epochs, seed=request.seed)
        history: list[dict] = []

        def on_step(event: dict) -> None:
            if "train_loss" in event:
                history.append({key: event[key] for key in _EPOCH_KEYS if key in event})
                context.store(history=history)
            context.progress(0.1 + 0.8 * event["step"] / event["total_steps"], f"epoch {event['epoch']}")

        result = finetune_head(
            loaded.model,
            features,
            train.classes,
            config=config,
            progress=on_step,
            should_stop=context.should_stop,
        )
        return result.model, loaded.band_mean, result.history, result.temperature
    from astropy.table import Table

    from starcnet_core.io.stampset import StampSet
    from starcnet_core.nn.model import PRESETS
    from starcnet_core.training.train import TrainConfig, train_model

    table = Table(
        {
            "galaxy": train.galaxy_ids.astype(str),
            "id": train.candidate_ids,
            "distance_mpc": np.zeros(len(train)),
            "label": train.classes,
        }
    )
    context.progress(0.02, "cutting stamps")
    stamp_set = StampSet(stamps(train.candidate_ids), table)
    history = []

    def on_progress(event: dict) -> None:
        if "train_loss" in event:
            history.append({key: event[key] for key in _EPOCH_KEYS if key in event})
            context.store(history=history)
        total = max(event.get("total_steps", 1), 1)
        context.progress(0.05 + 0.85 * event.get("step", 0) / total, f"epoch {event.get('epoch', 0)}")

    full = request.mode == "full"
    result = train_model(
        stamp_set,
        TrainConfig(epochs=request.n_epochs, seed=request.seed),
        loaded.config if full else PRESETS["paper"],
        progress=on_progress,
        should_stop=context.should_stop,
        init_state=loaded.model.state_dict() if full else None,
    )
    return result.model, result.band_mean, result.history, result.temperature


def retrain_job_handler(stamps: StampLoader = mosaic_stamps) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``retrain`` jobs (params: the fields of :class:`RetrainRequest`)."""

    def run_retrain_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        from starcnet_core.io.bands import BANDS, CLASS_NAMES
        from starcnet_core.nn.checkpoint import LoadedModel, save_checkpoint
        from starcnet_core.nn.predict import predict_stamps

        request = RetrainRequest(**context.params)
        # short transactions only: on SQLite a write transaction holds the database lock,
        # and the heartbeats of this very job must get through while it trains
        with sessions() as session:
            train, held = _split(session, request)
            active = active_model_version(session)
            active_id = active.id if active is not None else None
            loaded = load_version_model(session, active_id) if active_id is not None else None
            session.commit()
        if loaded is None and request.mode != "scratch":
            raise UserInputError(f"{request.mode} retraining needs an active model")
        context.log(f"{request.mode}: {len(train)} training labels, {len(held)} held out")

        def load(ids: np.ndarray) -> np.ndarray:
            with sessions() as session:
                cut = stamps(session, ids)
                session.commit()
            return cut

        model, band_mean, history, temperature = _train(loaded, train, load, request, context)
        context.progress(0.92, "evaluating on the held-out set")
        new_loaded = LoadedModel.from_model(model, band_mean, bands=BANDS, temperature=temperature)
        metrics = baseline = {"n": 0}
        if len(held):
            held_stamps = load(held.candidate_ids)
            metrics = heldout_metrics(held.classes, predict_stamps(new_loaded, held_stamps).scores)
            if loaded is not None:
                baseline = heldout_metrics(held.classes, predict_stamps(loaded, held_stamps).scores)
        name = f"{request.mode}-job{context.job.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        path = _model_dir() / f"{name}.pt"
        context.progress(0.96, "writing the checkpoint")
        fingerprint = label_fingerprint(train.galaxy_names, train.source_ids, train.classes)
        save_checkpoint(
            path,
            model,
            band_mean=band_mean,
            bands=BANDS,
            class_names=tuple(CLASS_NAMES.values()),
            label_fingerprint=fingerprint,
            metrics=metrics,
            temperature=temperature,
        )
        with sessions() as session:
            version = registry.register_version(
                session,
                name=name,
                checkpoint_path=path,
                checkpoint_sha256=registry.file_sha256(path),
                mode=request.mode,
                parent_id=active_id if request.mode != "scratch" else None,
                label_fingerprint=fingerprint,
                n_train_labels=len(train),
                metrics=metrics,
                baseline_metrics=baseline,
                history=history,
                config={"request": asdict(request), "model": model.config.to_dict()},
                job_id=context.job.id,
            )
            promoted = request.auto_promote and not_worse(metrics, baseline)
            if promoted:
                registry.promote(session, version.id)
            session.commit()
            # scored with the new version so that the science diff can compare before promotion
            jobs.enqueue(session, "score", {"model_version_id": version.id, "galaxy_id": None})
        context.log(
            f"registered {name}: held-out accuracy {metrics.get('accuracy')} (active {baseline.get('accuracy')})"
        )
        return {
            "model_version_id": version.id,
            "promoted": promoted,
            "metrics": metrics,
            "baseline_metrics": baseline,
        }

    return run_retrain_job
