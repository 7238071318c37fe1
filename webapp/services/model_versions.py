"""Model versions for people: the version table, import, promote, roll back, and the science diff.

Promotion and roll back change which version is active and queue a ``score``
job for it, so the review queue follows the active model once the worker has
scored every candidate. Promotion has a brake (:func:`promotion_review`): it
is refused, with the reason, when the held-out set is below its minimum, when
the two versions were not measured on the same held-out set, or when the new
version is clearly worse; an admin may force it. :func:`science_diff` says, before promoting, what the
new model would change in a catalogue's science: class fractions per galaxy,
the colour-colour diagram of the predicted clusters (classes 1 and 2), and
where in the field the predicted classes changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix
from sqlalchemy.orm import Session

from db import jobs, registry
from db.engine import use_case
from db.models import ModelVersion
from db.predictions import active_model_version
from db.registry import VersionInfo
from db.scoring import paired_predictions, precision_counts, scored_per_galaxy, usable_per_galaxy
from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.evaluate import CLASSES
from starcnet_core.groupings import BINARY, group_labels
from starcnet_core.scores import scored_with_counts
from webapp.services.galaxies import STAMP_SIZE
from webapp.services.held_out import HELD_OUT_MINIMUM, held_out_summary
from webapp.services.labels import check_name, get_expert

__all__ = [
    "list_versions",
    "import_model",
    "check_scorable",
    "held_out_comparison",
    "promotion_review",
    "promote_version",
    "can_roll_back",
    "rollback_version",
    "who_trained_and_promoted",
    "scoring_status",
    "precision_text",
    "score_now",
    "science_diff",
]


def list_versions(session: Session) -> list[VersionInfo]:
    """Every model version, newest first, with its held-out metrics and the then-active model's."""
    with use_case(session):
        return registry.list_versions(session)


def import_model(
    session: Session, checkpoint_path: str | Path, name: str, *, activate: bool = False
) -> VersionInfo:
    """Register an existing checkpoint (ours or the published ``starcnet.pth``) as a model version.

    The file must load (:func:`starcnet_core.nn.checkpoint.load_model`); with
    ``activate`` it becomes the active version and a scoring job is queued, in one transaction.
    """
    from starcnet_core.nn.checkpoint import load_model

    path = Path(checkpoint_path).resolve()
    if not path.is_file():
        raise UserInputError(f"{checkpoint_path}: no such checkpoint")
    name = check_name(name, "a model version", ModelVersion.__table__.c.name.type.length)
    check_scorable(load_model(path), checkpoint_path)
    with use_case(session):
        if registry.version_id_by_name(session, name) is not None:
            raise UserInputError(f"model version name {name!r} is taken; choose another with --name")
        version = registry.register_version(
            session,
            name=name,
            checkpoint_path=path,
            checkpoint_sha256=registry.file_sha256(path),
            mode="import",
        )
        if activate:
            registry.promote(session, version.id)
            jobs.enqueue(session, "score", {"model_version_id": version.id, "galaxy_id": None})
        return registry.get_version(session, version.id)


def check_scorable(loaded: Any, source: str | Path) -> None:
    """Refuse a model the app cannot score its candidates with: other bands, stamp size or classes.

    The app cuts :data:`~webapp.services.galaxies.STAMP_SIZE`-pixel stamps in
    the five LEGUS bands and stores four class scores per candidate; a model
    built for anything else would be registered, then fail in every scoring job.
    """
    from starcnet_core.io.bands import BANDS

    config = loaded.config
    if config.n_bands != len(BANDS) or tuple(loaded.bands) != tuple(BANDS):
        raise UserInputError(
            f"{source}: reads {config.n_bands} bands ({', '.join(loaded.bands)}); the app's candidates "
            f"have {len(BANDS)} ({', '.join(BANDS)})"
        )
    if config.stamp_size != STAMP_SIZE:
        raise UserInputError(
            f"{source}: reads {config.stamp_size} x {config.stamp_size} px stamps; the app cuts "
            f"{STAMP_SIZE} x {STAMP_SIZE}"
        )
    if config.n_classes != 4:
        raise UserInputError(
            f"{source}: gives {config.n_classes} classes; the app stores scores for the 4 LEGUS classes"
        )


