"""A compiled FHIRPath subset, enough for every R4 SearchParameter expression
(https://hl7.org/fhir/R4/fhirpath.html, https://hl7.org/fhir/R4/searchparameter.html).

Search indexing evaluates these expressions on every write, so an expression is parsed once
(`fhirpath_parser`) and lowered into nested closures over plain JSON; evaluation does no
parsing and no dispatch on syntax. Lowering for a known resource type also settles the leading
type names statically (`Observation.code | Condition.code` on a Condition keeps one branch), which
is what makes the multi-base expressions (`clinical-code`, `clinical-patient`) cheap.

Navigation needs no structure definitions (`fhirpath_runtime`): a choice element `value[x]` is
found by its JSON key and typed by the key's suffix, and `value.ofType(Quantity)` compiles to a
lookup of `valueQuantity`. `resolve()` is only supported inside
`resolve() is T`, answered from the reference string (or the Reference's `type`), never by
fetching: https://hl7.org/fhir/R4/search.html#reference notes servers need not resolve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tobiume.fhir.datatypes import CHOICE_NAMES, CHOICE_SUFFIXES, normal_type
from tobiume.fhir.fhirpath_parser import (
    Binary,
    Call,
    FhirPathError,
    Index,
    Literal,
    Member,
    Node,
    This,
    TypeFilter,
    TypeOp,
    Variable,
    parse,
)
from tobiume.fhir.fhirpath_runtime import (
    FALSE,
    TRUE,
    Eval,
    Items,
    Value,
    as_items,
    children,
    empty,
    equal,
    identity,
    is_type,
    reference_type,
    root_focus,
    root_item,
    truth,
    typed_choice,
)
from tobiume.fhir.resource_types import ABSTRACT_TYPES, RESOURCE_TYPES

__all__ = [
    "Compiled",
    "FhirPathError",
    "Value",
    "compile",
    "reference_type",
]


class _Lowering:
    """Turns a syntax tree into closures, for one resource type (or any, when None)."""

    def __init__(self, text: str, resource_type: str | None) -> None:
        self.text = text
        self.resource_type = resource_type

    def fail(self, message: str) -> FhirPathError:
        return FhirPathError(f"{message} in {self.text!r}")

    def lower(self, node: Node) -> Eval:
        if isinstance(node, This):
            return identity
        if isinstance(node, Variable):
            if node.name in ("resource", "rootResource", "context"):
                return root_item
            raise self.fail(f"Unsupported variable %{node.name}")
        if isinstance(node, Literal):
            const = [Value(node.value, node.fhir_type)]
            return lambda focus, root: const
        if isinstance(node, TypeFilter):
            return self.type_filter(node.type_name)
        if isinstance(node, Member):
            return self.member(node)
        if isinstance(node, Index):
            return self.index(node)
        if isinstance(node, TypeOp):
            return self.type_op(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Binary):
            return self.binary(node)
        raise self.fail(f"Unsupported construct {type(node).__name__}")

    def type_filter(self, type_name: str) -> Eval:
        if type_name not in RESOURCE_TYPES and type_name not in ABSTRACT_TYPES:
            raise self.fail(f"Unknown resource type {type_name!r}")
        if self.resource_type is not None:
            probe = Value({"resourceType": self.resource_type}, None)
            return identity if is_type(probe, type_name) else empty
        return lambda focus, root: [item for item in focus if is_type(item, type_name)]

    def member(self, node: Member) -> Eval:
        names: list[str] = []
        source: Node = node
        while isinstance(source, Member):  # fuse a run of steps into one closure
            names.append(source.name)
            source = source.source
        names.reverse()
        head = self.lower(source)
        if head is empty:
            return empty
        steps = tuple(names)

        def navigate(focus: Items, root: Any) -> Items:
            items = head(focus, root)
            for name in steps:
                if not items:
                    break
                items = children(items, name)
            return items

        return navigate

    def index(self, node: Index) -> Eval:
        source = self.lower(node.source)
        if not isinstance(node.index, Literal) or type(node.index.value) is not int:
            raise self.fail("Only a whole-number literal is supported as an indexer")
        at: int = node.index.value
        if source is empty:
            return empty

        def index(focus: Items, root: Any) -> Items:
            return source(focus, root)[at : at + 1]

        return index

    def type_op(self, node: TypeOp) -> Eval:
        type_name = normal_type(node.type_name)
        if node.op == "is" and isinstance(node.source, Call) and node.source.name == "resolve":
            return self.resolve_is(node.source, type_name)
        if node.op == "as" and isinstance(node.source, Member):
            keys = self.choice_keys(node.source.name, type_name)
            if keys is not None:
                head = self.lower(node.source.source)
                return empty if head is empty else typed_choice(head, keys)
        source = self.lower(node.source)
        if node.op == "is":
            return lambda focus, root: [
                TRUE[0] if is_type(item, type_name) else FALSE[0] for item in source(focus, root)
            ]
        if source is empty:
            return empty
        return lambda focus, root: [
            item for item in source(focus, root) if is_type(item, type_name)
        ]

    @staticmethod
    def choice_keys(name: str, type_name: str) -> tuple[tuple[str, str], ...] | None:
        """`value` + `Quantity` -> the JSON keys (and types) that hold a Quantity `value[x]`;
        None when `name` is no choice element or `type_name` no data type."""
        if name not in CHOICE_NAMES:
            return None
        probe = Value(None, None)
        keys = tuple(
            (name + suffix, fhir_type)
            for suffix, fhir_type in CHOICE_SUFFIXES.items()
            if is_type(probe._replace(fhir_type=fhir_type), type_name)
        )
        return keys or None

    def resolve_is(self, call: Call, type_name: str) -> Eval:
        if call.args:
            raise self.fail("resolve() takes no arguments")
        source = self.lower(call.source)
        return lambda focus, root: [
            TRUE[0] if reference_type(item[0], root) == type_name else FALSE[0]
            for item in source(focus, root)
        ]

    def call(self, node: Call) -> Eval:
        lower_fn = getattr(self, f"fn_{node.name}", None)
        if lower_fn is None:
            raise self.fail(f"Unsupported FHIRPath function {node.name}()")
        source = self.lower(node.source)
        result: Eval = lower_fn(source, node.args)
        return result

    def arity(self, name: str, args: tuple[Node, ...], count: int) -> None:
        if len(args) != count:
            raise self.fail(f"{name}() takes {count} argument(s), not {len(args)}")

    def fn_resolve(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        raise self.fail("resolve() is supported only as `resolve() is Type`")

    def fn_where(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        self.arity("where", args, 1)
        if source is empty:
            return empty
        field = _field_equals(args[0])
        if field is not None:  # where(system='phone'): a dict lookup per item, no sub-evaluation
            name, literal = field
            return lambda focus, root: [
                item
                for item in source(focus, root)
                if type(item[0]) is dict and item[0].get(name) == literal
            ]
        criteria = self.lower(args[0])
        if criteria is empty:
            return empty
        return lambda focus, root: [
            item for item in source(focus, root) if truth(criteria([item], root)) is True
        ]

    def fn_exists(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        if args:
            source = self.fn_where(source, args)
        return lambda focus, root: TRUE if source(focus, root) else FALSE

    def fn_empty(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        self.arity("empty", args, 0)
        return lambda focus, root: FALSE if source(focus, root) else TRUE

    def fn_not(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        self.arity("not", args, 0)
        return lambda focus, root: as_items(
            None if (flag := truth(source(focus, root))) is None else not flag
        )

    def fn_first(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        self.arity("first", args, 0)
        return empty if source is empty else lambda focus, root: source(focus, root)[:1]

    def fn_extension(self, source: Eval, args: tuple[Node, ...]) -> Eval:
        self.arity("extension", args, 1)
        arg = args[0]
        if not isinstance(arg, Literal) or type(arg.value) is not str:
            raise self.fail("extension() needs a string literal url")
        url = arg.value
        if source is empty:
            return empty
        return lambda focus, root: [
            item
            for item in children(source(focus, root), "extension")
            if type(item[0]) is dict and item[0].get("url") == url
        ]

    def binary(self, node: Binary) -> Eval:
        left = self.lower(node.left)
        right = self.lower(node.right)
        if node.op == "|":
            branches = [branch for branch in (left, right) if branch is not empty]
            if not branches:
                return empty
            if len(branches) == 1:
                return branches[0]
            return lambda focus, root: left(focus, root) + right(focus, root)
        if node.op in ("=", "!="):
            if left is empty or right is empty:
                return empty
            negate = node.op == "!="

            def compare(focus: Items, root: Any) -> Items:
                a, b = left(focus, root), right(focus, root)
                if not a or not b:
                    return []
                same = len(a) == len(b) and all(
                    equal(x[0], y[0]) for x, y in zip(a, b, strict=True)
                )
                return TRUE if same != negate else FALSE

            return compare
        return self.logic(node.op, left, right)

    def logic(self, op: str, left: Eval, right: Eval) -> Eval:
        def evaluate(focus: Items, root: Any) -> Items:
            a, b = truth(left(focus, root)), truth(right(focus, root))
            if op == "and":
                return FALSE if False in (a, b) else (TRUE if a and b else [])
            return TRUE if True in (a, b) else (FALSE if a is False and b is False else [])

        return evaluate


def _field_equals(node: Node) -> tuple[str, str] | None:
    """`name = 'text'` on the focus, as `(name, text)`; None for any other criteria (or when
    `name` may be a choice element, which needs the full navigation)."""
    if (
        isinstance(node, Binary)
        and node.op == "="
        and isinstance(node.left, Member)
        and isinstance(node.left.source, This)
        and node.left.name not in CHOICE_NAMES
        and isinstance(node.right, Literal)
        and type(node.right.value) is str
    ):
        return node.left.name, node.right.value
    return None


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled expression: call it on a resource; `on` evaluates relative to given items
    (the components of a composite parameter, https://hl7.org/fhir/R4/search.html#composite)."""

    text: str
    resource_type: str | None
    evaluate: Eval

    @property
    def always_empty(self) -> bool:
        """True when the expression can yield nothing for `resource_type` (no branch names it)."""
        return self.evaluate is empty

    def __call__(self, resource: dict[str, Any]) -> list[Value]:
        return self.evaluate(root_focus(resource), resource)

    def on(self, focus: Sequence[Value], resource: dict[str, Any]) -> list[Value]:
        return self.evaluate(list(focus), resource)


@lru_cache(maxsize=16_384)
def compile(expression: str, resource_type: str | None = None) -> Compiled:
    """Compile once (cached); FhirPathError for syntax outside the subset. With
    `resource_type`, leading type names are decided now and branches for other types dropped,
    so the result must only be applied to resources of that type; without, leading type names
    are checked against each resource's `resourceType`."""
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise FhirPathError(f"Unknown resource type {resource_type!r}")
    lowering = _Lowering(expression, resource_type)
    return Compiled(expression, resource_type, lowering.lower(parse(expression)))
