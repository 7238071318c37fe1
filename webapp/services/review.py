"""The review of one candidate: what an expert sees, and what their answer records.

:func:`build_candidate_view` gathers everything the review page shows for a
candidate (images in the paper's colours, the five bands, the V band for
contours and the 3D view, the three magnified views the network reads, the
active model's scores, the catalog photometry and the other experts' labels)
as plain arrays and dicts; the page only draws them. :func:`submit_label`
records an answer with the display settings in use and what the expert was
shown (so that blind labels can be told apart from model-assisted ones)
and whether the expert flagged the candidate; :func:`undo_last_label`
retracts the expert's latest answer; :func:`queue_order_for`,
:func:`next_candidates` and :func:`session_progress` drive the queue (an
unscored galaxy falls back to an order that needs no scores).

Images keep the FITS row order (row 0 = y 1); the page turns them y up once,
when it draws them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
from sqlalchemy.orm import Session

from db import review as db_review
from db.consensus import effective_labels, tally
from db.engine import use_case
from db.experts import expert_names
from db.models import Candidate, Expert, Galaxy, utcnow
from db.predictions import active_model_version
from db.queue import MIXED_ORDERS, SCORELESS_ORDERS, queue_model_version, review_queue
from starcnet_core.display import check_percentile, compass, display_scales, grey_stamps, rgb_composite
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS
from starcnet_core.io.cutouts import extract_stamps
from starcnet_core.nn.model import StarcNetConfig
from webapp.services.labels import record_label, undo_label

__all__ = [
    "NETWORK_VIEWS",
    "DEFAULT_PERCENTILES",
    "CONTEXT_SIZE",
    "CandidateView",
    "Neighbour",
    "queue_order_for",
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
#: Side (pixels) of the context cut-out around a candidate, with its neighbours marked.
CONTEXT_SIZE = 160


@dataclass(frozen=True)
class Neighbour:
    """Another candidate inside the context cut-out: offset from the candidate (pixels, y up) and class.

    ``predicted_class`` is 0 when not scored or while the expert works blind.
    """

    source_id: int
    dx: float
    dy: float
    predicted_class: int


@dataclass(frozen=True)
class CandidateView:
    """Everything the review page shows for one candidate.

    Images are uint8 arrays ready for display; ``v_band`` is in e-/s.
    ``percentiles`` is the display range the images were made with (lower and
    upper percentiles of the stamp's pixels; not used by zscale).
    ``scores`` and ``predicted_class`` are None when the expert works blind
    or the active model has not scored the candidate; ``labels`` (expert name
    -> "1"-"4"/"unsure") and ``consensus`` are None while hidden.
    ``context_rgb`` is the :data:`CONTEXT_SIZE` cut-out around the candidate
    (NaN beyond the mosaic edge shows black) and ``neighbours`` the other
    candidates in it; ``north_east`` the unit vectors of north and east on the
    pixel grid (None without a WCS), ``arcsec_per_px`` the pixel scale;
    ``flagged`` whether the expert's standing label carries their flag;
    ``scored_with`` the precision and engine that computed the scores (None
    when not recorded, as for an imported file).
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
    context_rgb: np.ndarray | None = None
    neighbours: list[Neighbour] = field(default_factory=list)
    north_east: tuple[tuple[float, float], tuple[float, float]] | None = None
    arcsec_per_px: float | None = None
    flagged: bool = False
    scored_with: tuple[str, str | None] | None = None


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


def _context(arrays: list[np.ndarray], x: float, y: float, size: int) -> np.ndarray:
    """A ``(B, size, size)`` cut-out centred on 1-based ``(x, y)``, NaN where it leaves the mosaic."""
    return np.stack(
        [
            Cutout2D(a, (x - 1.0, y - 1.0), size, mode="partial", fill_value=np.nan, copy=True).data
            for a in arrays
        ]
    ).astype(np.float32)


def _neighbours(
    session: Session, candidate: Candidate, version_id: int | None, size: int, *, blind: bool
) -> list[Neighbour]:
    rows = db_review.neighbour_rows(session, candidate, version_id, size / 2.0)
    return [
        Neighbour(int(source), float(x - candidate.x), float(y - candidate.y), 0 if blind else int(k or 0))
        for source, x, y, k in rows
    ]


def _my_flag(session: Session, candidate_id: int, expert_id: int | None) -> bool:
    """Whether the expert's latest answer on the candidate is flagged (and still standing)."""
    if expert_id is None:
        return False
    return db_review.standing_flag(session, candidate_id, expert_id)


def labels_and_consensus(session: Session, candidate_id: int) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Every expert's standing label on a candidate (name -> "1"-"4"/"unsure") and its consensus summary."""
    with use_case(session):
        labels = effective_labels(session, candidate_ids=[candidate_id])
        names = expert_names(session)
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
    blind: bool = False,
    context_size: int = 48,
    wcs: WCS | None = None,
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
    wcs : astropy.wcs.WCS, optional
        The mosaics' WCS, for the compass.

    Returns
    -------
    CandidateView
    """
    try:
        percentiles = check_percentile(tuple(percentiles))
    except ValueError as error:
        raise UserInputError(str(error)) from error
    with use_case(session):
        candidate = session.get(Candidate, candidate_id)
        if candidate is None:
            raise UserInputError(f"unknown candidate {candidate_id}")
        galaxy = session.get(Galaxy, candidate.galaxy_id)
        stamp = _stamp(arrays, candidate.x, candidate.y, _NETWORK_SIZE)
        if stamp is None:
            raise UserInputError(
                f"candidate {candidate.source_id} of {galaxy.name} has no full stamp in the mosaics"
            )
        context = (
            _stamp(arrays, candidate.x, candidate.y, context_size) if context_size > _NETWORK_SIZE else None
        )
        shown = context if context is not None else stamp
        labels, summary = labels_and_consensus(session, candidate_id)
        me = session.get(Expert, expert_id) if expert_id is not None else None
        my_label = labels.pop(me.name, None) if me is not None else None
        reveal = not blind or my_label is not None
        # the scores of the version the queue orders by: the previous one while a promotion is being scored
        version_id = queue_model_version(session)
        scales = display_scales(galaxy.filters or {}, galaxy.instruments or {})
        prediction = None
        if version_id is not None and not blind:
            prediction = db_review.stored_prediction(session, candidate_id, version_id)
        return CandidateView(
            candidate_id=candidate_id,
            galaxy=galaxy.name,
            source_id=candidate.source_id,
            x=candidate.x,
            y=candidate.y,
            stretch=stretch,
            context_size=shown.shape[-1],
            rgb=rgb_composite(shown, stretch, percentile=percentiles, scales=scales),
            bands=grey_stamps(shown, stretch, percentile=percentiles),
            v_band=stamp[BANDS.index("V")],
            network_rgb=[
                rgb_composite(view, stretch, percentile=percentiles, scales=scales)
                for view in network_views(stamp)
            ],
            model_version_id=version_id,
            scores=(prediction.p1, prediction.p2, prediction.p3, prediction.p4) if prediction else None,
            predicted_class=prediction.predicted_class if prediction else None,
            scored_with=(prediction.precision, prediction.engine)
            if prediction is not None and prediction.precision
            else None,
            photometry={
                **{f"m_{band}": getattr(candidate, f"mag_{band.lower()}") for band in BANDS},
                "CI": candidate.ci,
            },
            my_label=my_label,
            labels=labels if reveal else None,
            consensus=summary if reveal else None,
            properties=dict(candidate.properties or {}),
            percentiles=percentiles,
            context_rgb=rgb_composite(
                _context(arrays, candidate.x, candidate.y, CONTEXT_SIZE),
                stretch,
                percentile=percentiles,
                scales=scales,
            ),
            neighbours=_neighbours(session, candidate, version_id, CONTEXT_SIZE, blind=blind),
            north_east=compass(wcs, candidate.x, candidate.y),
            arcsec_per_px=galaxy.pixel_scale_arcsec,
            flagged=_my_flag(session, candidate_id, expert_id),
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
    with use_case(session):
        galaxy = session.get(Galaxy, galaxy_id)
        positions = {
            k: db_review.consensus_example_positions(session, galaxy_id, k, per_class) for k in range(1, 5)
        }
    scales = display_scales(galaxy.filters or {}, galaxy.instruments or {})
    for k, rows in positions.items():
        if not rows:
            examples[k] = []
            continue
        x, y = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
        stamps = extract_stamps(arrays, x, y, size=_NETWORK_SIZE).stamps
        examples[k] = [
            rgb_composite(stamp, stretch, percentile=percentiles, scales=scales) for stamp in stamps
        ]
    return examples


def submit_label(
    session: Session,
    view: CandidateView,
    *,
    expert_id: int,
    label_class: object,
    comment: str = "",
    seconds_spent: float | None = None,
    blind: bool = False,
    flagged: bool = False,
    blind_imposed: bool = False,
) -> int:
    """Record an expert's answer on the candidate of ``view``; return the label id.

    The display settings (stretch, display range as lower and upper
    percentiles, stamp side, blind mode and whether an admin imposed it) are
    stored with the label, and — unless the expert worked blind — the model
    version and scores they were shown; ``flagged`` marks the candidate for
    the expert's "flagged" queue.
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
            **({"blind_imposed": True} if blind_imposed else {}),
        },
        flagged=flagged,
    )


