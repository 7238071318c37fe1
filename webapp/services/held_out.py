"""The held-out set: the labelled candidates every model version is measured on and none is trained on.

The set is kept at a share of the labelled candidates (:data:`HELD_OUT_SHARE`,
10%), stratified by class and galaxy, but it only grows when someone asks
(:func:`grow_held_out_set`: the Models page, ``python -m webapp held-out
grow``, the first retrain, the demo), so that the versions measured between
two growths are measured on the same candidates. Each growth is recorded
(:func:`db.registry.held_out_growth`).

The truth on the held-out set is the consensus of every label (experts and
catalogs alike), whatever label rules a retrain trains with, and only
candidates with a full stamp count. A version's held-out metrics carry the
fingerprint of that truth (``held_out_fingerprint``): two versions are
compared only when their fingerprints match, and :func:`request_measurement`
queues a worker job that re-measures versions on the current set.

Below :data:`HELD_OUT_MINIMUM` labelled held-out candidates a comparison
says little (the 95% interval of an accuracy is about +-10 points at 100):
automatic promotion is refused and the Models page warns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from db import jobs, registry
from db.engine import use_case
from db.galaxies import usable_ids
from db.jobs import JobInfo
from db.snapshot import LabelSnapshot, label_snapshot
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import label_fingerprint
from webapp.services.scoring import StampLoader, load_version_model, mosaic_stamps

__all__ = [
    "HELD_OUT_SHARE",
    "HELD_OUT_MINIMUM",
    "usable_labels",
    "snapshot_fingerprint",
    "held_out_labels",
    "held_out_summary",
    "grow_held_out_set",
    "heldout_metrics",
    "interval_text",
    "measure_on_held_out",
    "request_measurement",
    "evaluate_job_handler",
]

#: Share of the labelled candidates the held-out set is grown to by default.
HELD_OUT_SHARE = 0.10
#: Labelled held-out candidates below which automatic promotion is refused.
HELD_OUT_MINIMUM = 100


def usable_labels(snapshot: LabelSnapshot, session: Session) -> LabelSnapshot:
    """The rows of ``snapshot`` whose candidates have a full stamp (no edge, no missing band)."""
    with use_case(session):
        usable = usable_ids(session, snapshot.candidate_ids)
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


def snapshot_fingerprint(snapshot: LabelSnapshot) -> str:
    """The project's label fingerprint (:func:`starcnet_core.io.stampset.label_fingerprint`) of a snapshot."""
    return label_fingerprint(snapshot.galaxy_names, snapshot.source_ids, snapshot.classes)


def held_out_labels(session: Session) -> LabelSnapshot:
    """The held-out candidates with a full stamp and a consensus class over every label. Reads only."""
    with use_case(session):
        return usable_labels(label_snapshot(session, held_out=True), session)


def held_out_summary(session: Session) -> dict[str, Any]:
    """What the held-out set is now. Reads only.

    Returns
    -------
    dict
        ``n`` (held-out candidates with a consensus class and a full stamp,
        those versions are measured on), ``n_labelled`` (every usable labelled
        candidate, held out or not), ``share`` (``n / n_labelled``),
        ``fingerprint`` (of the held-out truth), ``updated_at`` (the last
        growth, None before the first), ``growth`` (list of
        :class:`db.registry.HeldOutGrowth`), ``minimum`` and ``below_minimum``.
    """
    with use_case(session):
        held = held_out_labels(session)
        labelled = usable_labels(label_snapshot(session, held_out=None), session)
        growth = registry.held_out_growth(session)
    return {
        "n": len(held),
        "n_labelled": len(labelled),
        "share": len(held) / len(labelled) if len(labelled) else 0.0,
        "fingerprint": snapshot_fingerprint(held),
        "updated_at": growth[-1].added_at if growth else None,
        "growth": growth,
        "minimum": HELD_OUT_MINIMUM,
        "below_minimum": len(held) < HELD_OUT_MINIMUM,
    }


