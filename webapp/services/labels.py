"""Recording expert labels: one label, an undo, and bulk import from CSV.

Labels are append-only (:class:`db.models.Label`): a new answer supersedes
the expert's previous one and an undo appends a retraction, so the full
history of every decision stays in the database. Each operation is one
transaction that also refreshes the candidate's cached consensus; any
mistake in the input (unknown expert or candidate, a class outside 1-4 /
"unsure", a file the expert already imported) raises :class:`UserInputError` before
anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db.consensus import update_consensus_cache
from db.engine import use_case
from db.experts import answer_counts, expert_by_name, expert_id_by_name, lock_expert
from db.galaxies import candidate_by_source, candidate_index, galaxy_ids_by_name
from db.labels import first_import_of_batch, insert_labels, label_rows, latest_standing_label, lock_candidates
from db.models import EXPERT_ROLES, LABEL_CLASSES, Candidate, Expert, Label, ModelVersion, utcnow
from starcnet_core.errors import UserInputError

__all__ = [
    "LabelRecord",
    "normalise_class",
    "add_expert",
    "set_role",
    "list_experts",
    "get_expert",
    "find_candidate",
    "record_label",
    "undo_label",
    "label_history",
    "import_labels",
    "check_seconds",
    "check_name",
]


@dataclass(frozen=True)
class LabelRecord:
    """One row of a candidate's label history, as shown to people."""

    label_id: int
    expert: str
    label_class: str | None
    retracts_id: int | None
    comment: str
    created_at: str
    seconds_spent: float | None
    shown_model_version_id: int | None
    shown_scores: list[float] | None


def normalise_class(value: object) -> str:
    """``1``-``4`` (int or text) or ``"unsure"`` as stored; anything else is a :class:`UserInputError`."""
    text = str(value).strip().lower()
    if text not in LABEL_CLASSES:
        raise UserInputError(f"class {value!r} is not one of 1, 2, 3, 4 or 'unsure'")
    return text