def undo_last_label(session: Session, expert_id: int) -> int:
    """Retract the expert's most recent standing answer (any candidate); return that candidate's id."""
    with use_case(session):
        candidate_id = db_review.latest_standing_candidate(session, expert_id)
        if candidate_id is None:
            raise UserInputError("nothing to undo: you have no label standing")
        undo_label(session, candidate_id=candidate_id, expert_id=expert_id)
        return int(candidate_id)


def queue_order_for(session: Session, order: str, galaxy_id: int | None = None) -> tuple[str, str | None]:
    """The queue order to use, and why it differs from ``order`` (None when it does not).

    Orders that rank by scores need the active model's scores of the galaxy;
    without a model, or for a galaxy it has not scored yet (just imported),
    the queue falls back to ``fewest_votes``, which needs none.
    """
    if order in SCORELESS_ORDERS:
        return order, None
    with use_case(session):
        version_id = queue_model_version(session)
        scored = version_id is not None and db_review.has_predictions(session, version_id, galaxy_id)
    if version_id is None:
        return "fewest_votes", "no active model yet: ordered by fewest votes instead"
    if not scored:
        return "fewest_votes", (
            "the active model has not scored this galaxy yet: ordered by fewest votes until it has "
            "(score it from the Galaxies page or with `python -m webapp score`)"
        )
    return order, None