def _score_all(session: Session, version_id: int, reason: str, by: str | None) -> int:
    """Queue scoring of every candidate with ``version_id``; the job's params say why and for whom."""
    params = {"model_version_id": version_id, "galaxy_id": None, "reason": reason, "requested_by": by}
    return jobs.enqueue(session, "score", params).id


def held_out_comparison(session: Session, version_id: int) -> dict[str, Any]:
    """A version's and the active version's held-out metrics, and whether they are on the current set.

    The active version's figures are the ones measured by the retrain that
    made ``version_id`` (its ``baseline_metrics``) when that retrain compared
    with the version active now, else the active version's own metrics.
    Reads only.

    Returns
    -------
    dict
        ``new`` and ``active`` (metrics dicts, empty when missing),
        ``active_id`` (None without an active version), ``held_out`` (the
        :func:`webapp.services.held_out.held_out_summary`), ``new_current``
        and ``active_current`` (measured on the held-out set as it is now).
    """
    with use_case(session):
        version = _version(session, version_id)
        active = active_model_version(session)
        summary = held_out_summary(session)
    current = summary["fingerprint"]
    old: dict[str, Any] = {}
    if active is not None and active.id != version_id:
        baseline = version.baseline_metrics
        if baseline.get("model_version_id") == active.id and baseline.get("held_out_fingerprint") == current:
            old = baseline
        else:
            old = dict(active.metrics or {})
    return {
        "new": version.metrics,
        "active": old,
        "active_id": None if active is None else active.id,
        "held_out": summary,
        "new_current": version.metrics.get("held_out_fingerprint") == current,
        "active_current": old.get("held_out_fingerprint") == current,
    }


def _version(session: Session, version_id: int) -> VersionInfo:
    try:
        return registry.get_version(session, version_id)
    except KeyError as error:
        raise UserInputError(f"no model version {version_id}") from error


def _clearly_worse(new: dict[str, Any], old: dict[str, Any]) -> str | None:
    """Why ``new`` is clearly worse than ``old``: the top of its 95% interval below ``old``'s figure."""
    for key, what in (("accuracy", "4-class accuracy"), ("binary_accuracy", "binary accuracy")):
        if key in new and key in old:
            low, high = new.get(f"{key}_ci95", (new[key], new[key]))
            if high < old[key]:
                return (
                    f"its held-out {what} {new[key]:.1%} [{low:.0%}, {high:.0%}] is clearly below "
                    f"the active model's {old[key]:.1%}"
                )
    return None


def promotion_review(session: Session, version_id: int) -> dict[str, Any]:
    """What promoting ``version_id`` would do, and why it would be refused. Reads only.

    Returns
    -------
    dict
        The :func:`held_out_comparison`, plus ``n_compared`` and ``n_changed``
        (candidates scored by both versions, and those whose class changes)
        and ``refusals``: the reasons a promotion is refused without an
        admin's force (empty when it may go ahead).
    """
    with use_case(session):
        return _promotion_review(session, version_id)


def _promotion_review(session: Session, version_id: int) -> dict[str, Any]:
    comparison = held_out_comparison(session, version_id)
    n_compared = n_changed = 0
    refusals: list[str] = []
    active_id = comparison["active_id"]
    # promoting the active version again only re-scores with it: nothing to compare
    if active_id is not None and active_id != version_id:
        diff = science_diff(session, version_id, active_id)
        n_compared, n_changed = diff["n_compared"], len(diff["changed"])
        held = comparison["held_out"]
        if held["below_minimum"]:
            refusals.append(
                f"the held-out set has {held['n']} labelled candidates, fewer than the {HELD_OUT_MINIMUM} "
                "a promotion needs (grow it on the Models page or with `python -m webapp held-out grow`)"
            )
        if not (comparison["new_current"] and comparison["active_current"]):
            refusals.append(
                "the two versions were not both measured on the current held-out set (re-measure them first)"
            )
        else:
            worse = _clearly_worse(comparison["new"], comparison["active"])
            if worse:
                refusals.append(worse)
    return {**comparison, "n_compared": n_compared, "n_changed": n_changed, "refusals": refusals}


