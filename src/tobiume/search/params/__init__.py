"""One module per SearchParameter type, each turning a criterion into a SQL predicate over
`resource` (https://hl7.org/fhir/R4/search.html#ptypes). `compilers()` maps a type to its
compiler; a type without one is answered with a clear 400, never silently ignored.
`can_search` says which parameters the CapabilityStatement may list."""

from __future__ import annotations

from collections.abc import Mapping

from tobiume.fhir.searchparams import SearchParam
from tobiume.search.params.base import ParamCompiler
from tobiume.search.params.composite import CompositeCompiler, supported
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
    "composite": CompositeCompiler(),
}


def compilers() -> Mapping[str, ParamCompiler]:
    return _COMPILERS


def can_search(param: SearchParam) -> bool:
    """True when a search by `param` is compiled, not refused: its type has a compiler, it has
    an expression, and (a composite) every component can be searched."""
    if param.type not in _COMPILERS or not param.expression:
        return False
    return param.type != "composite" or supported(param)
