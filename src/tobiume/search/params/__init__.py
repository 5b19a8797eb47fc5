"""One module per SearchParameter type, each turning a criterion into a SQL predicate over
`resource` (https://hl7.org/fhir/R4/search.html#ptypes). `compilers()` maps a type to its
compiler; a type without one is answered with a clear 400, never silently ignored."""

from __future__ import annotations

from collections.abc import Mapping

from tobiume.search.params.base import ParamCompiler
from tobiume.search.params.date import DateCompiler
from tobiume.search.params.number import NumberCompiler
from tobiume.search.params.quantity import QuantityCompiler
from tobiume.search.params.reference import ReferenceCompiler
from tobiume.search.params.string import StringCompiler
from tobiume.search.params.token import TokenCompiler
from tobiume.search.params.uri import UriCompiler

_COMPILERS: Mapping[str, ParamCompiler] = {
    "string": StringCompiler(),
    "token": TokenCompiler(),
    "reference": ReferenceCompiler(),
    "date": DateCompiler(),
    "number": NumberCompiler(),
    "quantity": QuantityCompiler(),
    "uri": UriCompiler(),
}


def compilers() -> Mapping[str, ParamCompiler]:
    return _COMPILERS
