"""A column among a list of values, as one statement whatever the list's length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement


def one_of(column: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one statement whatever the
    number of values. An IN list is a new statement text for every length, rendered per
    execution and prepared and planned anew by the server: a page's includes, twenty ids one
    time and seventeen the next, spent more time there than in running."""
    if dialect == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)
