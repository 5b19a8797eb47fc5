"""Search statements, compiled once per shape and run on asyncpg directly (PostgreSQL).

A search is a statement built for its request. Executed through `AsyncConnection.execute`,
it spent a fifth of the server's time in SQLAlchemy's execution path and its greenlet, and
another quarter in building the statement and computing SQLAlchemy's cache key of it (py-spy
on `bench/search.py`), for nothing a search uses. Two ways round it, both keeping SQLAlchemy's
compiler and its binding of values exactly:

* `fetch_rows(conn, statement)`: the compiled form is looked up by the statement's cache key
  (its shape without its values; the key's `bindparams` carry this request's values in the
  order the compiled form expects them) and compiled on a miss.
* `fetch_shaped(conn, Shaped(...))`: the statement is described by a hashable layout and the
  parts it is assembled from (criteria, the access predicate, sort expressions), each a
  clause whose own cache key is cheap: criteria are built once per value and SQLAlchemy keeps
  a clause's key. The statement is assembled and compiled once per layout and parts' shapes;
  a later request with the same shape binds its parts' values to it by position, as
  SQLAlchemy itself matches a cached statement's parameters to a new one's
  (`SQLCompiler.construct_params`, `extracted_parameters`). The assembly may use only the
  layout, the parts and SQL without bound values: every value of the request's own is in a
  part. A statement with a bound value outside its parts is run but never kept, so a mistake
  there costs speed, not a wrong answer. Parts
  may share a parameter object (a clause built once per value and used by two criteria with
  equal values, `status=a&status=a`): which parameters are the same object is part of the
  shape, or a statement compiled where two criteria shared one would bind the first
  criterion's value for both.

SQLite runs every statement through SQLAlchemy (its databases are the small, embedded ones).
The statements run in whatever transaction the connection is in (`db.Database`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement
from sqlalchemy.sql.expression import Executable

from tobiume.drivers import driver_connection

KEPT = 1024
"""Compiled statements kept (each cache): shapes, not values, so a few hundred cover every
search clients repeat; the least recently used goes first."""

Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Shaped:
    """A statement as its layout (hashable: everything its assembly decides by), the parts it
    is assembled from, and how to assemble them."""

    layout: Hashable
    parts: tuple[ClauseElement, ...]
    assemble: Callable[[Sequence[ClauseElement]], Executable]

    def statement(self) -> Executable:
        return self.assemble(self.parts)


@dataclass(frozen=True, slots=True)
class _Template:
    compiled: SQLCompiler
    key: CacheKey
    positions: tuple[int, ...]
    """For each bound parameter of the compiled statement (in its cache key's order): where it
    first is among the parts' parameters (their cache keys' in turn). A statement with a
    parameter of the assembly's own is never kept."""


_by_key: OrderedDict[tuple[Any, ...], SQLCompiler] = OrderedDict()
_by_shape: OrderedDict[tuple[Any, ...], _Template] = OrderedDict()


def forget() -> None:
    """Drop every compiled statement kept (tests: to see a shape for the first time)."""
    _by_key.clear()
    _by_shape.clear()


async def fetch_rows(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None = None
) -> Rows:
    """Every row of `statement`, with `params` for its named `bindparam`s."""
    if conn.dialect.name != "postgresql":
        return (await conn.execute(statement, params)).all()
    clause = cast(ClauseElement, statement)
    key = clause._generate_cache_key()
    if key is None:
        return (await conn.execute(statement, params)).all()
    compiled = _kept(_by_key, key.key)
    if compiled is None:
        compiled = _by_key[key.key] = _compile(clause, key, conn.dialect)
        _trim(_by_key)
    return await _fetch(conn, compiled, key, key.bindparams, params)


async def fetch_shaped(conn: AsyncConnection, shaped: Shaped) -> Rows:
    """Every row of the statement `shaped` describes (see the module docstring)."""
    if conn.dialect.name != "postgresql":
        return (await conn.execute(shaped.statement())).all()
    keys = [part._generate_cache_key() for part in shaped.parts]
    if any(k is None for k in keys):
        return await fetch_rows(conn, shaped.statement())
    part_keys = cast(list[CacheKey], keys)
    binds = [bind for k in part_keys for bind in k.bindparams]
    first: dict[int, int] = {}
    sharing = tuple(first.setdefault(id(bind), n) for n, bind in enumerate(binds))
    shape = (shaped.layout, tuple(k.key for k in part_keys), sharing)
    template = _kept(_by_shape, shape)
    if template is None:
        built = shaped.statement()
        statement = cast(ClauseElement, built)
        key = statement._generate_cache_key()
        if key is None:
            return await fetch_rows(conn, built)
        positions = tuple(first.get(id(bind)) for bind in key.bindparams)
        compiled = _compile(statement, key, conn.dialect)
        if None not in positions:  # else a value of this request's is outside the parts
            _by_shape[shape] = _Template(compiled, key, cast(tuple[int, ...], positions))
            _trim(_by_shape)
        return await _fetch(conn, compiled, key, key.bindparams, None)
    values = [binds[at] for at in template.positions]
    return await _fetch(conn, template.compiled, template.key, values, None)


def _kept(cache: OrderedDict[tuple[Any, ...], Any], key: tuple[Any, ...]) -> Any:
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _trim(cache: OrderedDict[tuple[Any, ...], Any]) -> None:
    if len(cache) > KEPT:
        cache.popitem(last=False)


def _compile(statement: ClauseElement, key: CacheKey, dialect: Dialect) -> SQLCompiler:
    """Compiled with its cache key, so that other statements' values can be bound to it."""
    return cast(
        SQLCompiler,
        statement._compiler(
            dialect, cache_key=key, column_keys=[], for_executemany=False, schema_translate_map=None
        ),
    )


async def _fetch(
    conn: AsyncConnection,
    compiled: SQLCompiler,
    key: CacheKey,
    values: Sequence[BindParameter[Any]],
    given: Mapping[str, Any] | None,
) -> Rows:
    """Run `compiled` on asyncpg with `values` (aligned with the parameters of `key`, a cache
    key of its shape) and the named values `given`, bound as SQLAlchemy's own execution binds
    them (`DefaultExecutionContext._init_compiled`: expanding `IN` lists rendered per length)."""
    params = compiled.construct_params(
        dict(given) if given else None,
        extracted_parameters=values,
        escape_names=False,
        _collected_params=key.params,
    )
    processors: Mapping[str, Any] = compiled._bind_processors
    sql = compiled.string
    names: Sequence[str] = compiled.positiontup or ()
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(params)
        sql, names = expanded.statement, expanded.positiontup or ()
        processors = {**processors, **expanded.processors}
    args = [processors[n](params[n]) if n in processors else params[n] for n in names]
    driver = await driver_connection(conn)
    rows: Rows = await driver.fetch(sql, *args)
    return rows
