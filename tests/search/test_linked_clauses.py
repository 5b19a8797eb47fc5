"""Chained and `_has` criteria carry the requester's access predicate at every link, and are
built once per predicate (`search.compile._linked_clause`): two requesters whose predicates look
alike but differ in value must never share one."""

from __future__ import annotations

from sqlalchemy import true
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from tobiume.search.compile import _clause
from tobiume.search.query import parse_query
from tobiume.storage.tables import resource


def _sql(clause: ColumnElement[bool]) -> str:
    return str(clause.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_each_predicate_gets_its_own_clause() -> None:
    query = parse_query(
        "Patient",
        [
            ("_has:CarePlan:subject:status", "active"),
            ("general-practitioner:Practitioner.name", "やま"),
        ],
        default_count=20,
        max_count=100,
    )
    first = resource.c.owner_org == "Organization/a"
    second = resource.c.owner_org == "Organization/b"
    for criterion in query.criteria:
        for_first = _clause("Patient", criterion, first)
        for_second = _clause("Patient", criterion, second)
        assert "Organization/a" in _sql(for_first)
        assert "Organization/b" not in _sql(for_first)
        assert "Organization/b" in _sql(for_second)
        assert "Organization/a" not in _sql(for_second)
        assert _clause("Patient", criterion, first) is for_first  # built once per predicate
        assert _clause("Patient", criterion, true()) is _clause("Patient", criterion, true())
