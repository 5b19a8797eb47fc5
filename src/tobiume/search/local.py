"""Which stored references point at this server (https://hl7.org/fhir/R4/references.html):
those written relative, and absolute ones under this server's base. Shared by reference search,
chaining, `_has` and the includes."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.storage.tables import idx_reference


@lru_cache(maxsize=64)
def local_reference(
    base_url: str | None, url: ColumnElement[str | None] = idx_reference.c.url
) -> ColumnElement[bool]:
    """A reference to this server: relative when it was written (no `url` stored), or absolute
    under this server's base. Built once per base and column (SQL constructs are immutable, so
    every statement may share it): the escaped LIKE costs more to build than a whole token
    criterion."""
    if not base_url:
        return url.is_(None)
    under = base_url.rstrip("/") + "/"
    return or_(url.is_(None), url.startswith(under, autoescape=True))
