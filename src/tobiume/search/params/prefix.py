"""A string that starts with a prefix, as a range of the index (string search's default match,
https://hl7.org/fhir/R4/search.html#string, on folded values).

`value LIKE 'やま%'` is what SQL says, but PostgreSQL rewrites it into a range of the index
(`~>=~ 'やま' AND ~<~ 'やも'`) only when it plans with the prefix in hand, keeps the LIKE as a
filter on every row of that range, and estimates it by testing the pattern against each bound
of the column's histogram. Said as the range itself, `[prefix, successor)` where the successor
is the prefix with its last character one code point on, the match is the same (a string
starts with the prefix exactly when it falls in that range, compared code point by code
point), a plan made without the value still reads the index by range, no filter runs, and
the estimate is a histogram lookup: on the city, a ward's 2,893 addresses were read in 0.58 ms
instead of 0.9, and planned 0.2 ms faster.

Code point order is byte order in UTF-8: PostgreSQL's pattern operators (`~>=~`, `~<~`, which
the `text_pattern_ops` match indexes serve, whatever the database's collation) and SQLite's
default BINARY collation both compare so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, and_, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

_LAST = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


class _CodePoints(ColumnElement[bool]):
    """`column >= value` (or `< value`, `below`), compared code point by code point."""

    __visit_name__ = "tobiume_code_points"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads it from the class)
        ("column", InternalTraversal.dp_clauseelement),
        ("value", InternalTraversal.dp_clauseelement),
        ("below", InternalTraversal.dp_boolean),
    ]
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], value: str, *, below: bool) -> None:
        self.column = column
        self.value = bindparam(None, value, type_=column.type, unique=True)
        self.below = below


@compiles(_CodePoints)
def _compile(element: _CodePoints, compiler: SQLCompiler, **kw: Any) -> str:
    op = "<" if element.below else ">="
    return f"{compiler.process(element.column, **kw)} {op} {compiler.process(element.value, **kw)}"


@compiles(_CodePoints, "postgresql")
def _compile_pg(element: _CodePoints, compiler: SQLCompiler, **kw: Any) -> str:
    op = "~<~" if element.below else "~>=~"
    return f"{compiler.process(element.column, **kw)} {op} {compiler.process(element.value, **kw)}"


def starts_with(column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix` (not empty): `[prefix, successor)`."""
    successor = _successor(prefix)
    if successor is None:  # every character is the last code point: no upper bound
        return _CodePoints(column, prefix, below=False)
    return and_(
        _CodePoints(column, prefix, below=False), _CodePoints(column, successor, below=True)
    )


def _successor(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix`."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if point in _SURROGATES:
            point = _SURROGATES.stop
        if point <= _LAST:
            return "".join(chars) + chr(point)
    return None