def promote_version(
    session: Session, version_id: int, *, by: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Make a version active and queue re-scoring of every candidate with it, in one transaction.

    Refused for the reasons of :func:`promotion_review` unless ``force``,
    which only an admin (``by``) may use. ``by`` (the expert's name) is
    recorded in the params of the re-scoring job. Returns ``previous`` (the
    formerly active id), ``active``, ``score_job`` and ``forced`` (the
    reasons overridden).
    """
    with use_case(session):
        refusals = promotion_review(session, version_id)["refusals"]
        if refusals and not force:
            raise UserInputError(f"version {version_id} not promoted: {'; '.join(refusals)}")
        if refusals and (by is None or get_expert(session, by).role != "admin"):
            raise UserInputError(
                f"only an admin may force the promotion of version {version_id}: {refusals[0]}"
            )
        previous = registry.promote(session, version_id)
        return {
            "previous": previous,
            "active": version_id,
            "score_job": _score_all(session, version_id, "promote", by),
            "forced": refusals,
        }


def can_roll_back(session: Session) -> bool:
    """Whether an earlier active version exists to roll back to. Reads only."""
    with use_case(session):
        return registry.rollback_target(session) is not None


def rollback_version(session: Session, *, by: str | None = None) -> dict[str, Any]:
    """Re-activate the previously active version and queue scoring of anything it has not scored, in one transaction.

    ``by`` (the expert's name) is recorded in the params of the scoring job.
    """
    with use_case(session):
        current = active_model_version(session)
        try:
            restored = registry.rollback(session)
        except LookupError as error:
            raise UserInputError(str(error)) from error
        return {
            "previous": current.id if current is not None else None,
            "active": restored,
            "score_job": _score_all(session, restored, "rollback", by),
        }


def scoring_status(session: Session) -> dict[str, Any]:
    """How far the active version has scored each galaxy, and the score jobs queued or running. Reads only.

    Returns
    -------
    dict
        ``active_id`` (None without an active version); ``galaxies``: galaxy
        id -> ``{"n_usable", "n_scored"}``; ``jobs``: the pending score jobs
        (:class:`db.jobs.JobInfo`), oldest first; ``precisions``: the active
        version's ``(precision, engine, predictions)``, most first
        (:func:`db.scoring.precision_counts`).
    """
    with use_case(session):
        active = active_model_version(session)
        usable = usable_per_galaxy(session)
        scored = scored_per_galaxy(session, active.id) if active is not None else {}
        return {
            "active_id": None if active is None else active.id,
            "galaxies": {
                g: {"n_usable": int(n), "n_scored": int(scored.get(g, 0))} for g, n in usable.items()
            },
            "jobs": jobs.active_jobs(session, frozenset({"score"})),
            "precisions": precision_counts(session, active.id) if active is not None else [],
        }


def precision_text(precisions: list[tuple[str | None, str | None, int]]) -> str:
    """One line of how many predictions each precision and engine computed ("" when none).

    ``precisions`` as :func:`scoring_status` gives them; predictions that do not
    say (imported files, or stored before they were recorded) are counted as such.
    """
    return "Computed in: " + scored_with_counts(precisions, " · ") if precisions else ""


def score_now(session: Session, *, galaxy_id: int | None = None, by: str | None = None) -> int:
    """Queue scoring of a galaxy (or every galaxy) with the active version; returns the job id."""
    with use_case(session):
        active = active_model_version(session)
        if active is None:
            raise UserInputError("there is no active model version to score with")
        params = {
            "model_version_id": active.id,
            "galaxy_id": galaxy_id,
            "reason": "score now",
            "requested_by": by,
        }
        return jobs.enqueue(session, "score", params).id


def who_trained_and_promoted(session: Session) -> dict[int, dict[str, str | None]]:
    """Version id -> ``requested_by`` (who started the retrain that made it) and ``promoted_by``
    (who promoted it or rolled back to it last); None where nobody is recorded (command line, imports).
    """
    people: dict[int, dict[str, str | None]] = {}
    with use_case(session):
        trained, scored = registry.trainers(session), registry.score_job_params(session)
    for version_id, params in trained:
        people.setdefault(version_id, {"requested_by": None, "promoted_by": None})
        people[version_id]["requested_by"] = (params or {}).get("requested_by")
    for params in scored:
        if params.get("reason") in ("promote", "rollback") and params.get("requested_by"):
            entry = people.setdefault(
                int(params["model_version_id"]), {"requested_by": None, "promoted_by": None}
            )
            entry["promoted_by"] = params["requested_by"]
    return people


def science_diff(
    session: Session, new_id: int, old_id: int | None = None, *, galaxy_id: int | None = None
) -> dict[str, Any]:
    """What switching from ``old_id`` (default: the active version) to ``new_id`` changes.

    Only candidates scored by both versions are compared (queue a ``score``
    job for the new version first; the retrain job does so itself).

    Returns
    -------
    dict
        ``n_compared``; ``class_fractions``: per galaxy, the fraction of
        candidates in classes 1-4 under ``old`` and ``new``; ``transitions``:
        4x4 counts (row old class, column new class); ``colour_colour``: for
        ``old`` and ``new``, the U-B and V-I colours (mag) of the candidates
        predicted as clusters (class 1 or 2); ``changed``: galaxy, candidate
        id, x, y (1-based pixels), old and new class of every candidate whose
        class changed.
    """
    with use_case(session):
        if old_id is None:
            active = active_model_version(session)
            if active is None:
                raise UserInputError("no active model version to compare with")
            old_id = active.id
        rows = paired_predictions(session, old_id, new_id, galaxy_id)
    ids, galaxies, xs, ys, mag_u, mag_b, mag_v, mag_i, old_class, new_class = (
        list(column) for column in (zip(*rows, strict=True) if rows else [()] * 10)
    )
    old_class = np.asarray(old_class, dtype=np.int64)
    new_class = np.asarray(new_class, dtype=np.int64)
    transitions = (
        confusion_matrix(old_class, new_class, labels=CLASSES)
        if rows
        else np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)  # scikit-learn refuses no samples
    )
    galaxies = np.asarray(galaxies, dtype=object)
    fractions = []
    for galaxy in sorted(set(galaxies)):
        here = galaxies == galaxy
        counts = [np.bincount(classes[here] - 1, minlength=4) for classes in (old_class, new_class)]
        fractions.append(
            {
                "galaxy": galaxy,
                "n": int(here.sum()),
                "old": (counts[0] / counts[0].sum()).tolist(),
                "new": (counts[1] / counts[1].sum()).tolist(),
            }
        )
    # None (no photometry) becomes NaN, and a colour with a NaN is left out
    u_b = np.asarray(mag_u, dtype=float) - np.asarray(mag_b, dtype=float)
    v_i = np.asarray(mag_v, dtype=float) - np.asarray(mag_i, dtype=float)
    measured = np.isfinite(u_b) & np.isfinite(v_i)
    colours = {}
    for key, classes in (("old", old_class), ("new", new_class)):
        clusters = measured & (group_labels(classes, BINARY) == 1)
        colours[key] = {"u_b": u_b[clusters].tolist(), "v_i": v_i[clusters].tolist()}
    changed = [
        {
            "galaxy": galaxies[k],
            "candidate_id": ids[k],
            "x": xs[k],
            "y": ys[k],
            "old_class": int(old_class[k]),
            "new_class": int(new_class[k]),
        }
        for k in np.flatnonzero(old_class != new_class)
    ]
    return {
        "old_version": old_id,
        "new_version": new_id,
        "n_compared": len(rows),
        "class_fractions": fractions,
        "transitions": transitions.tolist(),
        "colour_colour": colours,
        "changed": changed,
    }
