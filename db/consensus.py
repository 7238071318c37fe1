"""Consensus of the experts: each expert's latest label, combined per candidate as LEGUS did.

LEGUS combined at least three experts per candidate into a class *mode* and
*mean* (paper section 2). Here each expert counts once per candidate, with
their latest answer that has not been retracted; "unsure" answers are kept
but carry no class vote. The consensus is the mode of the class votes, or
``"undecided"`` when the top count is tied; the agreement fraction is the
share of votes that went to the mode.

The labels are the data of record; what counts is cached in the same
transaction as every label (:func:`update_consensus_cache`): the
:class:`db.models.Vote` table holds each expert's counted label per
candidate and :class:`db.models.Candidate` its votes per class and mode. So
:func:`consensus` of all experts reads the candidate rows, and filtered
consensus, :func:`effective_labels` (and through them agreement and training
snapshots) aggregate one row per vote in the database: costs that grow with
the number of votes read, not with the history of every label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from db.ids import in_ids, int_columns
from db.models import UNSURE, Candidate, Expert, Label, Vote

__all__ = [
    "UNDECIDED",
    "EffectiveLabels",
    "Consensus",
    "effective_labels_query",
    "effective_labels",
    "votes_query",
    "tally",
    "from_counts",
    "mode_of",
    "candidate_rows",
    "consensus",
    "labelled",
    "mode_sql",
    "update_consensus_cache",
    "refresh_consensus_cache",
]

UNDECIDED = "undecided"


@dataclass(frozen=True)
class EffectiveLabels:
    """The label that counts for each (candidate, expert) pair, as parallel arrays.

    ``label_class`` holds 1-4, or 0 for "unsure".
    """

    candidate_id: np.ndarray
    expert_id: np.ndarray
    label_class: np.ndarray


@dataclass(frozen=True)
class Consensus:
    """Per-candidate consensus, as parallel arrays sorted by candidate id.

    Attributes
    ----------
    candidate_id : (M,) int array
    counts : (M, 4) int array
        Class votes for classes 1-4.
    n_unsure : (M,) int array
        Experts whose latest answer is "unsure".
    n_votes : (M,) int array
        Class votes (experts with a class answer).
    mode : (M,) int array
        Consensus class 1-4; 0 when undecided (tied) or without class votes.
    mean : (M,) float array
        Mean of the class votes (NaN without votes).
    agreement : (M,) float array
        Fraction of class votes for the mode (NaN without votes).
    """

    candidate_id: np.ndarray
    counts: np.ndarray
    n_unsure: np.ndarray
    n_votes: np.ndarray
    mode: np.ndarray
    mean: np.ndarray
    agreement: np.ndarray

    def label(self, i: int) -> str | None:
        """Consensus of row ``i`` as text: "1"-"4", "undecided", or None without class votes."""
        if self.n_votes[i] == 0:
            return None
        return str(int(self.mode[i])) if self.mode[i] else UNDECIDED

    def as_dict(self) -> dict[int, dict]:
        """candidate id -> {consensus, mean, n_votes, n_unsure, agreement, votes}: JSON-ready."""
        return {
            int(cid): {
                "consensus": self.label(i),
                "mean": None if np.isnan(self.mean[i]) else float(self.mean[i]),
                "n_votes": int(self.n_votes[i]),
                "n_unsure": int(self.n_unsure[i]),
                "agreement": None if np.isnan(self.agreement[i]) else float(self.agreement[i]),
                "votes": [int(v) for v in self.counts[i]],
            }
            for i, cid in enumerate(self.candidate_id)
        }


def _counted_answers(scope: ColumnElement[bool] | None = None):
    """Subquery of the labels that count (``label_id``, ``candidate_id``, ``expert_id``, ``label_class`` 0-4).

    ``scope`` is a condition on ``Label.candidate_id``.
    """
    retraction = aliased(Label)
    latest = func.row_number().over(
        partition_by=(Label.candidate_id, Label.expert_id), order_by=Label.id.desc()
    )
    # "label_class IS NOT NULL" marks answers (the check constraint); testing
    # "retracts_id IS NULL" instead would lure SQLite into the retracts_id index.
    inner = select(
        Label.id.label("label_id"),
        Label.candidate_id,
        Label.expert_id,
        Label.label_class,
        latest.label("rank"),
    ).where(Label.label_class.is_not(None), ~exists().where(retraction.retracts_id == Label.id))
    if scope is not None:
        inner = inner.where(scope)
    ranked = inner.subquery()
    # Classes as numbers (unsure -> 0) in SQL, so that rows go straight into numpy.
    number = case((ranked.c.label_class == UNSURE, 0), else_=cast(ranked.c.label_class, Integer))
    return (
        select(ranked.c.label_id, ranked.c.candidate_id, ranked.c.expert_id, number.label("label_class"))
        .where(ranked.c.rank == 1)
        .subquery()
    )


def effective_labels_query(
    *,
    candidate_ids: Sequence[int] | None = None,
    galaxy_id: int | None = None,
    expert_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> Select:
    """``SELECT candidate_id, expert_id, label_class`` (1-4; 0 for "unsure") of the labels that count.

    A label counts when it is an answer (not a retraction), has not been
    retracted, and is its expert's latest such answer on the candidate. This
    ranks the labels themselves (the definition the vote cache is rebuilt
    from); :func:`effective_labels` reads the cache.
    """
    counted = _counted_answers(None if candidate_ids is None else in_ids(Label.candidate_id, candidate_ids))
    query = select(counted.c.candidate_id, counted.c.expert_id, counted.c.label_class)
    return _filtered(query, counted.c.candidate_id, counted.c.expert_id, galaxy_id, expert_ids, roles)


def _filtered(query: Select, candidate_id, expert_id, galaxy_id, expert_ids, roles) -> Select:  # noqa: ANN001
    """``query`` restricted to one galaxy, some experts, some expert roles."""
    if galaxy_id is not None:
        query = query.join(Candidate, Candidate.id == candidate_id).where(Candidate.galaxy_id == galaxy_id)
    if expert_ids is not None:
        query = query.where(in_ids(expert_id, expert_ids))
    if roles is not None:
        query = query.join(Expert, Expert.id == expert_id).where(Expert.role.in_(list(roles)))
    return query


def votes_query(
    *,
    candidate_ids: Sequence[int] | None = None,
    galaxy_id: int | None = None,
    expert_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> Select:
    """``SELECT candidate_id, expert_id, label_class`` from the vote cache, with the filters of :func:`effective_labels_query`."""
    query = select(Vote.candidate_id, Vote.expert_id, Vote.label_class)
    if candidate_ids is not None:
        query = query.where(in_ids(Vote.candidate_id, candidate_ids))
    return _filtered(query, Vote.candidate_id, Vote.expert_id, galaxy_id, expert_ids, roles)


def effective_labels(session: Session, **filters) -> EffectiveLabels:
    """The labels that count (same keyword filters as :func:`effective_labels_query`), read from the vote cache."""
    votes = votes_query(**filters).subquery()
    # expert and class packed into one column (classes 0-4 take 3 bits): a third less to pack and send
    rows = int_columns(session, select(votes.c.candidate_id, votes.c.expert_id * 8 + votes.c.label_class), 2)
    return EffectiveLabels(rows[:, 0].copy(), rows[:, 1] >> 3, rows[:, 1] & 7)


def from_counts(candidate_ids: np.ndarray, per_class: np.ndarray) -> Consensus:
    """A :class:`Consensus` from per-candidate counts ``(M, 5)``: "unsure", then classes 1-4."""
    per_class = np.asarray(per_class, dtype=np.int64).reshape(-1, 5)
    counts = per_class[:, 1:]
    n_votes = counts.sum(axis=1)
    top = counts.max(axis=1, initial=0)
    mode = mode_of(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (counts * np.arange(1, 5)).sum(axis=1) / n_votes
        agreement = top / n_votes
    return Consensus(
        np.asarray(candidate_ids, dtype=np.int64), counts, per_class[:, 0], n_votes, mode, mean, agreement
    )


def mode_of(counts: np.ndarray) -> np.ndarray:
    """The consensus class 1-4 of per-class vote counts ``(M, 4)``: strictly the most votes, else 0 (tie, none)."""
    counts = np.asarray(counts)
    top = counts.max(axis=1, initial=0)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    return np.where((top > 0) & ~tied, counts.argmax(axis=1) + 1, 0)


def tally(labels: EffectiveLabels) -> Consensus:
    """Combine effective labels into a :class:`Consensus` per candidate (vectorised)."""
    ids, row = candidate_rows(labels.candidate_id)
    per_class = np.bincount(5 * row + labels.label_class, minlength=5 * len(ids)).reshape(-1, 5)
    return from_counts(ids, per_class)


def candidate_rows(candidate_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ids, and each entry's row among them (``np.unique(..., return_inverse=True)``).

    Ids of one survey are dense, so a lookup table over their range replaces
    the sort that ``np.unique`` needs (a million labels: milliseconds).
    """
    candidate_ids = np.asarray(candidate_ids, dtype=np.int64)
    if len(candidate_ids) == 0:
        return candidate_ids, candidate_ids
    low = int(candidate_ids.min())
    span = int(candidate_ids.max()) - low + 1
    if span > 4 * len(candidate_ids) + 1024:
        return np.unique(candidate_ids, return_inverse=True)
    present = np.zeros(span, dtype=bool)
    present[candidate_ids - low] = True
    row_of = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, row_of[candidate_ids - low]


