"""Model versions for people: the version table, import, promote, roll back, and the science diff.

Promotion and roll back change which version is active and queue a ``score``
job for it, so the review queue follows the active model once the worker has
scored every candidate. :func:`science_diff` says, before promoting, what the
new model would change in a catalogue's science: class fractions per galaxy,
the colour-colour diagram of the predicted clusters (classes 1 and 2), and
where in the field the predicted classes changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from db import jobs, registry
from db.models import Candidate, Galaxy, Job, ModelVersion, Prediction
from db.predictions import active_model_version
from db.registry import VersionInfo
from starcnet_core.errors import UserInputError
from starcnet_core.groupings import BINARY, GROUPINGS

__all__ = [
    "list_versions",
    "import_model",
    "promote_version",
    "rollback_version",
    "who_trained_and_promoted",
    "science_diff",
]


def list_versions(session: Session) -> list[VersionInfo]:
    """Every model version, newest first, with its held-out metrics and the then-active model's."""
    return registry.list_versions(session)


def import_model(
    session: Session, checkpoint_path: str | Path, name: str, *, activate: bool = False
) -> VersionInfo:
    """Register an existing checkpoint (ours or the published ``starcnet.pth``) as a model version.

    The file must load (:func:`starcnet_core.nn.checkpoint.load_model`); with
    ``activate`` it becomes the active version and a scoring job is queued. Commits.
    """
    from starcnet_core.nn.checkpoint import load_model

    path = Path(checkpoint_path).resolve()
    if not path.is_file():
        raise UserInputError(f"{checkpoint_path}: no such checkpoint")
    load_model(path)
    version = registry.register_version(
        session, name=name, checkpoint_path=path, checkpoint_sha256=registry.file_sha256(path), mode="import"
    )
    if activate:
        registry.promote(session, version.id)
        jobs.enqueue(session, "score", {"model_version_id": version.id, "galaxy_id": None})
    session.commit()
    return registry.get_version(session, version.id)


def _score_all(session: Session, version_id: int, reason: str, by: str | None) -> int:
    """Queue scoring of every candidate with ``version_id``; the job's params say why and for whom."""
    params = {"model_version_id": version_id, "galaxy_id": None, "reason": reason, "requested_by": by}
    return jobs.enqueue(session, "score", params).id


def promote_version(session: Session, version_id: int, *, by: str | None = None) -> dict[str, Any]:
    """Make a version active and queue re-scoring of every candidate with it. Commits.

    ``by`` (the expert's name) is recorded in the params of the re-scoring job.
    Returns ``previous`` (the formerly active id), ``active`` and ``score_job``.
    """
    try:
        previous = registry.promote(session, version_id)
    except KeyError as error:
        raise UserInputError(f"no model version {version_id}") from error
    session.commit()
    return {
        "previous": previous,
        "active": version_id,
        "score_job": _score_all(session, version_id, "promote", by),
    }


def rollback_version(session: Session, *, by: str | None = None) -> dict[str, Any]:
    """Re-activate the previously active version and queue scoring of anything it has not scored. Commits.

    ``by`` (the expert's name) is recorded in the params of the scoring job.
    """
    current = active_model_version(session)
    try:
        restored = registry.rollback(session)
    except LookupError as error:
        raise UserInputError(str(error)) from error
    session.commit()
    return {
        "previous": current.id if current is not None else None,
        "active": restored,
        "score_job": _score_all(session, restored, "rollback", by),
    }


def who_trained_and_promoted(session: Session) -> dict[int, dict[str, str | None]]:
    """Version id -> ``requested_by`` (who started the retrain that made it) and ``promoted_by``
    (who promoted it or rolled back to it last); None where nobody is recorded (command line, imports).
    """
    people: dict[int, dict[str, str | None]] = {}
    for version_id, params in session.execute(
        select(ModelVersion.id, Job.params).join(Job, Job.id == ModelVersion.job_id)
    ):
        people.setdefault(version_id, {"requested_by": None, "promoted_by": None})
        people[version_id]["requested_by"] = (params or {}).get("requested_by")
    for (params,) in session.execute(select(Job.params).where(Job.kind == "score").order_by(Job.id)):
        params = params or {}
        if params.get("reason") in ("promote", "rollback") and params.get("requested_by"):
            entry = people.setdefault(
                int(params["model_version_id"]), {"requested_by": None, "promoted_by": None}
            )
            entry["promoted_by"] = params["requested_by"]
    return people


def _paired_predictions(session: Session, old_id: int, new_id: int, galaxy_id: int | None):
    old, new = aliased(Prediction), aliased(Prediction)
    query = (
        select(
            Candidate.id,
            Galaxy.name,
            Candidate.x,
            Candidate.y,
            Candidate.mag_u,
            Candidate.mag_b,
            Candidate.mag_v,
            Candidate.mag_i,
            old.predicted_class,
            new.predicted_class,
        )
        .join(Galaxy, Galaxy.id == Candidate.galaxy_id)
        .join(old, (old.candidate_id == Candidate.id) & (old.model_version_id == old_id))
        .join(new, (new.candidate_id == Candidate.id) & (new.model_version_id == new_id))
        .order_by(Candidate.id)
    )
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    return session.execute(query).all()


def _colour(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else float(a - b)


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
    if old_id is None:
        active = active_model_version(session)
        if active is None:
            raise UserInputError("no active model version to compare with")
        old_id = active.id
    rows = _paired_predictions(session, old_id, new_id, galaxy_id)
    transitions = np.zeros((4, 4), dtype=np.int64)
    per_galaxy: dict[str, np.ndarray] = {}
    colours: dict[str, dict[str, list]] = {"old": {"u_b": [], "v_i": []}, "new": {"u_b": [], "v_i": []}}
    changed = []
    for cid, galaxy, x, y, mag_u, mag_b, mag_v, mag_i, old_class, new_class in rows:
        transitions[old_class - 1, new_class - 1] += 1
        per_galaxy.setdefault(galaxy, np.zeros((2, 4), dtype=np.int64))[:, :] += np.eye(4, dtype=np.int64)[
            [old_class - 1, new_class - 1]
        ]
        u_b, v_i = _colour(mag_u, mag_b), _colour(mag_v, mag_i)
        for key, cls in (("old", old_class), ("new", new_class)):
            if GROUPINGS[BINARY][cls] == 1 and u_b is not None and v_i is not None:
                colours[key]["u_b"].append(u_b)
                colours[key]["v_i"].append(v_i)
        if old_class != new_class:
            changed.append(
                {
                    "galaxy": galaxy,
                    "candidate_id": cid,
                    "x": x,
                    "y": y,
                    "old_class": old_class,
                    "new_class": new_class,
                }
            )
    fractions = [
        {
            "galaxy": galaxy,
            "n": int(counts[0].sum()),
            "old": (counts[0] / counts[0].sum()).tolist(),
            "new": (counts[1] / counts[1].sum()).tolist(),
        }
        for galaxy, counts in sorted(per_galaxy.items())
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