def next_candidates(
    session: Session,
    *,
    expert_id: int,
    order: str = "smallest_margin",
    galaxy_id: int | None = None,
    predicted_class: int | None = None,
    mag_v_range: tuple[float | None, float | None] | None = None,
    include_labelled: bool = False,
    flagged_only: bool = False,
    skipped: Collection[int] = (),
    limit: int = 20,
) -> list[int]:
    """Ids of the next candidates for the expert, in queue order, leaving out those skipped.

    ``order`` goes through :func:`queue_order_for` first; ``flagged_only``
    keeps the candidates the expert flagged (labelled ones included). A
    mixed order (:data:`db.queue.MIXED_ORDERS`) alternates between its two
    queue orders, starting with the first, and takes each candidate once.
    """
    with use_case(session):
        order, _ = queue_order_for(session, order, galaxy_id)
        filters = {
            "galaxy_id": galaxy_id,
            "predicted_class": predicted_class,
            "mag_v_range": mag_v_range,
            "expert_id": expert_id,
            "labelled_by_expert": None if include_labelled or flagged_only else False,
            "flagged_by": expert_id if flagged_only else None,
        }
        if order not in MIXED_ORDERS:
            return _queue_ids(session, order, filters, skipped, limit)
        # each part alone could fill the page, so that the other's duplicates never leave it short
        first, second = (_queue_ids(session, part, filters, skipped, limit) for part in MIXED_ORDERS[order])
        ids: list[int] = []
        for pair in itertools.zip_longest(first, second):
            ids.extend(c for c in pair if c is not None and c not in ids)
        return ids[:limit]


def _queue_ids(
    session: Session, order: str, filters: dict[str, Any], skipped: Collection[int], limit: int
) -> list[int]:
    """The first ``limit`` candidate ids of one queue order, leaving out those skipped."""
    ids: list[int] = []
    after = None
    while len(ids) < limit:
        page = review_queue(session, order=order, **filters, limit=limit + len(skipped), after=after)
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
    with use_case(session):
        mine = effective_labels(session, expert_ids=[expert_id], galaxy_id=galaxy_id)
        labelled_usable = db_review.usable_among(session, mine.candidate_id)
        return {
            "labelled_today": db_review.answered_since(session, expert_id, midnight),
            "labelled_total": len(mine.candidate_id),
            "remaining": db_review.usable_count(session, galaxy_id) - labelled_usable,
        }


def field_candidates(session: Session, galaxy_id: int) -> dict[str, np.ndarray]:
    """Every candidate of a galaxy with the active model's class and confidence, as arrays.

    Returns
    -------
    dict
        ``candidate_id``, ``source_id``, ``x``, ``y`` (1-based pixels), ``usable``,
        ``predicted_class`` (0 when not scored), ``confidence`` (NaN when not scored).
    """
    with use_case(session):
        version = active_model_version(session)
        rows = db_review.field_rows(session, galaxy_id, version.id if version is not None else -1)
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
    with use_case(session):
        version = active_model_version(session)
        rows = db_review.predicted_class_counts(session, version.id) if version is not None else []
    if version is None:
        return {}
    counts: dict[int, list[int]] = {}
    for galaxy_id, k, n in rows:
        counts.setdefault(galaxy_id, [0, 0, 0, 0])[k - 1] = int(n)
    return counts
