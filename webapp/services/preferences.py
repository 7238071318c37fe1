"""What an expert chose on the review page, kept in the database and restored at sign-in.

:class:`ReviewPreferences` holds the display (stretch, display range, stamp
side, centre marker), blind mode and the queue (galaxy, order, filters); the
page reads it once when an expert signs in (or a reload restores their
session) and writes back what changes. An admin may impose blind mode on
everyone for a labelling campaign (:func:`set_blind_campaign`); the page then
says so and every label records it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db.engine import use_case
from db.models import AppSetting, Expert, utcnow
from db.queue import REVIEW_ORDERS
from starcnet_core.display import STRETCHES, check_percentile
from starcnet_core.errors import UserInputError

__all__ = [
    "MARKERS",
    "STAMP_SIDES",
    "ReviewPreferences",
    "load_preferences",
    "save_preferences",
    "blind_campaign",
    "set_blind_campaign",
]

#: What marks the candidate's position on the stamps: nothing, a crosshair, or the 4 px photometric aperture.
MARKERS: tuple[str, ...] = ("none", "crosshair", "aperture")
#: Stamp sides (pixels) an expert may choose.
STAMP_SIDES: tuple[int, ...] = (32, 48, 64)
_BLIND_CAMPAIGN = "blind_campaign"


@dataclass(frozen=True)
class ReviewPreferences:
    """One expert's review page: display, blind mode and queue.

    ``galaxy`` is a galaxy name (None: the first), ``predicted_class`` 1-4 or
    None (any), ``mag_range`` the V-magnitude window (None: any);
    ``skipped`` the candidates skipped during the sign-in ``skipped_session``
    (a reload restores them, a new sign-in starts afresh).
    """

    stretch: str = "asinh"
    percentiles: tuple[float, float] = (0.25, 99.75)
    stamp_px: int = 48
    marker: str = "crosshair"
    blind: bool = False
    galaxy: str | None = None
    order: str = "smallest_margin"
    predicted_class: int | None = None
    mag_range: tuple[float, float] | None = None
    include_labelled: bool = False
    flagged_only: bool = False
    skipped: tuple[int, ...] = ()
    skipped_session: str = ""


def _checked(values: dict[str, Any]) -> ReviewPreferences:
    """Preferences from stored or submitted values; what is unknown or invalid keeps its default."""
    known = {f.name for f in dataclasses.fields(ReviewPreferences)}
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            continue
        try:
            if name == "stretch" and value in STRETCHES:
                clean[name] = value
            elif name == "percentiles":
                clean[name] = check_percentile(tuple(value))
            elif name == "stamp_px" and int(value) in STAMP_SIDES:
                clean[name] = int(value)
            elif name == "marker" and value in MARKERS:
                clean[name] = value
            elif name == "order" and value in REVIEW_ORDERS:
                clean[name] = value
            elif name == "predicted_class" and (value is None or int(value) in (1, 2, 3, 4)):
                clean[name] = None if value is None else int(value)
            elif name == "mag_range":
                clean[name] = None if value is None else (float(value[0]), float(value[1]))
            elif name == "galaxy" and (value is None or isinstance(value, str)):
                clean[name] = value
            elif name in ("blind", "include_labelled", "flagged_only"):
                clean[name] = bool(value)
            elif name == "skipped":
                clean[name] = tuple(sorted(int(v) for v in value))
            elif name == "skipped_session":
                clean[name] = str(value)
        except (TypeError, ValueError):
            continue
    return ReviewPreferences(**clean)


def load_preferences(session: Session, expert_id: int) -> ReviewPreferences:
    """The expert's stored review preferences (defaults for anything never chosen)."""
    with use_case(session):
        expert = session.get(Expert, expert_id)
    if expert is None:
        raise UserInputError(f"unknown expert {expert_id}")
    return _checked(dict(expert.preferences or {}))


def save_preferences(session: Session, expert_id: int, preferences: ReviewPreferences) -> None:
    """Store the expert's review preferences (one transaction)."""
    with use_case(session):
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise UserInputError(f"unknown expert {expert_id}")
        stored = dataclasses.asdict(_checked(dataclasses.asdict(preferences)))
        expert.preferences = {k: list(v) if isinstance(v, tuple) else v for k, v in stored.items()}


def blind_campaign(session: Session) -> dict[str, Any] | None:
    """The blind campaign an admin imposed (``{"by": name, "since": iso time}``), or None."""
    with use_case(session):
        setting = session.get(AppSetting, _BLIND_CAMPAIGN)
    if setting is None or not setting.value.get("on"):
        return None
    return {"by": setting.changed_by or "an admin", "since": setting.changed_at.isoformat(timespec="minutes")}


def set_blind_campaign(session: Session, expert_id: int, on: bool) -> None:
    """Impose blind mode on every expert (``on``) or lift it; only an admin may."""
    with use_case(session):
        expert = session.get(Expert, expert_id)
        if expert is None or expert.role != "admin":
            raise UserInputError("only an admin may impose or lift a blind campaign")
        setting = session.get(AppSetting, _BLIND_CAMPAIGN)
        if setting is None:
            setting = AppSetting(key=_BLIND_CAMPAIGN)
            session.add(setting)
        setting.value = {"on": bool(on)}
        setting.changed_by = expert.name
        setting.changed_at = utcnow()
