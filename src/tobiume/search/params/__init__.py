"""One module per SearchParameter type, each turning a criterion into a SQL predicate over
`resource` (https://hl7.org/fhir/R4/search.html#ptypes). `compilers()` maps a type to its
compiler; a type without one is answered with a clear 400, never silently ignored."""

from __future__ import annotations

from collections.abc import Mapping

from tobiume.search.params.base import ParamCompiler
from tobiume.search.params.token import TokenCompiler


def compilers() -> Mapping[str, ParamCompiler]:
    return {"token": TokenCompiler()}
