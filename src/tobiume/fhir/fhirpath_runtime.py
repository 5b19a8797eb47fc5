"""The run-time half of the FHIRPath subset (https://hl7.org/fhir/R4/fhirpath.html): result
items, navigation over FHIR JSON and the few operations the compiled closures call.

Navigation follows the JSON rules (https://hl7.org/fhir/R4/json.html): arrays flatten, `null`s in
primitive arrays are skipped, the `_x` keys of primitive extensions are not elements, and a
choice element `value[x]` is the key `value` + a type suffix (https://hl7.org/fhir/R4/formats.html#choice),
whose type the item remembers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from tobiume.fhir.datatypes import CHOICE_NAMES, CHOICE_SUFFIXES, SUBTYPES
from tobiume.fhir.resource_types import NOT_DOMAIN_RESOURCES, RESOURCE_TYPES, reference_target


class Value(NamedTuple):
    """One item of a result: the JSON value, and its FHIR type when the expression told it
    (`ofType`, `as`, a choice suffix, a literal), else None."""

    value: Any
    fhir_type: str | None


Items = list[Value]
Eval = Callable[[Items, Any], Items]  # (focus, root resource) -> result

_new = tuple.__new__
_STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"


def empty(focus: Items, root: Any) -> Items:
    return []


def identity(focus: Items, root: Any) -> Items:
    return focus


def root_focus(resource: Any) -> Items:
    """The initial focus: the resource itself, typed by its `resourceType`."""
    kind = resource.get("resourceType") if type(resource) is dict else None
    return [_new(Value, (resource, kind))]


def root_item(focus: Items, root: Any) -> Items:
    """`%resource`: the resource the expression started from, whatever the focus is now."""
    return root_focus(root)


def children(items: Items, name: str) -> Items:
    out: Items = []
    append = out.append
    for item in items:
        obj = item[0]
        if type(obj) is not dict:
            continue
        child = obj.get(name)
        if child is None:
            if name in CHOICE_NAMES:
                choice(obj, name, out)
        elif type(child) is list:
            for element in child:
                if element is not None:
                    append(_new(Value, (element, None)))
        else:
            append(_new(Value, (child, None)))
    return out


def choice(obj: dict[str, Any], name: str, out: Items) -> None:
    """The `name[x]` element of `obj`, typed by its suffix, if the JSON holds one."""
    size = len(name)
    for key, child in obj.items():
        if len(key) > size and key.startswith(name):
            fhir_type = CHOICE_SUFFIXES.get(key[size:])
            if fhir_type is not None and child is not None:
                out.append(_new(Value, (child, fhir_type)))
                return


def typed_choice(head: Eval, keys: tuple[tuple[str, str], ...]) -> Eval:
    """`x.ofType(T)` on a choice element `x[x]`: look up the keys `x` + `T` directly."""

    def evaluate(focus: Items, root: Any) -> Items:
        out: Items = []
        for item in head(focus, root):
            obj = item[0]
            if type(obj) is dict:
                for key, fhir_type in keys:
                    child = obj.get(key)
                    if child is not None:
                        out.append(_new(Value, (child, fhir_type)))
        return out

    return evaluate


def type_of(item: Value) -> str | None:
    if item[1] is not None:
        return item[1]
    value = item[0]
    return value.get("resourceType") if type(value) is dict else None


def is_type(item: Value, type_name: str) -> bool:
    actual = type_of(item)
    if actual is None:
        return False
    if actual == type_name:
        return True
    if type_name == "Resource":
        return actual in RESOURCE_TYPES
    if type_name == "DomainResource":
        return actual in RESOURCE_TYPES and actual not in NOT_DOMAIN_RESOURCES
    return actual in SUBTYPES.get(type_name, ())


def reference_type(value: Any, root: Any = None) -> str | None:
    """The resource type a Reference (or reference string) points at, as `resolve() is T`
    sees it: the type its literal reference names (a `#id` looks in `root.contained`), else its
    `type` element; None when neither says (canonical, urn, logical identifier only)."""
    ref = value.get("reference") if type(value) is dict else value
    if type(ref) is str:
        if ref.startswith("#") and type(root) is dict:
            for contained in root.get("contained") or ():
                if type(contained) is dict and contained.get("id") == ref[1:]:
                    found = contained.get("resourceType")
                    return found if type(found) is str else None
        target = reference_target(ref)
        if target is not None:
            return target.res_type
    declared = value.get("type") if type(value) is dict else None
    if type(declared) is str:
        declared = declared.removeprefix(_STRUCTURE_DEFINITION)
        return declared if declared in RESOURCE_TYPES else None
    return None


def truth(items: Items) -> bool | None:
    """Singleton evaluation of a collection as a Boolean (http://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections)."""
    if not items:
        return None
    value = items[0][0]
    return value if type(value) is bool else True


def equal(left: Any, right: Any) -> bool:
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right) and left == right
    return bool(left == right)


TRUE: Items = [Value(True, "boolean")]
FALSE: Items = [Value(False, "boolean")]


def as_items(flag: bool | None) -> Items:
    return [] if flag is None else (TRUE if flag else FALSE)
