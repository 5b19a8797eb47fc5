"""The whole city, resource by resource: the directory first, then each citizen in turn.

`city` is a generator, so a city of any size streams in constant memory. Its output depends
only on (citizens, seed, as_of): every random choice comes from a stream seeded by the seed and
the directory or the citizen's number, and no clock is read, so the same arguments give the
same resources in the same order, and a smaller city is a prefix of a larger one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from tobiume.demo import care, checkup, citizens, facilities
from tobiume.demo.facilities import Directory
from tobiume.demo.medical import Medical

AS_OF = date(2026, 11, 1)
"""The day the city is generated as of (its "today"); fixed so that output never depends on
when it was generated."""


def city(count: int, seed: int = 1, as_of: date = AS_OF) -> Iterator[dict[str, Any]]:
    """The directory's resources, then those of citizens 1..`count`."""
    directory = facilities.build(seed)
    yield from directory.resources
    for number in range(1, count + 1):
        yield from citizen(directory, seed, number, as_of)


def citizen(
    directory: Directory, seed: int, number: int, as_of: date = AS_OF
) -> list[dict[str, Any]]:
    """Every resource of citizen `number`: Patient, Consent, medical, care and checkup records."""
    person = citizens.draw(directory, seed, number, as_of)
    medical = Medical(person, directory)
    records = medical.build()
    out = [citizens.patient(person), citizens.consent(person, directory), *records]
    if person.care_level is not None:
        out.extend(care.records(person, directory, medical.conditions))
    out.extend(checkup.records(person))
    return out
