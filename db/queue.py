"""The review queue: which candidates an expert should look at next.

Orders (``QUEUE_ORDERS``), all on the predictions of the active model version:
``smallest_margin`` (closest top two scores first; the default, see
:mod:`starcnet_core.training.active_learning` for what
``benchmarks/bench_active_learning.py`` measured of it), ``least_confidence`` (lowest top
score first), ``highest_entropy``, ``most_informative`` (highest BALD score,
the mutual information between class and weights of MC-dropout passes; only
predictions that carry one), ``disagreement`` (only candidates
whose consensus differs from the model's class, the most confident model
first), ``fewest_votes`` and ``random`` (a fixed shuffle, so that pages do not
repeat); the Review page also offers ``smallest_margin_and_random``, every
other candidate at random (``MIXED_ORDERS``). Pages are keyset-paginated: a
page returns the cursor of its last row and the next page starts strictly
after it, so paging stays fast and stable while others label. Each order has a matching index (see
:mod:`db.models`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select, tuple_
from sqlalchemy.orm import Session

from db import jobs
from db.models import Candidate, Label, ModelVersion, Prediction, Vote
from db.predictions import active_model_version

__all__ = [
    "QUEUE_ORDERS",
    "SCORELESS_ORDERS",
    "MIXED_ORDERS",
    "REVIEW_ORDERS",
    "QueueItem",
    "QueuePage",
    "queue_model_version",
    "review_queue",
]

QUEUE_ORDERS: tuple[str, ...] = (
    "smallest_margin",
    "least_confidence",
    "highest_entropy",
    "most_informative",
    "disagreement",
    "fewest_votes",
    "random",
)
#: The orders that need no model scores.
SCORELESS_ORDERS: tuple[str, ...] = ("fewest_votes", "random")
#: Orders that alternate between two of :data:`QUEUE_ORDERS` (every other candidate from each, each once):
#: half of every batch at random keeps the labels a sample of the survey's class mix, which the
#: most uncertain candidates alone are not (see :func:`starcnet_core.training.active_learning.select_batch`);
#: it needs no fewer labels than the margin alone (``bench_active_learning``, 2026-12-03).
#: They are put together by :func:`webapp.services.review.next_candidates`, not by :func:`review_queue`.
MIXED_ORDERS: dict[str, tuple[str, str]] = {"smallest_margin_and_random": ("smallest_margin", "random")}
#: What the Review page offers: the queue orders and the mixed ones.
REVIEW_ORDERS: tuple[str, ...] = (*QUEUE_ORDERS, *MIXED_ORDERS)


@dataclass(frozen=True)
class QueueItem:
    """One candidate in the queue, with the active model's prediction (None when unscored)."""

    candidate_id: int
    galaxy_id: int
    source_id: int
    x: float
    y: float
    mag_v: float | None
    n_votes: int
    consensus_class: int | None
    predicted_class: int | None
    scores: tuple[float, float, float, float] | None
    confidence: float | None
    margin: float | None
    entropy: float | None
    bald: float | None = None


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue; pass ``next_cursor`` as ``after`` for the next page (None: last page)."""

    items: list[QueueItem]
    next_cursor: tuple | None
    model_version_id: int | None


def queue_model_version(session: Session) -> int | None:
    """The model version the queue orders by: the active one, once no scoring of it is pending.

    Right after a promotion the new version's predictions are still being
    stored (``score`` and ``score_shard`` jobs queued or running); until they
    are, the queue stays on the most recently promoted version that is not
    being scored, so that nobody reviews in the order of a half-scored survey.
    None without an active version.
    """
    active = active_model_version(session)
    if active is None:
        return None
    busy = {job.params.get("model_version_id") for job in jobs.active_jobs(session, jobs.SCORING_KINDS)}
    if active.id not in busy:
        return active.id
    earlier = session.scalars(
        select(ModelVersion.id)
        .where(ModelVersion.id != active.id, ModelVersion.promoted_at.is_not(None))
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
    )
    return next((version for version in earlier if version not in busy), active.id)


def _order_keys(order: str):
    """(key columns, descending?, needs a prediction?) of a queue order."""
    keys = {
        "least_confidence": ((Prediction.confidence, Prediction.candidate_id), False, True),
        "smallest_margin": ((Prediction.margin, Prediction.candidate_id), False, True),
        "highest_entropy": ((Prediction.entropy, Prediction.candidate_id), True, True),
        "most_informative": ((Prediction.bald, Prediction.candidate_id), True, True),
        "disagreement": ((Prediction.confidence, Prediction.candidate_id), True, True),
        "fewest_votes": ((Candidate.n_votes, Candidate.id), False, False),
        "random": ((Candidate.shuffle_key, Candidate.id), False, False),
    }
    if order not in keys:
        raise ValueError(f"unknown queue order {order!r}; choose one of {', '.join(QUEUE_ORDERS)}")
    return keys[order]


def _labelled_by(expert_id: int, *, flagged: bool = False):
    """Whether ``expert_id`` holds an answer on the candidate that has not been retracted (and is flagged).

    Read from the vote cache (one primary-key probe per candidate) rather than
    the label history (see :mod:`db.consensus`); the flag is the one of the
    answer that counts, so a later answer without it clears it.
    """
    conditions = [Vote.candidate_id == Candidate.id, Vote.expert_id == expert_id]
    if flagged:
        conditions += [Label.id == Vote.label_id, Label.flagged.is_(True)]
    return exists().where(*conditions)


def review_queue(
    session: Session,
    *,
    order: str = "smallest_margin",
    galaxy_id: int | None = None,
    predicted_class: int | None = None,
    mag_v_range: tuple[float | None, float | None] | None = None,
    expert_id: int | None = None,
    labelled_by_expert: bool | None = None,
    flagged_by: int | None = None,
    usable_only: bool = True,
    model_version_id: int | None = None,
    limit: int = 50,
    after: Sequence | None = None,
) -> QueuePage:
    """One page of the review queue.

    Parameters
    ----------
    session : Session
    order : str
        One of :data:`QUEUE_ORDERS`.
    galaxy_id : int, optional
        Only this galaxy's candidates.
    predicted_class : int, optional
        Only candidates the model puts in this class (1-4).
    mag_v_range : (float or None, float or None), optional
        Brightest and faintest V magnitude (Vega mag) kept; None leaves a side open.
    expert_id, labelled_by_expert : optional
        With ``labelled_by_expert=False``, only candidates ``expert_id`` has not
        labelled yet ("not labelled by me"); with True, only those they have.
    flagged_by : int, optional
        Only candidates whose latest answer by this expert carries their flag.
    usable_only : bool
        Leave out candidates without a full stamp (edge, no mosaics).
    model_version_id : int, optional
        Whose predictions to use; default :func:`queue_model_version` (the
        active version once its predictions are complete).
    limit : int
        Page size.
    after : tuple, optional
        ``next_cursor`` of the previous page.
    """
    keys, descending, needs_prediction = _order_keys(order)
    if model_version_id is None:
        model_version_id = queue_model_version(session)
    if needs_prediction and model_version_id is None:
        raise ValueError(f"queue order {order!r} needs an active model version with predictions")
    join_on = and_(Prediction.candidate_id == Candidate.id, Prediction.model_version_id == model_version_id)
    query = select(Candidate, Prediction).join(Prediction, join_on, isouter=not needs_prediction)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if galaxy_id is not None:
        query = query.where(_steered(session, sqlite, Candidate.galaxy_id, lambda c: c == galaxy_id))
    if predicted_class is not None:
        query = query.where(Prediction.predicted_class == predicted_class)
    if mag_v_range is not None:
        brightest, faintest = mag_v_range
        if brightest is not None or faintest is not None:
            query = query.where(
                _steered(session, sqlite, Candidate.mag_v, lambda c: _between(c, brightest, faintest))
            )
    if labelled_by_expert is not None:
        if expert_id is None:
            raise ValueError("labelled_by_expert needs expert_id")
        mine = _labelled_by(expert_id)
        query = query.where(mine if labelled_by_expert else ~mine)
    if flagged_by is not None:
        query = query.where(_labelled_by(flagged_by, flagged=True))
    if usable_only:
        query = query.where(Candidate.usable.is_(True))
    if order == "most_informative":
        # predictions scored without MC passes carry no BALD score (NULL sorts differently per database)
        query = query.where(Prediction.bald.is_not(None))
    if order == "disagreement":
        query = query.where(
            Candidate.consensus_class.is_not(None), Candidate.consensus_class != Prediction.predicted_class
        )
    if after is not None:
        position = tuple_(*keys)
        query = query.where(position < tuple_(*after) if descending else position > tuple_(*after))
    query = query.order_by(*(key.desc() if descending else key for key in keys)).limit(limit)
    rows = session.execute(query).all()
    items = [_item(candidate, prediction) for candidate, prediction in rows]
    next_cursor = None
    if len(rows) == limit:
        candidate, prediction = rows[-1]
        owner = {Candidate: candidate, Prediction: prediction}
        next_cursor = tuple(getattr(owner[key.class_], key.key) for key in keys)
    return QueuePage(items, next_cursor, model_version_id)


#: On SQLite a filter's own index may lead a queue query only below this many matching candidates.
_SQLITE_LEADING_ROWS = 20_000


def _between(column, brightest: float | None, faintest: float | None):  # noqa: ANN001 - a column expression
    return and_(
        *(() if brightest is None else (column >= brightest,)),
        *(() if faintest is None else (column <= faintest,)),
    )


def _steered(session: Session, sqlite: bool, column, condition):  # noqa: ANN001 - column, its condition
    """``condition(column)``, kept off the column's index on SQLite when many candidates match it.

    A queue page walks the index of its order until a page of candidates
    passes the filters; SQLite's planner, above all after ``ANALYZE``, may
    instead read every candidate of a filter's index (a galaxy, a magnitude
    range: 500,000 rows at 1M candidates) and sort them, seconds instead of
    milliseconds. So the filter's matches are counted first, by its index and
    up to :data:`_SQLITE_LEADING_ROWS`: below that bound reading them all is
    cheap and the planner keeps the choice; at the bound the condition is put
    on ``column + 0``, which no index serves, and the order's index leads.
    PostgreSQL's planner estimates both plans from its statistics.
    """
    if not sqlite:
        return condition(column)
    capped = select(Candidate.id).where(condition(column)).limit(_SQLITE_LEADING_ROWS).subquery()
    if session.scalar(select(func.count()).select_from(capped)) < _SQLITE_LEADING_ROWS:
        return condition(column)
    return condition(column + 0)


def _item(candidate: Candidate, prediction: Prediction | None) -> QueueItem:
    scored = prediction is not None
    return QueueItem(
        candidate_id=candidate.id,
        galaxy_id=candidate.galaxy_id,
        source_id=candidate.source_id,
        x=candidate.x,
        y=candidate.y,
        mag_v=candidate.mag_v,
        n_votes=candidate.n_votes,
        consensus_class=candidate.consensus_class,
        predicted_class=prediction.predicted_class if scored else None,
        scores=(prediction.p1, prediction.p2, prediction.p3, prediction.p4) if scored else None,
        confidence=prediction.confidence if scored else None,
        margin=prediction.margin if scored else None,
        entropy=prediction.entropy if scored else None,
        bald=prediction.bald if scored else None,
    )