#: The cached per-class columns of a candidate, in the order of :func:`from_counts`.
_CACHED_COUNTS = (
    Candidate.n_unsure,
    Candidate.votes_1,
    Candidate.votes_2,
    Candidate.votes_3,
    Candidate.votes_4,
)


#: Every cached count of a candidate: zero exactly when no expert has a counted answer on it.
_CACHED_TOTALS = (Candidate.n_votes, *_CACHED_COUNTS)


def labelled() -> ColumnElement[bool]:
    """Whether a candidate has a counted answer (the condition of its covering index ``ix_candidate_labelled``)."""
    return or_(Candidate.n_votes > 0, Candidate.n_unsure > 0)


def consensus(
    session: Session,
    *,
    galaxy_id: int | None = None,
    expert_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> Consensus:
    """The consensus of every labelled candidate (optionally one galaxy, some experts or roles).

    Of all experts it is read from the candidates' cached counts (an
    index-only read); with ``expert_ids`` or ``roles`` it is counted from the
    vote cache, one row per vote.

    Parameters
    ----------
    session : Session
    galaxy_id : int, optional
        Only candidates of this galaxy.
    expert_ids, roles : sequence, optional
        Only labels of these experts / expert roles (e.g. ``["expert"]`` leaves
        out the catalog pseudo-experts).
    """
    if expert_ids is not None or roles is not None:
        return tally(effective_labels(session, galaxy_id=galaxy_id, expert_ids=expert_ids, roles=roles))
    query = select(Candidate.id, *_CACHED_COUNTS).where(labelled())
    if galaxy_id is not None:
        query = query.where(Candidate.galaxy_id == galaxy_id)
    rows = int_columns(session, query, 6, order_by=(0,))
    return from_counts(rows[:, 0], rows[:, 1:])


def mode_sql(votes: Sequence) -> ColumnElement:
    """The class (1-4) with strictly the most votes, else NULL (a tie, or no votes): :func:`from_counts`'s mode."""
    return case(
        *((and_(*(votes[k] > votes[j] for j in range(4) if j != k)), k + 1) for k in range(4)),
        else_=None,
    )


#: The counted answers of one rebuild, computed once (a temporary table of the connection).
_COUNTED = Table(
    "counted_answer",
    MetaData(),
    Column("candidate_id", Integer, primary_key=True),
    Column("expert_id", Integer, primary_key=True),
    Column("label_id", Integer),
    Column("label_class", Integer),
    prefixes=["TEMPORARY"],
)


def _rebuild(
    session: Session,
    scope: Callable[[ColumnElement], ColumnElement[bool]],
    label_scope: ColumnElement[bool] | None,
) -> None:
    """Bring the vote cache and the candidates' cached consensus of the candidates in scope up to their labels.

    ``scope(column)`` is the condition on a candidate-id column (of ``vote``
    and ``candidate``), ``label_scope`` the same on ``Label.candidate_id``
    (None: everything). Set-based statements only, no parameter per
    candidate, and only what differs is written: the counted answers are
    ranked once into a temporary table; vote rows that are not among them
    are deleted and the missing ones inserted; candidates whose stored counts
    or mode differ from their votes are updated. A rebuild of a correct
    cache (``refresh_consensus_cache`` after a check) reads but writes
    nothing, and an import rewrites only the candidates it changed.
    """
    connection = session.connection()
    counted = _COUNTED
    counted.drop(connection, checkfirst=True)
    counted.create(connection)
    answers = _counted_answers(label_scope)
    session.execute(
        insert(counted).from_select(
            ["label_id", "candidate_id", "expert_id", "label_class"],
            select(answers.c.label_id, answers.c.candidate_id, answers.c.expert_id, answers.c.label_class),
        )
    )
    if connection.dialect.name == "postgresql":
        session.execute(text("ANALYZE counted_answer"))  # temporary tables get no autovacuum statistics
    vote = Vote.__table__
    same = exists().where(
        counted.c.candidate_id == vote.c.candidate_id,
        counted.c.expert_id == vote.c.expert_id,
        counted.c.label_id == vote.c.label_id,
        counted.c.label_class == vote.c.label_class,
    )
    session.execute(delete(vote).where(scope(vote.c.candidate_id), ~same))
    present = exists().where(
        vote.c.candidate_id == counted.c.candidate_id, vote.c.expert_id == counted.c.expert_id
    )
    session.execute(
        insert(vote).from_select(
            ["label_id", "candidate_id", "expert_id", "label_class"],
            select(
                counted.c.label_id, counted.c.candidate_id, counted.c.expert_id, counted.c.label_class
            ).where(~present),
        )
    )
    counted.drop(connection)  # (a failed transaction drops it with its rollback)
    cached = Candidate.__table__.c
    counts = [cached[column.key] for column in _CACHED_TOTALS]
    session.execute(
        update(Candidate.__table__)
        .where(
            scope(cached.id),
            or_(cached.consensus_class.is_not(None), *(column != 0 for column in counts)),
            ~exists().where(Vote.candidate_id == cached.id),
        )
        .values(n_votes=0, consensus_class=None, votes_1=0, votes_2=0, votes_3=0, votes_4=0, n_unsure=0)
    )
    per_class = [func.sum(case((Vote.label_class == k, 1), else_=0)).label(f"v{k}") for k in range(5)]
    totals = select(Vote.candidate_id, *per_class).where(scope(Vote.candidate_id)).group_by(Vote.candidate_id)
    totals = totals.subquery()
    votes = [totals.c.v1, totals.c.v2, totals.c.v3, totals.c.v4]
    new = {
        "n_unsure": totals.c.v0,
        "votes_1": totals.c.v1,
        "votes_2": totals.c.v2,
        "votes_3": totals.c.v3,
        "votes_4": totals.c.v4,
        "n_votes": totals.c.v1 + totals.c.v2 + totals.c.v3 + totals.c.v4,
        "consensus_class": mode_sql(votes),
    }
    session.execute(
        update(Candidate.__table__)
        .where(
            cached.id == totals.c.candidate_id, or_(*(cached[k].is_distinct_from(v) for k, v in new.items()))
        )
        .values(**new)
    )


#: Up to this many candidates are rewritten one by one by primary key (:func:`_rebuild_one`).
_ONE_BY_ONE = 16

_ONE = bindparam("candidate_id", type_=Integer)


def _one_statements() -> tuple:
    """The statements of :func:`_rebuild_one`, built once: one bound scalar each, so compiled once and cached."""
    counted = _counted_answers(Label.candidate_id == _ONE)
    per_class = [func.sum(case((Vote.label_class == k, 1), else_=0)) for k in range(5)]
    values = {name: bindparam(name, type_=Integer) for name in (c.key for c in _CACHED_TOTALS)}
    table = Vote.__table__  # Core statements: the ORM's bulk paths would want parameter rows
    return (
        delete(table).where(table.c.candidate_id == _ONE),
        insert(table).from_select(
            ["label_id", "candidate_id", "expert_id", "label_class"],
            select(counted.c.label_id, counted.c.candidate_id, counted.c.expert_id, counted.c.label_class),
        ),
        select(*per_class).where(Vote.candidate_id == _ONE),
        update(Candidate.__table__)
        .where(Candidate.__table__.c.id == _ONE)
        .values(**values, consensus_class=bindparam("consensus_class", type_=Integer)),
    )


def _one_statement_postgresql():
    """:func:`_rebuild_one` in ONE PostgreSQL statement (data-modifying CTEs): one round trip per label.

    ``counted`` is the candidate's counted answers; ``gone`` deletes the vote
    rows of experts without one, ``kept`` upserts the others (disjoint rows,
    so the two never touch the same row), and the UPDATE counts the rows
    ``kept`` returns: the candidate's new vote rows.
    """
    answers = _counted_answers(Label.candidate_id == _ONE)
    counted = select(
        answers.c.label_id, answers.c.candidate_id, answers.c.expert_id, answers.c.label_class
    ).cte("counted")
    table = Vote.__table__
    gone = (
        delete(table)
        .where(table.c.candidate_id == _ONE, ~exists().where(counted.c.expert_id == table.c.expert_id))
        .cte("gone")
    )
    upsert = postgresql.insert(table).from_select(
        ["label_id", "candidate_id", "expert_id", "label_class"], select(counted)
    )
    kept = (
        upsert.on_conflict_do_update(
            index_elements=[table.c.candidate_id, table.c.expert_id],
            set_={"label_id": upsert.excluded.label_id, "label_class": upsert.excluded.label_class},
        )
        .returning(table.c.label_class)
        .cte("kept")
    )
    per_class = [
        func.coalesce(func.sum(case((kept.c.label_class == k, 1), else_=0)), 0).label(f"v{k}")
        for k in range(5)
    ]
    # an aggregate without GROUP BY: always one row, with the candidate's id to join on
    totals = select(cast(_ONE, Integer).label("candidate_id"), *per_class).subquery("totals")
    votes = [totals.c.v1, totals.c.v2, totals.c.v3, totals.c.v4]
    return (
        update(Candidate.__table__)
        .where(Candidate.__table__.c.id == totals.c.candidate_id)
        .values(
            n_unsure=totals.c.v0,
            votes_1=totals.c.v1,
            votes_2=totals.c.v2,
            votes_3=totals.c.v3,
            votes_4=totals.c.v4,
            n_votes=totals.c.v1 + totals.c.v2 + totals.c.v3 + totals.c.v4,
            consensus_class=mode_sql(votes),
        )
        .add_cte(gone)
    )


_ONE_STATEMENTS: tuple | None = None
_ONE_STATEMENT_POSTGRESQL = None


def _rebuild_one(session: Session, candidate_id: int) -> None:
    """:func:`_rebuild` of one candidate, every statement by its primary key (what one label costs).

    On PostgreSQL one statement (:func:`_one_statement_postgresql`); on
    SQLite four statements with one scalar parameter each, compiled once: the
    candidate's vote rows are replaced by its counted answers (a few rows
    through ``ix_label_candidate_expert`` and the ``retracts_id`` index), its
    votes are counted, and its cached counts and mode (:func:`from_counts`,
    the same rule as :func:`mode_sql`) are written in one UPDATE. The caller
    holds the candidate's row lock (``webapp.services.labels.lock_candidates``).
    """
    global _ONE_STATEMENTS, _ONE_STATEMENT_POSTGRESQL
    if session.get_bind().dialect.name == "postgresql":
        if _ONE_STATEMENT_POSTGRESQL is None:
            _ONE_STATEMENT_POSTGRESQL = _one_statement_postgresql()
        session.execute(_ONE_STATEMENT_POSTGRESQL, {"candidate_id": candidate_id})
        return
    if _ONE_STATEMENTS is None:
        _ONE_STATEMENTS = _one_statements()
    remove, fill, count, write = _ONE_STATEMENTS
    key = {"candidate_id": candidate_id}
    session.execute(remove, key)
    session.execute(fill, key)
    per_class = [int(v or 0) for v in session.execute(count, key).one()]
    result = from_counts(np.array([candidate_id]), np.array([per_class]))
    session.execute(
        write,
        {
            **key,
            "n_unsure": per_class[0],
            **{f"votes_{k}": per_class[k] for k in range(1, 5)},
            "n_votes": int(result.n_votes[0]),
            "consensus_class": int(result.mode[0]) or None,
        },
    )


def update_consensus_cache(session: Session, candidate_ids: Sequence[int]) -> None:
    """Rewrite the vote cache and the cached consensus of these candidates from their labels.

    A few candidates (one label, an undo) are rewritten one by one by
    primary key; more (an import) with set-based statements.
    """
    ids = sorted({int(c) for c in candidate_ids})
    if len(ids) <= _ONE_BY_ONE:
        for candidate_id in ids:
            _rebuild_one(session, candidate_id)
    else:
        _rebuild(session, lambda column: in_ids(column, ids), in_ids(Label.candidate_id, ids))


def refresh_consensus_cache(session: Session, galaxy_id: int | None = None) -> int:
    """Rebuild the vote cache and cached consensus of all candidates (of one galaxy); return how many."""
    if galaxy_id is None:
        _rebuild(session, lambda column: true(), None)
        return int(session.scalar(select(func.count()).select_from(Candidate)))
    members = select(Candidate.id).where(Candidate.galaxy_id == galaxy_id)
    _rebuild(session, lambda column: column.in_(members), Label.candidate_id.in_(members))
    return int(session.scalar(select(func.count()).where(Candidate.galaxy_id == galaxy_id)))
