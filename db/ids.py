"""Set membership and bulk reads that scale to a million rows.

``column IN (:id_1, :id_2, ...)`` binds one parameter per id, and PostgreSQL
refuses statements with more than 65,535 parameters (SQLite's limit is
higher, so tests on SQLite never see it). :func:`in_ids` binds the whole id
list as ONE parameter instead: a ``bigint[]`` compared with ``= ANY(...)`` on
PostgreSQL, a JSON array read with ``json_each`` on SQLite.

:func:`int_columns` reads a query of integer columns straight into a numpy
array; on PostgreSQL packed by the database into one binary value, which is
several times faster than a Python tuple per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
from sqlalchemy import BigInteger, Integer, LargeBinary, Select, String, bindparam, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import NullType

__all__ = ["in_ids", "int_columns"]


class _InIds(ColumnElement[bool]):
    """``column`` is one of ``ids``, bound as a single parameter (compiled per dialect below)."""

    # no Boolean type: SQLite would compare the expression with 1 in a WHERE clause
    type = NullType()
    # the ids are part of the construct, not of a cache key: statements holding one are not cached
    inherit_cache = False

    def __init__(self, column: ColumnElement, ids: list[int]) -> None:
        self.column = column
        self.ids = ids

    @property
    def _from_objects(self) -> list:
        return self.column._from_objects


@compiles(_InIds)
def _compile_json_each(element: _InIds, compiler, **kw) -> str:  # noqa: ANN001 - SQLAlchemy compiler
    ids = compiler.process(bindparam(None, json.dumps(element.ids), type_=String), **kw)
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({ids}))"


@compiles(_InIds, "postgresql")
def _compile_any(element: _InIds, compiler, **kw) -> str:  # noqa: ANN001 - SQLAlchemy compiler
    ids = compiler.process(bindparam(None, element.ids, type_=postgresql.ARRAY(BigInteger)), **kw)
    return f"{compiler.process(element.column, **kw)} = ANY({ids})"


def in_ids(column: ColumnElement, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN ids`` with one bound parameter whatever the number of ids.

    Parameters
    ----------
    column : column expression
        An integer column, e.g. ``Candidate.id``.
    ids : iterable of int
        Any number of ids (numpy arrays too).
    """
    return _InIds(column, np.asarray(list(ids), dtype=np.int64).tolist())


def int_columns(session: Session, query: Select, n_columns: int, order_by: Sequence[int] = ()) -> np.ndarray:
    """Rows of ``query`` (``n_columns`` non-null integer columns) as an ``(N, n_columns)`` int64 array.

    Parameters
    ----------
    session : Session
    query : Select
        Its own ORDER BY is dropped: rows are sorted here, by ``order_by``.
    n_columns : int
    order_by : sequence of int
        Output column positions to sort the rows by (first position first).

    On PostgreSQL the database packs all rows into one ``bytea`` value
    (``int4send`` of every column, concatenated by ``string_agg``; values are
    32-bit) that numpy reads in one view: a driver row per database row costs
    more than the query, and ``COPY`` sends one message per row.
    """
    query = query.order_by(None)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = connection.execute(query).all()
        out = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * n_columns)
        out = out.reshape(-1, n_columns)
    else:
        inner = query.subquery()
        # every value as 4 big-endian bytes: ids and counts of this schema are 32-bit integers
        packed = func.int4send(inner.c[0].cast(Integer))
        for column in list(inner.c)[1:n_columns]:
            packed = packed.op("||")(func.int4send(column.cast(Integer)))
        total = select(func.string_agg(packed, literal(b"", LargeBinary)), func.count()).select_from(inner)
        compiled = total.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        cursor = connection.connection.driver_connection.cursor(binary=True)
        cursor.execute(compiled.string, compiled.params)
        data, n_rows = cursor.fetchone()
        data = bytes(data or b"")
        # string_agg skips a row whose bytes are NULL (a NULL column): the length tells
        if len(data) != 4 * n_columns * n_rows:
            raise ValueError("int_columns: NULL in an integer column")
        out = np.frombuffer(data, dtype=">i4").astype(np.int64).reshape(-1, n_columns)
    if order_by and len(out):
        out = out[np.lexsort([out[:, k] for k in reversed(list(order_by))])]
    return out
