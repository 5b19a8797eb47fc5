"""A prefix as a range (`search.params.prefix`): a string starts with the prefix exactly when it
lies in `[prefix, successor)`, compared code point by code point (as PostgreSQL's pattern
operators and SQLite's BINARY collation compare UTF-8)."""

from __future__ import annotations

import itertools

import pytest

from tobiume.search.params.prefix import _successor

ALPHABET = ["a", "b", "や", "ま", "み", "\ud7ff", "\ue000", "\U0010ffff", "\x00"]


def _in_range(text: str, prefix: str) -> bool:
    successor = _successor(prefix)
    return text >= prefix and (successor is None or text < successor)


@pytest.mark.parametrize(
    ("prefix", "successor"),
    [
        ("やま", "やみ"),
        ("a", "b"),
        ("a\U0010ffff", "b"),
        ("\ud7ff", "\ue000"),
        ("\U0010ffff", None),
        ("\U0010ffff\U0010ffff", None),
    ],
)
def test_successor(prefix: str, successor: str | None) -> None:
    assert _successor(prefix) == successor


def test_range_is_exactly_the_strings_with_the_prefix() -> None:
    """Every string of up to three characters of a small alphabet (the last code point, the
    edges of the surrogate block and NUL among them), against every prefix of up to two."""
    texts = ["".join(t) for n in range(4) for t in itertools.product(ALPHABET, repeat=n)]
    prefixes = ["".join(p) for n in (1, 2) for p in itertools.product(ALPHABET, repeat=n)]
    for prefix in prefixes:
        for text in texts:
            assert _in_range(text, prefix) == text.startswith(prefix), (prefix, text)
