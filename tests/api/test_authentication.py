"""No token, no answer: every refusal of a token is a 401 with a Bearer challenge (RFC 6750
section 3), each route but the public ones needs one, and `tobiume token` makes tokens the
server accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from jose import jwk, jwt

from tests.conftest import BASE, Backend, serve
from tests.tokens import AUDIENCE, ISSUER, KEY_FILE, auth, claims_for, keys, token
from tobiume.auth.keys import KeySet, new_key
from tobiume.main import create_app

CHALLENGE = re.compile(
    r'Bearer realm="tobiume", error="invalid_token", error_description="[ !#-\[\]-~]*"'
)
NOW = int(time.time())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """`header.claims.` with an empty signature (the `alg: none` form, RFC 7519 section 6)."""
    parts = (json.dumps(header).encode(), json.dumps(claims).encode())
    return ".".join(_b64(p) for p in parts) + "."


def _hs256_with_public_key() -> str:
    """The key-confusion attack: HMAC keyed with the server's public key, which anyone has."""
    pem = _public_pem()
    header = {"alg": "HS256", "typ": "JWT", "kid": keys().current.kid}
    signing_input = ".".join(_b64(json.dumps(p).encode()) for p in (header, claims_for())).encode()
    signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return signing_input.decode() + "." + _b64(signature)


def _public_pem() -> bytes:
    public = jwk.construct(keys().current.public_jwk(), "ES384")
    pem: bytes = public.to_pem()
    return pem


def _other_key_same_kid() -> str:
    impostor = new_key()
    forged = KeySet((impostor,))
    return token(key_set=forged, header={"kid": keys().current.kid})


