"""Tokens of external identity providers (`auth.providers`): verified with the provider's keys
(a file, or a URL fetched and kept fresh), mapped to a principal by the configured claims, and
refused like the server's own when anything is off."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt

from tests.clients import JwksServer, KeyPair, jwks, key_pair
from tests.conftest import Backend, serve
from tobiume.config import Settings

STAFF = "https://login.city.example/realms/staff"
HOSPITAL = "http://127.0.0.1/hospital-idp"


def idp_token(pair: KeyPair, issuer: str = STAFF, **claims: Any) -> str:
    now = int(time.time())
    made: dict[str, Any] = {
        "iss": issuer,
        "aud": "tobiume",
        "sub": "nurse-7",
        "azp": "ward-viewer",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["offline_access", "ward-nurse"]},
        "org": "hosp-001",
        "practitioner_role": "pr-7",
        "scope": "openid user/*.rs",
    }
    made.update(claims)
    made = {k: v for k, v in made.items() if v is not None}
    signed: str = jwt.encode(
        made, pair.private_pem.decode(), algorithm=pair.alg, headers={"kid": pair.kid}
    )
    return signed


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def staff_key() -> KeyPair:
    return key_pair("RS256", kid="staff-1")


@pytest.fixture
async def server(
    backend: Backend, tmp_path: Path, staff_key: KeyPair
) -> AsyncIterator[httpx.AsyncClient]:
    keys_file = tmp_path / "staff-jwks.json"
    keys_file.write_text(json.dumps(jwks(staff_key)))
    providers = tmp_path / "providers.json"
    providers.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "issuer": STAFF,
                        "jwks": str(keys_file),
                        "audience": "tobiume",
                        "algorithms": ["RS256"],
                        "claims": {
                            "role": "realm_access.roles",
                            "organization": "org",
                            "practitioner": "practitioner_role",
                        },
                        "roles": {"ward-nurse": "hospital"},
                    }
                ]
            }
        )
    )
    settings = backend.settings.model_copy(update={"identity_providers_file": providers})
    async with serve(settings, headers=None) as http:
        yield http


async def test_a_provider_token_opens_the_api_as_its_mapped_principal(
    server: httpx.AsyncClient, staff_key: KeyPair
) -> None:
    token = idp_token(staff_key)
    assert (await server.get("Patient", headers=bearer(token))).status_code == 200
    refused_write = await server.post(
        "Patient", json={"resourceType": "Patient"}, headers=bearer(token)
    )
    assert refused_write.status_code == 403  # user/*.rs from the token's scope
    no_scope = idp_token(staff_key, scope=None)  # and no provider default: nothing granted
    assert (await server.get("Patient", headers=bearer(no_scope))).status_code == 403


CRAFTED: dict[str, dict[str, Any]] = {
    "wrong audience": {"aud": "someone-else"},
    "expired": {"exp": int(time.time()) - 60},
    "no role this network knows": {"realm_access": {"roles": ["offline_access"]}},
    "no organisation": {"org": None},
    "no iat": {"iat": None},
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
async def test_crafted_provider_tokens_are_refused(
    server: httpx.AsyncClient, staff_key: KeyPair, case: str
) -> None:
    answer = await server.get("Patient", headers=bearer(idp_token(staff_key, **CRAFTED[case])))
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith('Bearer realm="tobiume", error=')


async def test_keys_and_algorithms_the_provider_does_not_use_are_refused(
    server: httpx.AsyncClient, staff_key: KeyPair
) -> None:
    stranger = key_pair("RS256", kid="staff-1-forged")
    forged = idp_token(stranger)
    same_kid = jwt.encode(
        jwt.get_unverified_claims(forged),
        stranger.private_pem.decode(),
        algorithm="RS256",
        headers={"kid": "staff-1"},
    )
    wrong_alg = idp_token(key_pair("RS384", kid="staff-1"))
    hmac = jwt.encode(
        jwt.get_unverified_claims(forged),
        json.dumps(staff_key.public_jwk),
        algorithm="HS256",
        headers={"kid": "staff-1"},
    )
    for token in (forged, same_kid, wrong_alg, hmac):
        assert (await server.get("Patient", headers=bearer(token))).status_code == 401


async def test_keys_at_a_url_are_fetched_and_a_rotated_key_is_fetched_again(
    backend: Backend, tmp_path: Path
) -> None:
    first, second = key_pair("ES256", kid="h-1"), key_pair("ES256", kid="h-2")
    with JwksServer(jwks(first)) as published:
        providers = tmp_path / "providers.json"
        providers.write_text(
            json.dumps(
                {
                    "providers": [
                        {
                            "issuer": HOSPITAL,
                            "jwks": published.url,
                            "algorithms": ["ES256"],
                            "scope": "user/Patient.rs",
                        }
                    ]
                }
            )
        )
        settings: Settings = backend.settings.model_copy(
            update={"identity_providers_file": providers}
        )
        claims = {"aud": "http://test/fhir", "role": "clinic", "organization": "Organization/c1"}
        async with serve(settings, headers=None) as server:
            token = idp_token(first, issuer=HOSPITAL, scope=None, **claims)
            assert (await server.get("Patient", headers=bearer(token))).status_code == 200
            assert (await server.get("Observation", headers=bearer(token))).status_code == 403
            published.document = jwks(first, second)
            rotated = idp_token(second, issuer=HOSPITAL, scope=None, **claims)
            assert (await server.get("Patient", headers=bearer(rotated))).status_code == 401
            for _ in range(50):  # the refused token asked for the set again, in the background
                if published.requests >= 2:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)
            assert (await server.get("Patient", headers=bearer(rotated))).status_code == 200


def test_symmetric_algorithms_cannot_be_configured(tmp_path: Path) -> None:
    from tobiume.auth.providers import ProviderConfigError, load_providers

    bad = tmp_path / "providers.json"
    bad.write_text(
        json.dumps({"providers": [{"issuer": STAFF, "jwks": "k.json", "algorithms": ["HS256"]}]})
    )
    with pytest.raises(ProviderConfigError, match="algorithms"):
        load_providers(bad, "http://test/fhir")
