"""Parsing the FHIRPath subset that R4 SearchParameter expressions use
(https://hl7.org/fhir/R4/fhirpath.html, grammar and operator precedence:
http://hl7.org/fhirpath/N1/#operator-precedence) into a small syntax tree.

Supported: paths, `[n]` indexers, function calls, `|`, `=`, `!=`, `is`, `as`, `and`, `or`,
string/boolean/number literals, `%resource`-style variables and `$this`. Any other token (`<`,
`+`, `~`, ...) is refused here, at compile time, with its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class FhirPathError(ValueError):
    """An expression outside the supported subset, or malformed."""


@dataclass(frozen=True, slots=True)
class Node:
    """A syntax tree node; `source` is the input collection (None: the focus)."""


@dataclass(frozen=True, slots=True)
class This(Node):
    pass


@dataclass(frozen=True, slots=True)
class Variable(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any
    fhir_type: str


@dataclass(frozen=True, slots=True)
class TypeFilter(Node):
    """A leading type name (`Patient.name`): keeps the focus only if it is of that type."""

    type_name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    source: Node
    name: str


@dataclass(frozen=True, slots=True)
class Call(Node):
    source: Node
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Index(Node):
    source: Node
    index: Node


@dataclass(frozen=True, slots=True)
class TypeOp(Node):
    """`x is T` / `x as T` (and the function forms `is(T)`, `as(T)`, `ofType(T)`)."""

    source: Node
    op: str
    type_name: str


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)|(?P<var>%(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`))"
    r"|(?P<this>\$this)|(?P<op>!=|[=|().,\[\]]))"
)
_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t"}
_TYPE_FUNCTIONS = frozenset({"ofType", "as", "is"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            bad = text[pos:].lstrip()[:1]
            where = len(text) - len(text[pos:].lstrip())
            raise FhirPathError(f"Unsupported FHIRPath syntax {bad!r} at {where} in {text!r}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match[kind], match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.at = 0

    def fail(self, message: str) -> FhirPathError:
        token = self.tokens[self.at]
        return FhirPathError(f"{message} at {token.pos} in {self.text!r}")

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.tokens[self.at]
        if token.kind in ("op", "id") and token.text == text:
            self.at += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise self.fail(f"Expected {text!r}")

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            raise self.fail(f"Unsupported FHIRPath syntax {self.peek().text!r}")
        return node

    def expression(self) -> Node:
        node = self.conjunction()
        while self.accept("or"):
            node = Binary("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.equality()
        while self.accept("and"):
            node = Binary("and", node, self.equality())
        return node

    def equality(self) -> Node:
        node = self.union()
        for op in ("=", "!="):
            if self.accept(op):
                return Binary(op, node, self.union())
        return node

    def union(self) -> Node:
        node = self.type_expression()
        while self.accept("|"):
            node = Binary("|", node, self.type_expression())
        return node

    def type_expression(self) -> Node:
        node = self.postfix()
        for op in ("is", "as"):
            if self.accept(op):
                return TypeOp(node, op, self.type_specifier())
        return node

    def type_specifier(self) -> str:
        token = self.take()
        if token.kind != "id":
            raise self.fail("Expected a type name")
        name = token.text.strip("`")
        if name in ("FHIR", "System") and self.accept("."):
            name = self.take().text.strip("`")
        return name

    def postfix(self) -> Node:
        node = self.term()
        while True:
            if self.accept("."):
                node = self.invocation(node)
            elif self.accept("["):
                node = Index(node, self.expression())
                self.expect("]")
            else:
                return node

    def term(self) -> Node:
        token = self.peek()
        if token.kind == "str":
            self.at += 1
            return Literal(_unquote(token.text), "string")
        if token.kind == "num":
            self.at += 1
            if "." in token.text:
                return Literal(float(token.text), "decimal")
            return Literal(int(token.text), "integer")
        if token.kind == "var":
            self.at += 1
            return Variable(token.text[1:].strip("`"))
        if token.kind == "this":
            self.at += 1
            return This()
        if self.accept("("):
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "id" and token.text in ("true", "false"):
            self.at += 1
            return Literal(token.text == "true", "boolean")
        if token.kind == "id" and token.text[:1].isupper():
            self.at += 1
            return TypeFilter(token.text)
        if token.kind == "id":
            return self.invocation(This())
        raise self.fail(f"Unexpected {token.text or 'end of expression'!r}")

    def invocation(self, source: Node) -> Node:
        token = self.take()
        if token.kind != "id":
            raise self.fail("Expected a name")
        name = token.text.strip("`")
        if not self.accept("("):
            return Member(source, name)
        if name in _TYPE_FUNCTIONS:
            type_name = self.type_specifier()
            self.expect(")")
            return TypeOp(source, "as" if name == "ofType" else name, type_name)
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.expression())
            while self.accept(","):
                args.append(self.expression())
            self.expect(")")
        return Call(source, name, tuple(args))


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), body)


def parse(text: str) -> Node:
    """The syntax tree of `text`; FhirPathError for anything outside the subset."""
    return _Parser(text).parse()
