"""The review of one candidate: what an expert sees, and what their answer records.

:func:`build_candidate_view` gathers everything the review page shows for a
candidate (images in the paper's colours, the five bands, the V band for
contours and the 3D view, the three magnified views the network reads, the
active model's scores, the catalog photometry and the other experts' labels)
as plain arrays and dicts; the page only draws them. :func:`submit_label`
records an answer with the display settings in use and what the expert was
shown (so that blind labels can be told apart from model-assisted ones);
:func:`undo_last_label` retracts the expert's latest answer;
:func:`next_candidates` and :func:`session_progress` drive the queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from db.consensus import effective_labels, tally
from db.models import Candidate, Expert, Galaxy, Label, Prediction, utcnow
from db.predictions import active_model_version
from db.queue import review_queue
from starcnet_core.display import check_percentile, grey_stamps, rgb_composite
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.cutouts import extract_stamps
from starcnet_core.nn.model import StarcNetConfig
from webapp.services.labels import record_label, undo_label

__all__ = [
    "NETWORK_VIEWS",
    "DEFAULT_PERCENTILES",
    "CandidateView",
    "build_candidate_view",
    "network_views",
    "labels_and_consensus",
    "class_examples",
    "submit_label",
    "undo_last_label",
    "next_candidates",
    "session_progress",
    "field_candidates",
    "candidate_for_source",
    "predicted_counts",
]

#: Names of the three views of a stamp the network reads (paper §3.1).
NETWORK_VIEWS: tuple[str, ...] = ("32 px (1x)", "20 px (1.6x)", "11 px (3.2x)")
#: Side of the stamp StarcNet classifies (pixels).
_NETWORK_SIZE = 32
#: Display range of the stamps: the (lower, upper) percentiles of their pixels mapped to black and white.
DEFAULT_PERCENTILES: tuple[float, float] = (0.25, 99.75)


@dataclass(frozen=True)
class CandidateView:
    """Everything the review page shows for one candidate.

    Images are uint8 arrays ready for display; ``v_band`` is in e-/s.
    ``percentiles`` is the display range the images were made with (lower and
    upper percentiles of the stamp's pixels; not used by zscale).
    ``scores`` and ``predicted_class`` are None when the expert works blind
    or the active model has not scored the candidate; ``labels`` (expert name
    -> "1"-"4"/"unsure") and ``consensus`` are None while hidden.
    """

    candidate_id: int
    galaxy: str
    source_id: int
    x: float
    y: float
    stretch: str
    context_size: int
    rgb: np.ndarray
    bands: np.ndarray
    v_band: np.ndarray
    network_rgb: list[np.ndarray]
    model_version_id: int | None
    scores: tuple[float, float, float, float] | None
    predicted_class: int | None
    photometry: dict[str, float | None]
    my_label: str | None
    labels: dict[str, str] | None
    consensus: dict[str, Any] | None
    properties: dict[str, Any] = field(default_factory=dict)
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES


def network_views(stamp: np.ndarray, config: StarcNetConfig | None = None) -> list[np.ndarray]:
    """The stamp and its two central crops enlarged to the full side, as the network's pathways see them.

    The numpy twin of :meth:`starcnet_core.nn.model.StarcNet.pathway_inputs`
    (nearest-neighbour enlargement of the crops of ``config.crops``).

    Parameters
    ----------
    stamp : ndarray
        ``(B, S, S)`` in e-/s.
    config : StarcNetConfig, optional
        Where the crops are; default the paper's.

    Returns
    -------
    list of ndarray
        Three ``(B, S, S)`` arrays.
    """
    config = config or StarcNetConfig()
    size = stamp.shape[-1]
    views = [stamp]
    for start, stop in config.crops:
        # F.interpolate(mode="nearest") takes source index floor(i * in / out).
        source = start + (np.arange(size) * (stop - start)) // size
        views.append(stamp[:, source][:, :, source])
    return views


def _stamp(arrays: list[np.ndarray], x: float, y: float, size: int) -> np.ndarray | None:
    cut = extract_stamps(arrays, np.array([x]), np.array([y]), size=size)
    return cut.stamps[0] if cut.usable[0] else None


def labels_and_consensus(session: Session, candidate_id: int) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Every expert's standing label on a candidate (name -> "1"-"4"/"unsure") and its consensus summary."""
    labels = effective_labels(session, candidate_ids=[candidate_id])
    names = dict(session.execute(select(Expert.id, Expert.name)).all())
    by_name = {
        names[int(e)]: ("unsure" if c == 0 else str(int(c)))
        for e, c in zip(labels.expert_id, labels.label_class, strict=True)
    }
    summary = tally(labels).as_dict().get(candidate_id)
    return by_name, summary


def build_candidate_view(
    session: Session,
    candidate_id: int,
    arrays: list[np.ndarray],
    *,
    expert_id: int | None = None,
    stretch: str = "asinh",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    blind: bool = True,
    context_size: int = 48,
) -> CandidateView:
    """Gather what the review page shows for one candidate.

    Parameters
    ----------
    session : Session
    candidate_id : int
        Database id of the candidate.
    arrays : list of ndarray
        The galaxy's five mosaics in e-/s, in :data:`starcnet_core.io.bands.BANDS` order
        (memory-mapped; the caller keeps them open between candidates).
    expert_id : int, optional
        Who is looking: their own answer is returned, and in blind mode the
        others' labels only once they have answered.
    stretch : str
        One of :data:`starcnet_core.display.STRETCHES`.
    percentiles : (float, float)
        Lower and upper percentiles of each image's pixels shown as black and
        white (the composite's three channels share one range; each band has its own).
    blind : bool
        Hide the model's scores, and the others' labels until the expert has answered.
    context_size : int
        Side (pixels) of the composite and single-band stamps shown to the expert;
        falls back to the network's 32 near the mosaic edge.

    Returns
    -------
    CandidateView
    """
    try:
        percentiles = check_percentile(tuple(percentiles))
    except ValueError as error:
        raise UserInputError(str(error)) from error
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise UserInputError(f"unknown candidate {candidate_id}")
    galaxy = session.get(Galaxy, candidate.galaxy_id)
    stamp = _stamp(arrays, candidate.x, candidate.y, _NETWORK_SIZE)
    if stamp is None:
        raise UserInputError(
            f"candidate {candidate.source_id} of {galaxy.name} has no full stamp in the mosaics"
        )
    context = _stamp(arrays, candidate.x, candidate.y, context_size) if context_size > _NETWORK_SIZE else None
    shown = context if context is not None else stamp
    labels, summary = labels_and_consensus(session, candidate_id)
    me = session.get(Expert, expert_id) if expert_id is not None else None
    my_label = labels.pop(me.name, None) if me is not None else None
    reveal = not blind or my_label is not None
    version = active_model_version(session)
    prediction = None
    if version is not None and not blind:
        prediction = session.scalars(
            select(Prediction).where(
                Prediction.candidate_id == candidate_id, Prediction.model_version_id == version.id
            )
        ).one_or_none()
    return CandidateView(
        candidate_id=candidate_id,
        galaxy=galaxy.name,
        source_id=candidate.source_id,
        x=candidate.x,
        y=candidate.y,
        stretch=stretch,
        context_size=shown.shape[-1],
        rgb=rgb_composite(shown, stretch, percentile=percentiles),
        bands=grey_stamps(shown, stretch, percentile=percentiles),
        v_band=stamp[BANDS.index("V")],
        network_rgb=[rgb_composite(view, stretch, percentile=percentiles) for view in network_views(stamp)],
        model_version_id=version.id if version is not None else None,
        scores=(prediction.p1, prediction.p2, prediction.p3, prediction.p4) if prediction else None,
        predicted_class=prediction.predicted_class if prediction else None,
        photometry={
            **{f"m_{band}": getattr(candidate, f"mag_{band.lower()}") for band in BANDS},
            "CI": candidate.ci,
        },
        my_label=my_label,
        labels=labels if reveal else None,
        consensus=summary if reveal else None,
        properties=dict(candidate.properties or {}),
        percentiles=percentiles,
    )


def class_examples(
    session: Session,
    galaxy_id: int,
    arrays: list[np.ndarray],
    *,
    stretch: str = "asinh",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    per_class: int = 3,
) -> dict[int, list[np.ndarray]]:
    """RGB stamps of candidates the experts agree on, per class 1-4 (the most votes first).

    Parameters
    ----------
    session : Session
    galaxy_id : int
    arrays : list of ndarray
        The galaxy's five mosaics (e-/s) in band order.
    stretch : str
        One of :data:`starcnet_core.display.STRETCHES`.
    percentiles : (float, float)
        Display range, as in :func:`build_candidate_view`.
    per_class : int
        Examples per class.

    Returns
    -------
    dict
        class -> list of ``(32, 32, 3)`` uint8 images (empty lists for classes nobody labelled).
    """
    examples: dict[int, list[np.ndarray]] = {}
    for k in range(1, 5):
        rows = session.execute(
            select(Candidate.x, Candidate.y)
            .where(
                Candidate.galaxy_id == galaxy_id, Candidate.usable.is_(True), Candidate.consensus_class == k
            )
            .order_by(Candidate.n_votes.desc(), Candidate.id)
            .limit(per_class)
        ).all()
        if not rows:
            examples[k] = []
            continue
        x, y = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
        stamps = extract_stamps(arrays, x, y, size=_NETWORK_SIZE).stamps
        examples[k] = [rgb_composite(stamp, stretch, percentile=percentiles) for stamp in stamps]
    return examples


def submit_label(
    session: Session,
    view: CandidateView,
    *,
    expert_id: int,
    label_class: object,
    comment: str = "",
    seconds_spent: float | None = None,
    blind: bool = True,
) -> int:
    """Record an expert's answer on the candidate of ``view``; return the label id.

    The display settings (stretch, display range as lower and upper
    percentiles, stamp side, blind mode) are stored with
    the label, and — unless the expert worked blind — the model version and
    scores they were shown.
    """
    shown = view.scores is not None and not blind
    return record_label(
        session,
        candidate_id=view.candidate_id,
        expert_id=expert_id,
        label_class=label_class,
        comment=comment,
        seconds_spent=seconds_spent,
        shown_model_version_id=view.model_version_id if shown else None,
        shown_scores=list(view.scores) if shown else None,
        display_settings={
            "stretch": view.stretch,
            "percentiles": list(view.percentiles),
            "stamp_px": view.context_size,
            "blind": blind,
        },
    )


def undo_last_label(session: Session, expert_id: int) -> int:
    """Retract the expert's most recent standing answer (any candidate); return that candidate's id."""
    retraction = aliased(Label)
    candidate_id = session.scalar(
        select(Label.candidate_id)
        .where(
            Label.expert_id == expert_id,
            Label.label_class.is_not(None),
            ~exists().where(retraction.retracts_id == Label.id),
        )
        .order_by(Label.id.desc())
        .limit(1)
    )
    session.rollback()  # end the read before the write transaction starts
    if candidate_id is None:
        raise UserInputError("nothing to undo: you have no label standing")
    undo_label(session, candidate_id=candidate_id, expert_id=expert_id)
    return int(candidate_id)


def next_candidates(
    session: Session,
    *,
    expert_id: int,
    order: str = "smallest_margin",
    galaxy_id: int | None = None,
    predicted_class: int | None = None,
    mag_v_range: tuple[float | None, float | None] | None = None,
    include_labelled: bool = False,
    skipped: Collection[int] = (),
    limit: int = 20,
) -> list[int]:
    """Ids of the next candidates for the expert, in queue order, leaving out those skipped.

    Orders that need scores fall back to ``fewest_votes`` when no model is active.
    """
    if active_model_version(session) is None and order not in ("fewest_votes", "random"):
        order = "fewest_votes"
    ids: list[int] = []
    after = None
    while len(ids) < limit:
        page = review_queue(
            session,
            order=order,
            galaxy_id=galaxy_id,
            predicted_class=predicted_class,
            mag_v_range=mag_v_range,
            expert_id=expert_id,
            labelled_by_expert=None if include_labelled else False,
            limit=limit + len(skipped),
            after=after,
        )
        ids.extend(item.candidate_id for item in page.items if item.candidate_id not in skipped)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    return ids[:limit]


def session_progress(session: Session, expert_id: int, galaxy_id: int | None = None) -> dict[str, int]:
    """The expert's answers since midnight UTC (all galaxies) and usable candidates they have not labelled.

    Returns
    -------
    dict
        ``labelled_today`` (candidates answered today, answers undone since left out),
        ``labelled_total``, ``remaining`` (in ``galaxy_id`` when given).
    """
    midnight = dt.datetime.combine(utcnow().date(), dt.time())
    retraction = aliased(Label)
    answers = select(func.count(func.distinct(Label.candidate_id))).where(
        Label.expert_id == expert_id,
        Label.label_class.is_not(None),
        ~exists().where(retraction.retracts_id == Label.id),
    )
    mine = effective_labels(session, expert_ids=[expert_id], galaxy_id=galaxy_id)
    usable = select(func.count(Candidate.id)).where(Candidate.usable.is_(True))
    if galaxy_id is not None:
        usable = usable.where(Candidate.galaxy_id == galaxy_id)
    labelled_usable = 0
    if len(mine.candidate_id):
        labelled_usable = session.scalar(
            select(func.count(Candidate.id)).where(
                Candidate.usable.is_(True), Candidate.id.in_(mine.candidate_id.tolist())
            )
        )
    return {
        "labelled_today": int(session.scalar(answers.where(Label.created_at >= midnight))),
        "labelled_total": len(mine.candidate_id),
        "remaining": int(session.scalar(usable)) - int(labelled_usable),
    }


def field_candidates(session: Session, galaxy_id: int) -> dict[str, np.ndarray]:
    """Every candidate of a galaxy with the active model's class and confidence, as arrays.

    Returns
    -------
    dict
        ``candidate_id``, ``source_id``, ``x``, ``y`` (1-based pixels), ``usable``,
        ``predicted_class`` (0 when not scored), ``confidence`` (NaN when not scored).
    """
    version = active_model_version(session)
    version_id = version.id if version is not None else -1
    rows = session.execute(
        select(
            Candidate.id,
            Candidate.source_id,
            Candidate.x,
            Candidate.y,
            Candidate.usable,
            Prediction.predicted_class,
            Prediction.confidence,
        )
        .outerjoin(
            Prediction,
            (Prediction.candidate_id == Candidate.id) & (Prediction.model_version_id == version_id),
        )
        .where(Candidate.galaxy_id == galaxy_id)
        .order_by(Candidate.source_id)
    ).all()
    columns = list(zip(*rows, strict=True)) or [()] * 7
    return {
        "candidate_id": np.array(columns[0], dtype=np.int64),
        "source_id": np.array(columns[1], dtype=np.int64),
        "x": np.array(columns[2], dtype=float),
        "y": np.array(columns[3], dtype=float),
        "usable": np.array(columns[4], dtype=bool),
        "predicted_class": np.array([c or 0 for c in columns[5]], dtype=np.int64),
        "confidence": np.array([np.nan if c is None else c for c in columns[6]], dtype=float),
    }


def candidate_for_source(table: dict[str, np.ndarray], source_id: int, galaxy: str = "this galaxy") -> int:
    """The database id of the candidate with catalog id ``source_id`` in a :func:`field_candidates` table.

    Raises
    ------
    UserInputError
        No such candidate, or it has no full stamp (at a mosaic edge), so it cannot be reviewed.
    """
    match = np.flatnonzero(table["source_id"] == int(source_id))
    if not match.size:
        raise UserInputError(f"{galaxy} has no candidate {source_id}")
    if not table["usable"][match[0]]:
        raise UserInputError(
            f"candidate {source_id} of {galaxy} lies at a mosaic edge: it has no full stamp to review"
        )
    return int(table["candidate_id"][match[0]])


def predicted_counts(session: Session) -> dict[int, list[int]]:
    """Galaxy id -> candidates the active model puts in classes 1, 2, 3, 4."""
    version = active_model_version(session)
    if version is None:
        return {}
    rows = session.execute(
        select(Candidate.galaxy_id, Prediction.predicted_class, func.count())
        .join(Prediction, Prediction.candidate_id == Candidate.id)
        .where(Prediction.model_version_id == version.id)
        .group_by(Candidate.galaxy_id, Prediction.predicted_class)
    ).all()
    counts: dict[int, list[int]] = {}
    for galaxy_id, k, n in rows:
        counts.setdefault(galaxy_id, [0, 0, 0, 0])[k - 1] = int(n)
    return counts
