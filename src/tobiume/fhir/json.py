"""Reading and writing FHIR JSON (https://hl7.org/fhir/R4/json.html), within configured bounds.

Bodies are parsed with orjson and then walked once to enforce the bounds no parser enforces by
itself (nesting depth, string length), so that no input can cost unbounded work: a body past a
bound is a 4xx, never a 500 or a hang. The body a client sent is what the server stores, with
only `id` and `meta` set by the server; it is written back with orjson, never re-dumped from a
model (DESIGN.md, "Speed").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tobiume.errors import BadRequest, TooLarge


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The bounds a parsed body must stay within."""

    max_bytes: int = 33_554_432
    max_depth: int = 64
    max_string_length: int = 1_048_576


def parse_json(raw: bytes, limits: JsonLimits) -> Any:
    """Parse a request body; malformed JSON is 400, anything past a bound is 413."""
    if len(raw) > limits.max_bytes:
        raise TooLarge(f"Body of {len(raw)} bytes is over the limit of {limits.max_bytes}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON: {exc}") from exc
    if len(raw) <= limits.max_string_length:
        # No string can be longer than the text it was parsed from: only the depth is left.
        check_depth(value, limits.max_depth)
    else:
        check_bounds(value, limits)
    return value


def check_depth(value: Any, max_depth: int) -> None:
    """Enforce the depth bound alone, without recursion."""
    if type(value) is not dict and type(value) is not list:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise TooLarge(f"JSON nesting deeper than {max_depth} levels")
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))


def check_bounds(value: Any, limits: JsonLimits) -> None:
    """Enforce depth and string-length bounds without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    max_depth = limits.max_depth
    max_len = limits.max_string_length
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise TooLarge(f"JSON nesting deeper than {max_depth} levels")
            for key, child in item.items():
                if len(key) > max_len:
                    raise TooLarge(f"A JSON key is longer than {max_len} characters")
                if isinstance(child, (dict, list)):
                    stack.append((child, depth + 1))
                elif isinstance(child, str) and len(child) > max_len:
                    raise TooLarge(f"The value of {key!r} is longer than {max_len} characters")
        elif isinstance(item, list):
            if depth > max_depth:
                raise TooLarge(f"JSON nesting deeper than {max_depth} levels")
            for child in item:
                if isinstance(child, (dict, list)):
                    stack.append((child, depth + 1))
                elif isinstance(child, str) and len(child) > max_len:
                    raise TooLarge(f"A JSON string is longer than {max_len} characters")
        elif isinstance(item, str) and len(item) > max_len:
            raise TooLarge(f"A JSON string is longer than {max_len} characters")


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (Japanese names stay readable in storage)."""
    return orjson.dumps(value).decode()


def dumpb(value: Any) -> bytes:
    return orjson.dumps(value)