def grow_held_out_set(
    session: Session, *, share: float = HELD_OUT_SHARE, at_least: int = 0, seed: int = 0
) -> dict[str, Any]:
    """Grow the held-out set to ``share`` of the labelled candidates (and to ``at_least``), in one transaction.

    Candidates already held out stay; the new ones are drawn from the usable
    labelled candidates outside the set, stratified by (class, galaxy). At
    most half of the labelled candidates are ever held out, so that there is
    always something to train on. Versions measured before a growth must be
    re-measured to be compared with later ones (:func:`request_measurement`).

    Parameters
    ----------
    share : float
        Target share of the labelled candidates, in (0, 0.5].
    at_least : int
        Target size whatever the share (e.g. :data:`HELD_OUT_MINIMUM`).
    seed : int
        Seed of the random choice (offset by the number of earlier growths).

    Returns
    -------
    dict
        ``added`` (how many joined) and the new :func:`held_out_summary`.
    """
    if not 0 < share <= 0.5:
        raise UserInputError(f"the held-out share must be in (0, 0.5], not {share}")
    if at_least < 0:
        raise UserInputError(f"--at-least must be 0 or more, not {at_least}")
    with use_case(session):
        labelled = usable_labels(label_snapshot(session, held_out=None), session)
        held = held_out_labels(session)
        target = min(max(int(round(share * len(labelled))), at_least), len(labelled) // 2)
        added = registry.add_held_out(
            session,
            labelled.candidate_ids,
            labelled.classes,
            labelled.galaxy_ids,
            target - len(held),
            seed=seed + len(registry.held_out_growth(session)),
        )
        return {"added": len(added), **held_out_summary(session)}


def heldout_metrics(
    classes: np.ndarray, scores: np.ndarray, *, fingerprint: str | None = None, n_boot: int = 200
) -> dict[str, Any]:
    """Held-out summary of :func:`starcnet_core.evaluation.evaluate.evaluate` (JSON-ready).

    ``n``; 4-class and binary (1+2 vs 3+4) ``accuracy``/``binary_accuracy``
    with bootstrap 95% intervals (``*_ci95``); the 4-class ``confusion``
    counts (rows: consensus class, columns: predicted), per-class ``recall``,
    the calibration (``ece``, ``reliability``); and ``held_out_fingerprint``,
    the set and truth they were measured on.
    """
    from starcnet_core.evaluation.evaluate import evaluate

    if len(classes) == 0:
        return {"n": 0, "held_out_fingerprint": fingerprint}
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
        "held_out_fingerprint": fingerprint,
    }


def interval_text(metrics: dict[str, Any], key: str) -> str:
    """A held-out figure with its bootstrap 95% interval, e.g. ``"72.0% [63%, 80%]"``; "not measured" without it."""
    if key not in metrics:
        return "not measured"
    low, high = metrics.get(f"{key}_ci95") or (metrics[key], metrics[key])
    return f"{metrics[key]:.1%} [{low:.0%}, {high:.0%}]"


def measure_on_held_out(
    held: LabelSnapshot, models: Sequence[Any], held_stamps: np.ndarray
) -> list[dict[str, Any]]:
    """Held-out metrics of each loaded model (:class:`starcnet_core.nn.checkpoint.LoadedModel`).

    Always in fp32: the figures that decide a promotion must not depend on the machine's fast paths.
    """
    from starcnet_core.nn.predict import predict_stamps

    return [
        heldout_metrics(
            held.classes,
            predict_stamps(model, held_stamps, precision="fp32").scores if len(held) else np.zeros((0, 4)),
            fingerprint=snapshot_fingerprint(held),
        )
        for model in models
    ]


def request_measurement(session: Session, version_ids: Sequence[int]) -> JobInfo:
    """Queue an ``evaluate`` job: measure these versions on the current held-out set."""
    ids = sorted({int(i) for i in version_ids})
    with use_case(session):
        known = registry.existing_version_ids(session, ids)
        unknown = [i for i in ids if i not in known]
        if unknown or not ids:
            raise UserInputError(f"no model version {unknown[0] if unknown else '(none given)'}")
        return jobs.enqueue(session, "evaluate", {"model_version_ids": ids})


def evaluate_job_handler(
    stamps: StampLoader = mosaic_stamps,
) -> Callable[[sessionmaker[Session], Any], dict]:
    """The worker handler of ``evaluate`` jobs (params ``model_version_ids``): re-measure, store."""

    def run_evaluate_job(sessions: sessionmaker[Session], context: Any) -> dict[str, Any]:
        ids = [int(i) for i in context.params["model_version_ids"]]
        with sessions() as session, use_case(session):
            held = held_out_labels(session)
            held_stamps = stamps(session, held.candidate_ids)
            models = [load_version_model(session, i) for i in ids]
        context.progress(0.5, f"measuring {len(ids)} version(s) on {len(held)} held-out candidates")
        measured = measure_on_held_out(held, models, held_stamps)
        with sessions() as session, use_case(session):
            for version_id, metrics in zip(ids, measured, strict=True):
                registry.record_metrics(session, version_id, metrics)
        context.log(f"measured versions {ids} on {len(held)} held-out candidates")
        return {"n_held_out": len(held), "metrics": dict(zip(map(str, ids), measured, strict=True))}

    return run_evaluate_job