REFUSED: dict[str, Any] = {
    "malformed": lambda: "not-a-jwt",
    "three garbage parts": lambda: "a.b.c",
    "expired": lambda: token(iat=NOW - 600, exp=NOW - 120),
    "not yet valid (nbf)": lambda: token(nbf=NOW + 600),
    "not yet valid (iat)": lambda: token(iat=NOW + 600, exp=NOW + 900),
    "wrong signature": _other_key_same_kid,
    "wrong issuer": lambda: token(iss="https://idp.example.org/auth"),
    "wrong audience": lambda: token(aud="http://other.example.org/fhir"),
    "alg none": lambda: _unsigned({"alg": "none", "kid": keys().current.kid}, claims_for()),
    "alg none, no kid": lambda: _unsigned({"alg": "none"}, claims_for()),
    "HS256 keyed with the public key": _hs256_with_public_key,
    "unknown kid": lambda: token(header={"kid": "no-such-key"}),
    "no kid": lambda: _unsigned({"alg": "ES384"}, claims_for()) + "AAAA",
    "jku header": lambda: token(header={"jku": "https://evil.example.org/jwks.json"}),
    "x5u header": lambda: token(header={"x5u": "https://evil.example.org/cert.pem"}),
    "jwk header": lambda: token(header={"jwk": keys().current.public_jwk()}),
    "x5c header": lambda: token(header={"x5c": ["MIIB"]}),
    "crit header": lambda: token(header={"crit": ["exp"]}),
    "no exp": lambda: token(exp=None),
    "no iat": lambda: token(iat=None),
    "no iss": lambda: token(iss=None),
    "no aud": lambda: token(aud=None),
    "no sub": lambda: token(sub=None),
    "unknown role": lambda: token(role="wizard"),
    "organization not a reference": lambda: token(org="h1"),
    "exp not a number": lambda: token(exp="tomorrow"),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_each_refusal_is_401_with_a_bearer_challenge(
    anonymous: httpx.AsyncClient, case: str
) -> None:
    bearer = {"Authorization": f"Bearer {REFUSED[case]()}"}
    response = await anonymous.get("Patient", headers=bearer)
    assert response.status_code == 401, response.text
    assert CHALLENGE.fullmatch(response.headers["www-authenticate"]), response.headers
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "login"


@pytest.mark.parametrize(
    "header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc", "bearer"]
)
async def test_no_bearer_token_is_401(anonymous: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await anonymous.get("Patient", headers=headers)
    assert response.status_code == 401
    assert CHALLENGE.fullmatch(response.headers["www-authenticate"])


async def test_a_valid_token_is_accepted_in_any_case_of_bearer(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("Patient", headers={"Authorization": f"bearer {token()}"})
    assert response.status_code == 200


async def test_a_token_within_the_leeway_is_accepted(anonymous: httpx.AsyncClient) -> None:
    """Clocks a little apart: `iat` and `nbf` may be up to 30 s ahead."""
    early = token(iat=NOW + 10, nbf=NOW + 10, exp=NOW + 300)
    response = await anonymous.get("Patient", headers={"Authorization": f"Bearer {early}"})
    assert response.status_code == 200, response.text


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "Patient/1", path)


PUBLIC = {
    "/fhir/metadata",
    "/.well-known/smart-configuration",
    "/fhir/.well-known/smart-configuration",
    "/healthz",
    "/readyz",
}


async def test_every_route_needs_a_token_but_the_public_ones(backend: Backend) -> None:
    app = create_app(backend.settings)
    routes = [
        (getattr(r, "path", ""), sorted(getattr(r, "methods", None) or ())) for r in app.routes
    ]
    assert {path for path, _ in routes} >= {"/fhir", "/fhir/{path:path}", "/openapi.json"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            walked = 0
            for path, methods in routes:
                assert methods, path
                for method in methods:
                    url = _concrete(path)
                    response = await http.request(method, url)
                    walked += 1
                    if url in PUBLIC and method in ("GET", "HEAD"):
                        assert response.status_code == 200, (method, url)
                    elif (method, url) == ("POST", "/auth/token"):
                        # Authenticated by the client assertion in its body, not by a token:
                        # with none, an OAuth error and nothing else (RFC 6749 section 5.2).
                        assert response.status_code == 400, response.text
                        assert response.json()["error"] == "invalid_request"
                    else:
                        assert response.status_code == 401, (method, url, response.text)
                        assert CHALLENGE.fullmatch(response.headers["www-authenticate"])
            assert walked >= 12
            for path in PUBLIC:
                assert (await http.get(path)).status_code == 200, path
            for path in ("/nowhere", "/fhir/Patient/1/$everything", "/docs", "/openapi.json"):
                assert (await http.get(path)).status_code == 401, path
            assert (await http.post("/fhir/metadata", json={})).status_code == 401


async def test_smart_configuration(anonymous: httpx.AsyncClient) -> None:
    for url in ("http://test/.well-known/smart-configuration", ".well-known/smart-configuration"):
        response = await anonymous.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        document = response.json()
        assert document["token_endpoint"] == "http://test/auth/token"
        assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert set(document["token_endpoint_auth_signing_alg_values_supported"]) == {
            "RS384",
            "ES384",
        }
        assert document["grant_types_supported"] == ["client_credentials"]
        assert "system/*.cruds" in document["scopes_supported"]
        assert set(document["capabilities"]) >= {
            "client-confidential-asymmetric",
            "permission-v2",
            "permission-v1",
        }


async def test_capability_statement_names_smart_and_the_token_endpoint(
    anonymous: httpx.AsyncClient,
) -> None:
    statement = (await anonymous.get("metadata")).json()
    security = statement["rest"][0]["security"]
    (coding,) = security["service"][0]["coding"]
    assert coding["system"] == "http://terminology.hl7.org/CodeSystem/restful-security-service"
    assert coding["code"] == "SMART-on-FHIR"
    (uris,) = security["extension"]
    assert uris["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert uris["extension"] == [{"url": "token", "valueUri": "http://test/auth/token"}]


def _cli(*args: str, key_file: Path = KEY_FILE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOBIUME_")}
    env |= {"TOBIUME_SIGNING_KEY_FILE": str(key_file), "TOBIUME_BASE_URL": BASE}
    cli = Path(sys.executable).with_name("tobiume")
    return subprocess.run([str(cli), *args], env=env, capture_output=True, text=True)


async def test_tobiume_token_prints_a_token_the_server_accepts(
    anonymous: httpx.AsyncClient,
) -> None:
    made = _cli("token", "--role", "hospital", "--org", "Organization/h1", "--purpose", "TREAT")
    assert made.returncode == 0, made.stderr
    text = made.stdout.strip()
    claims = jwt.get_unverified_claims(text)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["role"] == "hospital"
    assert claims["organization"] == "Organization/h1"
    assert claims["scope"] == "system/*.cruds"
    assert claims["purpose_of_use"] == "TREAT"
    assert claims["exp"] - claims["iat"] == 300
    bearer = {"Authorization": f"Bearer {text}"}
    assert (await anonymous.get("Patient", headers=bearer)).status_code == 200


def test_tobiume_token_defaults_and_refusals() -> None:
    person = _cli(
        "token",
        "--role",
        "care-manager",
        "--org",
        "Organization/cm1",
        "--practitioner",
        "PractitionerRole/pr1",
        "--ttl",
        "60",
    )
    claims = jwt.get_unverified_claims(person.stdout.strip())
    assert claims["scope"] == "user/*.cruds"
    assert claims["fhirUser"] == "PractitionerRole/pr1"
    assert claims["sub"] == "PractitionerRole/pr1"
    assert claims["exp"] - claims["iat"] == 60
    citizen = _cli("token", "--role", "citizen", "--org", "Organization/city", "--patient", "c1")
    claims = jwt.get_unverified_claims(citizen.stdout.strip())
    assert claims["scope"] == "patient/*.rs"
    assert claims["patient"] == "c1"
    assert _cli("token", "--role", "citizen", "--org", "Organization/city").returncode == 2
    assert _cli("token", "--role", "wizard", "--org", "Organization/h1").returncode == 2
    assert _cli("token", "--role", "admin", "--org", "h1 h2").returncode != 0


async def test_a_token_for_the_wrong_server_is_refused(backend: Backend) -> None:
    """Another deployment (another base URL) with the same key file: its tokens name another
    issuer and audience."""
    settings = backend.settings.model_copy(update={"base_url": "http://elsewhere/fhir"})
    async with serve(settings, headers=auth()) as http:
        response = await http.get("http://elsewhere/fhir/Patient")
        assert response.status_code == 401
        assert "issuer" in response.headers["www-authenticate"]


def test_public_key_pem_is_a_public_key() -> None:
    """The HS256 case above keys its HMAC with what a client could fetch: the public key."""
    loaded = serialization.load_pem_public_key(_public_pem())
    assert loaded is not None


async def test_the_challenge_stays_short_and_clean(anonymous: httpx.AsyncClient) -> None:
    """The description may quote the token's own header or claims: bounded, printable ASCII."""
    odd = token(iss='"evil"\\ 病院 ' + "x" * 5000)
    response = await anonymous.get("Patient", headers={"Authorization": f"Bearer {odd}"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert CHALLENGE.fullmatch(challenge)
    assert len(challenge) < 300
