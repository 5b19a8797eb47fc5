"""Splitting search values (https://hl7.org/fhir/R4/search.html#escaping): commas OR values,
`$` separates a composite's components, a backslash escapes either."""

from __future__ import annotations

from tobiume.search.query import split_components, split_values


def test_values_are_unescaped_for_plain_parameters() -> None:
    assert split_values("a,b\\,c") == ("a", "b,c")
    assert split_values("US\\$100") == ("US$100",)
    assert split_values("a\\\\,b") == ("a\\", "b")


def test_composite_values_keep_their_escapes_until_split_into_components() -> None:
    kept = split_values("X$US\\$100,Y$1\\,5", keep_escapes=True)
    assert kept == ("X$US\\$100", "Y$1\\,5")
    assert split_components(kept[0]) == ("X", "US$100")
    assert split_components(kept[1]) == ("Y", "1,5")
    # An escaped backslash before a `$` leaves the `$` a separator.
    assert split_components(split_values("a\\\\$b", keep_escapes=True)[0]) == ("a\\", "b")
