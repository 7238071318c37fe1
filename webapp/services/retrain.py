"""Retraining: the label set, the time estimate, the ``retrain`` job and its new model version.

A retrain request (:class:`RetrainRequest`) names the label set (expert
consensus with at least ``min_votes`` votes, with or without the labels
imported with catalogs) and the mode:

- ``quick``: the active model's convolutions frozen, its fully connected layers
  retrained on cached convolutional features (:mod:`starcnet_core.training.finetune`);
- ``full``: every layer fine-tuned from the active model
  (:func:`starcnet_core.training.train.train_model` with ``init_state``);
- ``scratch``: the paper recipe from random weights on a network preset
  (``lite`` by default on a CPU, ``paper`` on a GPU).

Every selected label outside the held-out set (:mod:`webapp.services.held_out`)
is used: :data:`~starcnet_core.training.splits.VALIDATION_SHARE` of them pick
the best epoch, the rest are trained on; the held-out set is the test set. The
held-out set is never chosen here except by the first request when there is
none yet (an explicit write, recorded as a growth).

The job ends by writing the checkpoint atomically, measuring the new and the
active model on the held-out set, and registering a ``proposed`` version
with both metric sets and the fingerprint of its training labels; it then
queues scoring of every candidate with the new version (for the science diff)
and, with ``auto_promote``, promotes it when it is not worse and the held-out
set is large enough. Nothing is registered or promoted before the checkpoint
is complete, so a killed job leaves the registry and the active model as they were.

Time estimates (:func:`estimate_seconds`) come from what earlier jobs of the
same mode and network measured on this installation (``timing`` in their
result), never from training steps run in the web process.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from db import jobs, registry
from db.engine import data_dir, use_case
from db.jobs import JobInfo
from db.predictions import active_model_version
from db.snapshot import LabelSnapshot, label_snapshot
from starcnet_core.errors import UserInputError
from webapp.services.crowd import weighted_consensus
from webapp.services.held_out import (
    HELD_OUT_MINIMUM,
    grow_held_out_set,
    held_out_labels,
    measure_on_held_out,
    snapshot_fingerprint,
    usable_labels,
)
from webapp.services.scoring import StampLoader, feature_cache, load_version_model, mosaic_stamps

__all__ = [
    "CONSENSUS_RULES",
    "MODES",
    "SCRATCH_PRESETS",
    "FEW_LABELS",
    "RetrainRequest",
    "default_preset",
    "training_labels",
    "not_worse",
    "estimate_seconds",
    "request_retrain",
    "retrain_job_handler",
]

#: Retraining modes, fastest first.
MODES: tuple[str, ...] = ("quick", "full", "scratch")
#: Network presets a retrain from scratch can build (:data:`starcnet_core.nn.model.PRESETS`).
SCRATCH_PRESETS: tuple[str, ...] = ("lite", "paper")
#: Fewer training labels than this earn a warning before a retrain starts.
FEW_LABELS = 50

# what a training curve keeps of each epoch's progress event
_EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "val_accuracy", "seconds")

# roles whose labels are experts' own (the "catalog" role holds imported catalog classes)
_EXPERT_ROLES = ("expert", "admin")

#: How a candidate's training class is read off its votes (see :class:`RetrainRequest`).
CONSENSUS_RULES: tuple[str, ...] = ("mode", "dawid-skene")

# how many finished retrain jobs the estimate looks back through for measurements
_MEASURED_JOBS = 50


def default_preset() -> str:
    """The scratch preset for this machine: ``paper`` with a CUDA GPU, ``lite`` on a CPU."""
    import torch

    return "paper" if torch.cuda.is_available() else "lite"


@dataclass(frozen=True)
class RetrainRequest:
    """What to retrain on and how.

    Parameters
    ----------
    mode : {"quick", "full", "scratch"}
        See the module docstring.
    include_catalog : bool
        Also use the classes imported with the catalogs (pseudo-expert role ``catalog``).
    consensus : {"mode", "dawid-skene"}
        The class each candidate trains with: the mode of the votes, or the
        expert-weighted Dawid-Skene consensus (:mod:`webapp.services.crowd`) of
        the same votes. Dawid-Skene also decides the candidates whose votes tie,
        which the mode leaves out; otherwise the candidates are the same.
    min_votes : int
        Minimum votes behind a consensus class for a candidate to be used.
    epochs : int, optional
        Default: 40 (quick), 5 (full), 15 (scratch, the paper's).
    auto_promote : bool
        Promote the new version when it is not worse than the active one on the
        held-out set and the set has at least :data:`HELD_OUT_MINIMUM` candidates.
    preset : {"lite", "paper"}, optional
        The network a retrain from scratch builds; default :func:`default_preset`.
    seed : int
        Seed of the validation split and of training.
    requested_by : str, optional
        Name of the expert who started the retrain (kept with the job and the new version's config).
    """

    mode: str = "quick"
    include_catalog: bool = False
    consensus: str = "mode"
    min_votes: int = 1
    epochs: int | None = None
    auto_promote: bool = False
    preset: str | None = None
    seed: int = 0
    requested_by: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserInputError(f"unknown retrain mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.min_votes < 1:
            raise UserInputError(f"min_votes {self.min_votes}: must be at least 1")
        if self.epochs is not None and self.epochs < 1:
            raise UserInputError(f"epochs {self.epochs}: must be at least 1 (or none for the mode's default)")
        if self.consensus not in CONSENSUS_RULES:
            raise UserInputError(
                f"unknown consensus {self.consensus!r}; choose one of {', '.join(CONSENSUS_RULES)}"
            )
        if self.preset is not None and self.preset not in SCRATCH_PRESETS:
            raise UserInputError(
                f"unknown network preset {self.preset!r}; choose one of {', '.join(SCRATCH_PRESETS)}"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RetrainRequest:
        """The request stored in a job's params (keys of older versions are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in params.items() if key in names})

    @property
    def n_epochs(self) -> int:
        return self.epochs or {"quick": 40, "full": 5, "scratch": 15}[self.mode]

    @property
    def network_preset(self) -> str:
        """The preset a retrain from scratch builds (resolved for this machine when not given)."""
        return self.preset or default_preset()


def training_labels(session: Session, request: RetrainRequest) -> LabelSnapshot:
    """Every label a retrain with ``request`` uses (training and validation): outside the held-out set.

    Usable candidates only (a full stamp). Reads only.
    """
    roles = None if request.include_catalog else _EXPERT_ROLES
    weighted = request.consensus == "dawid-skene"
    with use_case(session):
        # the expert-weighted consensus also decides the candidates whose votes tie, which the mode leaves out
        snapshot = label_snapshot(
            session, held_out=False, roles=roles, min_votes=request.min_votes, tied=weighted
        )
        if weighted and len(snapshot):
            # the held-out votes stay out: they are the truth new versions are measured against
            fit = weighted_consensus(session, roles=roles, exclude=registry.held_out_ids(session))
            snapshot = _decided_by(snapshot, fit)
        return usable_labels(snapshot, session)


def _decided_by(snapshot: LabelSnapshot, fit: Any) -> LabelSnapshot:
    """``snapshot`` with every class replaced by the Dawid-Skene consensus ``fit`` (candidates it lacks dropped)."""
    at = np.searchsorted(fit.items, snapshot.candidate_ids) if fit is not None else np.zeros(0, np.int64)
    found = np.zeros(len(snapshot), dtype=bool)
    if fit is not None:
        inside = at < len(fit.items)
        found[inside] = fit.items[at[inside]] == snapshot.candidate_ids[inside]
    kept = {field.name: getattr(snapshot, field.name)[found] for field in dataclasses.fields(LabelSnapshot)}
    kept["classes"] = fit.consensus[at[found]] if fit is not None else kept["classes"]
    return LabelSnapshot(**kept)


def not_worse(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether ``new`` metrics are at least as good as ``old`` in 4-class and binary accuracy."""
    if not old or "accuracy" not in old:
        return "accuracy" in new
    return new["accuracy"] >= old["accuracy"] and new["binary_accuracy"] >= old["binary_accuracy"]


def _architecture(config: Any) -> str:
    """The preset name of a network configuration, else a short description of it."""
    from starcnet_core.nn.model import PRESETS

    for name, preset in PRESETS.items():
        if dataclasses.replace(preset, n_classes=config.n_classes) == config:
            return name
    return f"width {config.width}, depth {config.depth}"


def _measurements(session: Session, mode: str, architecture: str) -> dict[str, Any]:
    """The latest measured cost of each part of a retrain of ``mode`` on ``architecture``.

    Each key is taken from the newest succeeded job that measured it (a quick
    retrain whose features were all cached measures no convolutions).
    """
    found: dict[str, Any] = {}
    for job in jobs.list_jobs(session, kind="retrain", limit=_MEASURED_JOBS):
        timing = job.result.get("timing") or {}
        if job.status != "succeeded" or timing.get("mode") != mode:
            continue
        if timing.get("architecture") != architecture:
            continue
        for key, value in timing.items():
            if value is not None:
                found.setdefault(key, value)
        found.setdefault("job_id", job.id)
    return found


def estimate_seconds(session: Session, request: RetrainRequest) -> dict[str, Any]:
    """How long a retrain with ``request`` would take, from what earlier retrains measured here.

    The cost of each part (convolutional features of uncached candidates,
    stamps cut per label, training per label and epoch, held-out evaluation
    per candidate and model, the rest) is the one recorded by the newest finished retrain of the
    same mode and network (:func:`retrain_job_handler` stores it); nothing is
    trained or timed here. Reads only.

    Returns
    -------
    dict
        ``n_train`` (labels used, validation included), ``n_held_out``,
        ``n_new_features`` (quick mode), ``architecture``, ``seconds`` (None
        when no earlier job measured this mode and network), ``measured_by``
        (that job's id) and a one-line ``summary``.
    """
    with use_case(session):
        train, held = training_labels(session, request), held_out_labels(session)
        active = active_model_version(session)
        if active is None and request.mode != "scratch":
            raise UserInputError(
                f"{request.mode} retraining needs an active model; train from scratch instead"
            )
        n_new = 0
        if request.mode == "scratch":
            architecture = request.network_preset
        else:
            loaded = load_version_model(session, active.id)
            architecture = _architecture(loaded.model.config)
            if request.mode == "quick":
                n_new = feature_cache().missing(loaded.model, train.candidate_ids, loaded.band_mean)
        measured = _measurements(session, request.mode, architecture)
    n_models = 1 if active is None else 2
    parts = {
        "conv_s_per_stamp": n_new,
        "stamps_s_per_label": 0 if request.mode == "quick" else len(train),
        "fit_s_per_label_epoch": request.n_epochs * len(train),
        "eval_s_per_stamp": n_models * len(held),
        "other_s": 1,
    }
    needed = [key for key, count in parts.items() if count]
    seconds = None
    if all(key in measured for key in needed):
        seconds = float(sum(measured[key] * parts[key] for key in needed))
    what = f"{request.mode} ({architecture} network): {len(train)} labels"
    if seconds is None:
        summary = (
            f"{what}; no earlier {request.mode} retrain of this network measured here yet, so no estimate"
        )
    else:
        summary = f"{what}, about {seconds:.0f} s (measured by job #{measured['job_id']})"
    return {
        "n_train": len(train),
        "n_held_out": len(held),
        "n_new_features": int(n_new),
        "architecture": architecture,
        "seconds": seconds,
        "measured_by": measured.get("job_id"),
        "summary": summary,
    }


def _model_dir() -> Path:
    return data_dir() / "models"


def discard_job_checkpoints(session: Session, job_id: int) -> list[Path]:
    """Delete what a dead or failed retrain job left in the models folder; return the paths removed.

    A job's checkpoint is ``<mode>-job<id>-<time>.pt``, first written as a
    hidden temporary file beside it (:func:`starcnet_core.nn.checkpoint.save_checkpoint`).
    A worker killed during the write leaves the temporary file; one killed
    between the write and the registration leaves a checkpoint that no model
    version points to. Both are removed; a registered checkpoint never is.
    """
    folder = _model_dir()
    with use_case(session):
        registered = {Path(p).resolve() for p in registry.checkpoint_paths_of_job(session, job_id)}
    left = [*folder.glob(f".*-job{job_id}-*.pt.*"), *folder.glob(f"*-job{job_id}-*.pt")]
    removed = []
    for path in left:
        if path.resolve() not in registered:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def request_retrain(session: Session, request: RetrainRequest) -> JobInfo:
    """Queue a ``retrain`` job; refuses while another retrain is queued or running.

    When there is no held-out set yet, this first request chooses it
    (:func:`webapp.services.held_out.grow_held_out_set` at its default share)
    before counting the training labels. The job's params hold the request,
    the resolved scratch preset and the time estimate (``estimated_seconds``).

    Raises
    ------
    UserInputError
        Another retrain is pending, there are no training labels, or the mode
        needs an active model and there is none.
    """
    if request.mode == "scratch" and request.preset is None:
        request = dataclasses.replace(request, preset=default_preset())
    with use_case(session):
        if request.mode != "scratch" and active_model_version(session) is None:
            raise UserInputError(
                f"{request.mode} retraining needs an active model; train from scratch instead"
            )
        if not len(registry.held_out_ids(session)):
            grow_held_out_set(session, seed=request.seed)
        if len(training_labels(session, request)) == 0:
            raise UserInputError("no labelled candidates to train on (outside the held-out set)")
        estimate = estimate_seconds(session, request)
        params = {**asdict(request), "estimated_seconds": estimate["seconds"]}
        job, created = jobs.enqueue_unless_active(session, "retrain", params)
        if not created:
            raise UserInputError(f"retrain job #{job.id} is already {job.status}; wait or cancel it")
        return job


class _Clock:
    """Seconds spent in each named part of a job."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.started = time.perf_counter()

    def time(self, part: str, work: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        try:
            return work()
        finally:
            self.parts[part] = self.parts.get(part, 0.0) + time.perf_counter() - began

    def total(self) -> float:
        return time.perf_counter() - self.started


def _train(
    loaded: Any,
    train: LabelSnapshot,
    stamps: Callable[[np.ndarray], np.ndarray],
    request: RetrainRequest,
    context: Any,
    clock: _Clock,
) -> tuple[Any, np.ndarray, list[dict], float, dict[str, int]]:
    """Run the chosen training; returns (model, band_mean, history, calibration temperature, counts).

    ``counts``: ``n_fit`` labels trained on, ``n_validation`` labels choosing
    the best epoch, ``n_new_features`` (quick mode) and ``calibration``, the
    kind :func:`starcnet_core.calibration.fit_calibration` picked (an affine
    kind is already folded into the returned network; the temperature is 1 then).
    """
    from starcnet_core.training.splits import VALIDATION_SHARE

    history: list[dict] = []

    def keep_epoch(event: dict) -> None:
        if "train_loss" in event:
            history.append({key: event[key] for key in _EPOCH_KEYS if key in event})
            context.store(history=history)

    if request.mode == "quick":
        from starcnet_core.training.finetune import QuickFinetuneConfig, finetune_head

        context.progress(0.02, "computing convolutional features")
        features, n_new = clock.time(
            "conv",
            lambda: feature_cache().features(
                loaded.model, train.candidate_ids, stamps, loaded.band_mean, should_stop=context.should_stop
            ),
        )
        context.log(f"features: {n_new} computed, {len(train) - n_new} from cache")
        config = QuickFinetuneConfig(
            epochs=request.n_epochs, val_fraction=VALIDATION_SHARE, seed=request.seed
        )

        def on_step(event: dict) -> None:
            keep_epoch(event)
            context.progress(0.1 + 0.8 * event["step"] / event["total_steps"], f"epoch {event['epoch']}")

        result = clock.time(
            "fit",
            lambda: finetune_head(
                loaded.model,
                features,
                train.classes,
                config=config,
                progress=on_step,
                should_stop=context.should_stop,
            ),
        )
        n_val = len(result.val_index)
        counts = {
            "n_fit": len(train) - n_val,
            "n_validation": n_val,
            "n_new_features": int(n_new),
            "calibration": result.calibration.get("kind", "temperature"),
        }
        return result.model, loaded.band_mean, result.history, result.temperature, counts
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
    stamp_set = StampSet(clock.time("stamps", lambda: stamps(train.candidate_ids)), table)

    def on_progress(event: dict) -> None:
        keep_epoch(event)
        total = max(event.get("total_steps", 1), 1)
        context.progress(0.05 + 0.85 * event.get("step", 0) / total, f"epoch {event.get('epoch', 0)}")

    full = request.mode == "full"
    # the app's held-out set is the test set: every label here trains or validates
    config = TrainConfig(epochs=request.n_epochs, seed=request.seed, split="train_val")
    result = clock.time(
        "fit",
        lambda: train_model(
            stamp_set,
            config,
            loaded.config if full else PRESETS[request.network_preset],
            progress=on_progress,
            should_stop=context.should_stop,
            init_state=loaded.model.state_dict() if full else None,
        ),
    )
    counts = {
        "n_fit": len(result.split.train),
        "n_validation": len(result.split.val),
        "n_new_features": 0,
        "calibration": result.calibration.get("kind", "temperature"),
    }
    return result.model, result.band_mean, result.history, result.temperature, counts


def _timing(
    request: RetrainRequest,
    architecture: str,
    clock: _Clock,
    counts: dict[str, int],
    n_train: int,
    n_eval: int,
) -> dict[str, Any]:
    """The per-unit costs this job measured, for later estimates (:func:`estimate_seconds`)."""
    from starcnet_core.training.train import resolve_device

    parts = clock.parts
    total = clock.total()

    def per(part: str, n: int) -> float | None:
        return parts[part] / n if n and part in parts else None

    return {
        "mode": request.mode,
        "architecture": architecture,
        "device": resolve_device("auto").type,
        "host": platform.node(),
        "conv_s_per_stamp": per("conv", counts["n_new_features"]),
        "stamps_s_per_label": per("stamps", n_train),
        "fit_s_per_label_epoch": per("fit", request.n_epochs * n_train),
        "eval_s_per_stamp": per("eval", n_eval),
        "other_s": max(total - sum(parts.values()), 0.0),
        "seconds": total,
    }


def retrain_job_handler(stamps: StampLoader = mosaic_stamps) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``retrain`` jobs (params: the fields of :class:`RetrainRequest`)."""

    def run_retrain_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        from starcnet_core.io.bands import BANDS, CLASS_NAMES
        from starcnet_core.nn.checkpoint import LoadedModel, save_checkpoint

        clock = _Clock()
        request = RetrainRequest.from_params(context.params)
        # short transactions only: on SQLite a write transaction holds the database lock,
        # and the heartbeats of this very job must get through while it trains
        with sessions() as session, use_case(session):
            train, held = training_labels(session, request), held_out_labels(session)
            active = active_model_version(session)
            active_id = active.id if active is not None else None
            loaded = load_version_model(session, active_id) if active_id is not None else None
        if loaded is None and request.mode != "scratch":
            raise UserInputError(f"{request.mode} retraining needs an active model")
        if len(train) == 0:
            raise UserInputError("no labelled candidates to train on (outside the held-out set)")
        context.log(f"{request.mode}: {len(train)} training labels, {len(held)} held out")

        def load(ids: np.ndarray) -> np.ndarray:
            with sessions() as session, use_case(session):
                return stamps(session, ids)

        model, band_mean, history, temperature, counts = _train(loaded, train, load, request, context, clock)
        context.log(f"trained on {counts['n_fit']} labels, {counts['n_validation']} chose the best epoch")
        # an affine calibration is folded into the network's last layer; a temperature is stored beside it
        context.log(f"calibration: {counts['calibration']} scaling (temperature {temperature:.3g})")
        context.progress(0.92, "evaluating on the held-out set")
        new_loaded = LoadedModel.from_model(model, band_mean, bands=BANDS, temperature=temperature)
        compared = [new_loaded] if loaded is None else [new_loaded, loaded]
        measured = clock.time(
            "eval",
            lambda: measure_on_held_out(held, compared, load(held.candidate_ids) if len(held) else None),
        )
        metrics = measured[0]
        baseline = measured[1] if loaded is not None else {"n": 0}
        if active_id is not None:
            baseline["model_version_id"] = active_id
        name = f"{request.mode}-job{context.job.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        path = _model_dir() / f"{name}.pt"
        context.progress(0.96, "writing the checkpoint")
        fingerprint = snapshot_fingerprint(train)
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
        promoted, note = False, None
        if request.auto_promote:
            if metrics.get("n", 0) < HELD_OUT_MINIMUM:
                note = (
                    f"not promoted: {metrics.get('n', 0)} held-out candidates, fewer than {HELD_OUT_MINIMUM}"
                )
            elif not not_worse(metrics, baseline):
                note = "not promoted: worse than the active model on the held-out set"
            else:
                promoted = True
        with sessions() as session, use_case(session):
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
                config={
                    "request": asdict(request),
                    "model": model.config.to_dict(),
                    "calibration": counts["calibration"],
                },
                job_id=context.job.id,
            )
            if promoted:
                registry.promote(session, version.id)
            # scored with the new version so that the science diff can compare before promotion
            jobs.enqueue(session, "score", {"model_version_id": version.id, "galaxy_id": None})
        if note:
            context.log(note)
        context.log(
            f"registered {name}: held-out accuracy {metrics.get('accuracy')} (active {baseline.get('accuracy')})"
        )
        architecture = _architecture(model.config)
        return {
            "model_version_id": version.id,
            "promoted": promoted,
            "promotion_note": note,
            "metrics": metrics,
            "baseline_metrics": baseline,
            **counts,
            "timing": _timing(request, architecture, clock, counts, len(train), len(compared) * len(held)),
        }

    return run_retrain_job
