"""The synthetic city, loaded once per backend for the search modules that only read it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.city_world import City, load
from tests.conftest import Backend, serve


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city_backend(request: pytest.FixtureRequest) -> Backend:
    """The session's backend for this module's parametrisation (sync, as `chosen_backend`)."""
    name = "pg_backend" if request.param == "postgresql" else "sqlite_backend"
    chosen: Backend = request.getfixturevalue(name)
    return chosen


@pytest.fixture(scope="module")
async def loaded(
    city_backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[City]:
    """The city on one backend, shared by the tests of a module (they only read it)."""
    async with serve(city_backend.settings) as client:
        world, mark = await load(city_backend, client, tmp_path_factory.mktemp("city"))
        yield City(client, world, mark, city_backend.name)