def check_seconds(value: object) -> float | None:
    """Seconds spent on a label: a finite number >= 0, or None when not given (None or empty text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"seconds {value!r} is not a number") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise UserInputError(f"seconds {value!r} must be a number >= 0")
    return seconds


def check_name(name: str, what: str, max_length: int) -> str:
    """``name`` without surrounding blanks; empty, too long or with control characters is a :class:`UserInputError`."""
    name = name.strip()
    if not name:
        raise UserInputError(f"{what} needs a name")
    if len(name) > max_length:
        raise UserInputError(
            f"{what} name {name[:20]!r}...: at most {max_length} characters, not {len(name)}"
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UserInputError(f"{what} name {name!r}: no control characters (line breaks, tabs)")
    return name


def add_expert(session: Session, name: str, role: str = "expert") -> int:
    """Create an expert; return their id. A name already taken is a :class:`UserInputError`."""
    name = check_name(name, "an expert", Expert.__table__.c.name.type.length)
    if role not in EXPERT_ROLES:
        raise UserInputError(f"role {role!r} is not one of {', '.join(EXPERT_ROLES)}")
    with use_case(session):
        if expert_id_by_name(session, name) is not None:
            raise UserInputError(f"expert {name!r} already exists")
        expert = Expert(name=name, role=role)
        session.add(expert)
        session.flush()
        return expert.id


def set_role(session: Session, name: str, role: str) -> None:
    """Give expert ``name`` the role ``expert`` or ``admin`` (e.g. to let them import server directories)."""
    if role not in ("expert", "admin"):
        raise UserInputError(f"role {role!r} is not one of expert, admin")
    with use_case(session):
        expert = get_expert(session, name)
        if expert.role == "catalog":
            raise UserInputError(f"{name!r} holds catalog labels, not a person: its role stays catalog")
        expert.role = role


def list_experts(session: Session) -> list[dict[str, Any]]:
    """Every expert (and pseudo-expert): name, role, answers given (retractions not counted); by name."""
    with use_case(session):
        rows = answer_counts(session)
    return [{"name": name, "role": role, "n_labels": int(n)} for name, role, n in rows]


def get_expert(session: Session, name: str) -> Expert:
    """The expert called ``name``; :class:`UserInputError` when there is none."""
    with use_case(session):
        expert = expert_by_name(session, name)
    if expert is None:
        raise UserInputError(f"unknown expert {name!r} (add them with `python -m webapp expert add`)")
    return expert


def find_candidate(session: Session, galaxy: str, source_id: int) -> Candidate:
    """Candidate ``source_id`` (catalog id) of galaxy ``galaxy``; :class:`UserInputError` if absent."""
    with use_case(session):
        candidate = candidate_by_source(session, galaxy, source_id)
    if candidate is None:
        raise UserInputError(f"galaxy {galaxy!r} has no candidate with id {source_id}")
    return candidate


def _lock_candidate(session: Session, candidate_id: int) -> None:
    if not lock_candidates(session, [candidate_id]):
        raise UserInputError(f"unknown candidate {candidate_id}")


def _check_expert(session: Session, expert_id: int) -> None:
    if session.get(Expert, expert_id) is None:
        raise UserInputError(f"unknown expert {expert_id}")


def record_label(
    session: Session,
    *,
    candidate_id: int,
    expert_id: int,
    label_class: object,
    comment: str = "",
    seconds_spent: float | None = None,
    shown_model_version_id: int | None = None,
    shown_scores: Sequence[float] | None = None,
    display_settings: dict[str, Any] | None = None,
    flagged: bool = False,
) -> int:
    """Record one answer of one expert; return the new label's id.

    Parameters
    ----------
    session : Session
    candidate_id, expert_id : int
        Database ids.
    label_class : int or str
        1-4 or "unsure".
    comment : str
    seconds_spent : float, optional
        Seconds the expert spent on the candidate.
    shown_model_version_id, shown_scores : optional
        The model version whose scores the expert saw, and those four scores;
        None when the scores were hidden.
    display_settings : dict, optional
        Stretch, bands, zoom... of the review page (JSON-serialisable).
    flagged : bool
        The expert marked the candidate to come back to.
    """
    cls = normalise_class(label_class)
    seconds_spent = check_seconds(seconds_spent)
    with use_case(session):
        _lock_candidate(session, candidate_id)
        _check_expert(session, expert_id)
        if shown_model_version_id is not None and session.get(ModelVersion, shown_model_version_id) is None:
            raise UserInputError(f"unknown model version {shown_model_version_id}")
        if shown_scores is not None and len(shown_scores) != 4:
            raise UserInputError(f"shown scores need 4 values (classes 1-4), not {len(shown_scores)}")
        label = Label(
            candidate_id=candidate_id,
            expert_id=expert_id,
            label_class=cls,
            comment=comment,
            seconds_spent=seconds_spent,
            shown_model_version_id=shown_model_version_id,
            shown_scores=None if shown_scores is None else [float(s) for s in shown_scores],
            display_settings=dict(display_settings or {}),
            flagged=bool(flagged),
        )
        session.add(label)
        session.flush()
        update_consensus_cache(session, [candidate_id])
        return label.id


def undo_label(session: Session, *, candidate_id: int, expert_id: int) -> int:
    """Retract the expert's latest standing answer on the candidate; return the retraction's id.

    The expert's previous answer (if any) counts again. Nothing to undo is a
    :class:`UserInputError`.
    """
    with use_case(session):
        _lock_candidate(session, candidate_id)
        _check_expert(session, expert_id)
        latest = latest_standing_label(session, candidate_id, expert_id)
        if latest is None:
            raise UserInputError(f"expert {expert_id} has no label to undo on candidate {candidate_id}")
        undo = Label(candidate_id=candidate_id, expert_id=expert_id, label_class=None, retracts_id=latest)
        session.add(undo)
        session.flush()
        update_consensus_cache(session, [candidate_id])
        return undo.id


def label_history(session: Session, candidate_id: int) -> list[LabelRecord]:
    """Every label row of a candidate, oldest first (answers and retractions)."""
    with use_case(session):
        rows = label_rows(session, candidate_id)
    return [
        LabelRecord(
            label_id=label.id,
            expert=name,
            label_class=label.label_class,
            retracts_id=label.retracts_id,
            comment=label.comment,
            created_at=label.created_at.isoformat(),
            seconds_spent=label.seconds_spent,
            shown_model_version_id=label.shown_model_version_id,
            shown_scores=label.shown_scores,
        )
        for label, name in rows
    ]


def import_labels(session: Session, path: str | Path, *, expert: str) -> int:
    """Import one expert's labels from a CSV file; return how many were recorded.

    The file has a header with the columns ``galaxy``, ``id`` (catalog source
    id) and ``class`` (1-4 or "unsure"), and optionally ``comment`` and
    ``seconds``. Every row is checked before anything is written. A file is
    a repeat when the same expert already imported the same content (the
    sha256 of its bytes): that is refused, naming the date of the earlier
    import. The same content from another expert is that expert's own work
    and is imported.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    content = path.read_bytes()
    batch = hashlib.sha256(content).hexdigest()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserInputError(
            f"{path}: not UTF-8 text (byte {error.start} is {content[error.start]:#04x}); save it as UTF-8"
        ) from None
    rows = list(csv.DictReader(text.splitlines()))
    missing = {"galaxy", "id", "class"} - set(rows[0] if rows else {})
    if not rows or missing:
        raise UserInputError(
            f"{path}: needs a header with columns galaxy, id, class (missing {sorted(missing)})"
        )
    with use_case(session):
        expert_id = get_expert(session, expert).id
        # The expert's row lock makes two imports of one expert take turns, so
        # that the repeat check below sees the other's committed labels.
        lock_expert(session, expert_id)
        earlier = first_import_of_batch(session, expert_id, batch)
        if earlier is not None:
            raise UserInputError(
                f"{path}: this file was already imported for expert {expert!r} "
                f"on {earlier:%Y-%m-%d %H:%M} UTC"
            )
        galaxies = galaxy_ids_by_name(session)
        wanted = {row["galaxy"].strip() for row in rows}
        unknown = sorted(wanted - set(galaxies))
        if unknown:
            raise UserInputError(f"{path}: unknown galaxy {unknown[0]!r}")
        index = candidate_index(session, [galaxies[name] for name in wanted])
        now = utcnow()
        records = [
            _import_row(path, line, row, galaxies, index, expert_id, batch, now)
            for line, row in enumerate(rows, 2)
        ]
        touched = [r["candidate_id"] for r in records]
        lock_candidates(session, touched)
        insert_labels(session, records)
        update_consensus_cache(session, touched)
    return len(records)


def _import_row(path, line, row, galaxies, index, expert_id, batch, now) -> dict[str, Any]:  # noqa: ANN001
    where = f"{path}:{line}"
    for column in ("galaxy", "id", "class"):
        if row.get(column) is None or not str(row[column]).strip():
            raise UserInputError(f"{where}: no {column}")
    try:
        source_id = int(str(row["id"]).strip())
    except ValueError:
        raise UserInputError(f"{where}: id {row['id']!r} is not an integer") from None
    candidate_id = index.get((galaxies[row["galaxy"].strip()], source_id))
    if candidate_id is None:
        raise UserInputError(f"{where}: galaxy {row['galaxy']!r} has no candidate with id {source_id}")
    try:
        cls = normalise_class(row["class"])
        seconds = check_seconds(row.get("seconds"))
    except UserInputError as error:
        raise UserInputError(f"{where}: {error}") from None
    return {
        "candidate_id": candidate_id,
        "expert_id": expert_id,
        "label_class": cls,
        "comment": row.get("comment") or "",
        "seconds_spent": seconds,
        "display_settings": {},
        "import_batch": batch,
        "created_at": now,
    }
