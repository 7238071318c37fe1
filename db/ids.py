"""Set membership and bulk reads that scale to a million rows.

``column IN (:id_1, :id_2, ...)`` binds one parameter per id, and PostgreSQL
refuses statements with more than 65,535 parameters (SQLite's limit is
higher, so tests on SQLite never see it). :func:`in_ids` binds the whole id
list as ONE parameter instead: a ``bigint[]`` compared with ``= ANY(...)`` on
PostgreSQL, a JSON array read with ``json_each`` on SQLite.

:func:`int_columns` reads a query of integer columns straight into a numpy
array; on PostgreSQL through ``COPY ... TO STDOUT`` in the binary format,
which is an order of magnitude faster than building a Python tuple per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import chain

import numpy as np
from sqlalchemy import BigInteger, Select, String, bindparam
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


def int_columns(session: Session, query: Select, n_columns: int) -> np.ndarray:
    """Rows of ``query`` (``n_columns`` non-null integer columns) as an ``(N, n_columns)`` int64 array.

    On PostgreSQL the rows travel as binary ``COPY``: each column is cast to
    ``bigint`` and the fixed-width records are decoded with one numpy view.
    Elsewhere the driver's rows are converted at once.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = connection.execute(query).all()
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * n_columns)
        return flat.reshape(-1, n_columns)
    # cast in place (not in an outer query), so that the query's ORDER BY still orders the rows
    casted = query.with_only_columns(
        *(column.cast(BigInteger) for column in query.selected_columns), maintain_column_froms=True
    )
    compiled = casted.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    cursor = connection.connection.cursor()
    data = bytearray()
    with cursor.copy(f"COPY ({compiled.string}) TO STDOUT (FORMAT binary)", compiled.params) as copy:
        for block in copy:
            data += block
    # 11-byte signature, int32 flags, int32 extension length; int16 -1 trailer
    header = 19 + int.from_bytes(data[15:19], "big")
    # a record: int16 field count, then per field an int32 length (8) and the big-endian int64
    record = np.dtype(
        [("count", ">i2")] + [(f"c{k}", [("length", ">i4"), ("value", ">i8")]) for k in range(n_columns)]
    )
    body = np.frombuffer(data, dtype=record, count=(len(data) - header - 2) // record.itemsize, offset=header)
    if len(body) and (body["count"] != n_columns).any():
        raise ValueError("int_columns: the query returned a different number of columns")
    out = np.empty((len(body), n_columns), dtype=np.int64)
    for k in range(n_columns):
        if len(body) and (body[f"c{k}"]["length"] != 8).any():
            raise ValueError("int_columns: NULL in an integer column")
        out[:, k] = body[f"c{k}"]["value"]
    return out
