"""A column among a list of values, as one statement whatever the list's length."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement


def one_of(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (:name)`, the list bound when the statement runs; on PostgreSQL
    `column = ANY(:name)`, one statement whatever the number of values. An IN list is a new
    statement text for every length, rendered per execution and prepared and planned anew by
    the server: a page's includes, twenty ids one time and seventeen the next, spent more time
    there than in running. Bound rather than built in, the values leave the statement's shape
    alone, so one statement object serves every page (`search.include`)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))
