"""`POST /auth/token`: SMART Backend Services' client-credentials grant with real key pairs,
through HTTP on both backends; the tokens it issues open the FHIR API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from jose import jwt

from tests import tokens
from tests.clients import TOKEN_URL, JwksServer, assertion, jwks, key_pair, register, token_form
from tests.conftest import Backend, serve
from tobiume.auth.client_keys import ClientKeys
from tobiume.config import Settings
from tobiume.main import create_app

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
async def server(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(backend.settings, headers=None) as http:
        yield http


async def ask(http: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    return await http.post(TOKEN_URL, data=form)


def refused(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.json()
    assert response.headers["cache-control"] == "no-store"


async def test_the_whole_flow_with_es384_and_rs384(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    for alg in ("ES384", "RS384"):
        pair = key_pair(alg, kid=f"{alg}-1")
        async with backend.database.write() as conn:
            client = await register(conn, keys=jwks(pair))
        response = await ask(server, token_form(assertion(client.client_id, pair), "system/*.rs"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == backend.settings.token_lifetime_seconds
        assert body["scope"] == "system/*.rs"
        assert response.headers["cache-control"] == "no-store"
        claims = jwt.get_unverified_claims(body["access_token"])
        assert claims["sub"] == client.client_id
        assert claims["role"] == "hospital"
        assert claims["organization"] == "Organization/hosp-001"
        assert claims["aud"] == "http://test/fhir"
        assert claims["iss"] == "http://test/auth"
        assert claims["exp"] - claims["iat"] == backend.settings.token_lifetime_seconds
        header = jwt.get_unverified_header(body["access_token"])
        assert header["kid"] == tokens.keys().current.kid
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        read = await server.get("Patient", headers=bearer)
        assert read.status_code == 200, read.text
        write = await server.post("Patient", json={"resourceType": "Patient"}, headers=bearer)
        assert write.status_code == 403  # registered for reads only (and Encounter writes)


async def test_scopes_are_narrowed_to_the_registration(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    async with backend.database.write() as conn:
        client = await register(conn, scopes="system/*.rs system/Encounter.cu")
    asked = "system/Observation.cruds system/Encounter.write openid system/Patient.rs?gender=male"
    response = await ask(server, token_form(assertion(client.client_id), asked))
    assert response.status_code == 200, response.text
    granted = response.json()["scope"].split()
    assert granted == [
        "system/Observation.rs",
        "system/Encounter.cu",  # .write is cud: nothing of it meets *.rs
        "system/Patient.rs?gender=male",
    ]
    nothing = await ask(server, token_form(assertion(client.client_id), "system/Patient.d"))
    refused(nothing, "invalid_scope")


async def test_a_replayed_assertion_is_refused(backend: Backend, server: httpx.AsyncClient) -> None:
    async with backend.database.write() as conn:
        client = await register(conn)
    signed = assertion(client.client_id)
    assert (await ask(server, token_form(signed))).status_code == 200
    refused(await ask(server, token_form(signed)), "invalid_client")


async def test_one_assertion_sent_twice_at_once_gets_one_token(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    async with backend.database.write() as conn:
        client = await register(conn)
    signed = assertion(client.client_id)
    answers = await asyncio.gather(*(ask(server, token_form(signed)) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]


CRAFTED: dict[str, dict[str, Any]] = {
    "aud is the FHIR base, not the token endpoint": {"aud": "http://test/fhir"},
    "expired": {"exp": int(time.time()) - 120},
    "exp more than five minutes ahead": {"exp": int(time.time()) + 900},
    "no exp": {"exp": None},
    "no jti": {"jti": None},
    "iss is not sub": {"iss": "someone-else"},
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
async def test_crafted_assertions_are_refused(
    backend: Backend, server: httpx.AsyncClient, case: str
) -> None:
    async with backend.database.write() as conn:
        client = await register(conn)
    response = await ask(server, token_form(assertion(client.client_id, **CRAFTED[case])))
    refused(response, "invalid_client")


async def test_wrong_keys_and_algorithms_are_refused(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    registered = key_pair("ES384", kid="k1")
    async with backend.database.write() as conn:
        client = await register(conn, keys=jwks(registered))
    cid = client.client_id
    stranger = key_pair("ES384", kid="stranger")
    impostor = assertion(cid, stranger, header={"kid": "k1"})  # signed by another key
    cases = {
        "signed by a key not registered under its kid": impostor,
        "unknown kid": assertion(cid, stranger),
        "RS256": assertion(cid, key_pair("RS384", kid="k1"), alg="RS256"),
        "an RSA key where the registered k1 is EC": assertion(cid, key_pair("RS384", kid="k1")),
        "HS256 keyed with the public key": jwt.encode(
            {"iss": cid, "sub": cid, "aud": TOKEN_URL, "exp": int(time.time()) + 60, "jti": "x"},
            str(registered.public_jwk),
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
        "alg none": _unsigned(cid),
        "jku elsewhere": assertion(cid, registered, header={"jku": "https://evil.example/jwks"}),
        "not a JWT": "not-a-jwt",
    }
    for name, signed in cases.items():
        answer = await ask(server, token_form(signed))
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client"), name


def _unsigned(client_id: str) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": int(time.time()) + 60}
    return f"{part({'alg': 'none', 'kid': 'k1'})}.{part({**claims, 'jti': 'n'})}."


async def test_unknown_and_disabled_clients_are_refused_alike(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    async with backend.database.write() as conn:
        disabled = await register(conn, disabled=True)
    unknown = await ask(server, token_form(assertion("no-such-client")))
    off = await ask(server, token_form(assertion(disabled.client_id)))
    refused(unknown, "invalid_client")
    refused(off, "invalid_client")
    assert unknown.json() == off.json()


async def test_malformed_requests(backend: Backend, server: httpx.AsyncClient) -> None:
    async with backend.database.write() as conn:
        client = await register(conn)
    cid = client.client_id
    refused(
        await ask(server, token_form(assertion(cid), grant_type="authorization_code")),
        "unsupported_grant_type",
    )
    refused(
        await ask(server, token_form(assertion(cid), client_assertion_type="basic")),
        "invalid_request",
    )
    refused(await ask(server, token_form(assertion(cid), scope="")), "invalid_request")
    as_json = await server.post(TOKEN_URL, json=token_form(assertion(cid)))
    refused(as_json, "invalid_request")
    twice = await server.post(
        TOKEN_URL,
        content=httpx.QueryParams(token_form(assertion(cid))).add("scope", "system/*.rs").__str__(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(twice, "invalid_request")
    other = await ask(server, token_form(assertion(cid), client_id="another"))
    refused(other, "invalid_client")
    assert (await server.get(TOKEN_URL)).status_code in (401, 405)


@asynccontextmanager
async def from_address(settings: Settings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server on `settings` and a client of it that connects from `address`."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test/fhir/") as http:
            yield http


async def test_failed_attempts_are_limited_per_client_and_per_address(backend: Backend) -> None:
    settings = backend.settings.model_copy(update={"token_failure_limit": 3})
    async with backend.database.write() as conn:
        first = await register(conn)
        second = await register(conn)
    async with from_address(settings, "192.0.2.1") as server:
        for _ in range(3):
            bad = assertion(first.client_id, aud="http://elsewhere/token")
            refused(await ask(server, token_form(bad)), "invalid_client")
        good = await ask(server, token_form(assertion(first.client_id)))
        refused(good, "invalid_client", status=429)
        assert int(good.headers["retry-after"]) == settings.token_failure_window_seconds
        other_client = await ask(server, token_form(assertion(second.client_id)))
        refused(other_client, "invalid_client", status=429)  # the address is limited
    async with from_address(settings, "192.0.2.2") as server:
        same_client = await ask(server, token_form(assertion(first.client_id)))
        refused(same_client, "invalid_client", status=429)  # and the client, from anywhere
        fresh = await ask(server, token_form(assertion(second.client_id)))
        assert fresh.status_code == 200, fresh.text


async def test_keys_published_at_a_url_are_fetched_and_cached(
    backend: Backend, server: httpx.AsyncClient
) -> None:
    pair = key_pair("ES384", kid="url-1")
    with JwksServer(jwks(pair)) as published:
        async with backend.database.write() as conn:
            client = await register(conn, jwks_url=published.url)
        for _ in range(2):
            answer = await ask(server, token_form(assertion(client.client_id, pair)))
            assert answer.status_code == 200, answer.text
        assert published.requests == 1
        jku = assertion(client.client_id, pair, header={"jku": published.url})
        assert (await ask(server, token_form(jku))).status_code == 200
        stranger = assertion(client.client_id, key_pair("ES384", kid="url-2"))
        refused(await ask(server, token_form(stranger)), "invalid_client")


async def test_a_new_kid_refetches_the_set_but_not_more_often_than_the_minimum() -> None:
    old, new = key_pair("ES384", kid="set-old"), key_pair("RS384", kid="set-new")
    with JwksServer(jwks(old)) as published:
        keys = ClientKeys(ttl=300, min_refetch=0.3)
        assert await keys.find(None, published.url, "set-old") == old.public_jwk
        published.document = jwks(old, new)
        assert await keys.find(None, published.url, "set-new") is None  # too soon
        assert published.requests == 1
        await asyncio.sleep(0.35)
        assert await keys.find(None, published.url, "set-new") == new.public_jwk
        assert await keys.find(None, published.url, "set-old") == old.public_jwk
        assert published.requests == 2
        assert await keys.find(None, "http://192.0.2.1/jwks.json", "set-old") is None
