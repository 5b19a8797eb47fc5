"""Registered clients for tests of the token endpoint: real key pairs (RSA for RS384, EC P-384
for ES384), their public JWK Sets, client assertions signed with them in one line, and a JWK
Set published over HTTP (`JwksServer`)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.tokens import BASE
from tobiume.auth import endpoints
from tobiume.storage.clients import Client, add_client

TOKEN_URL = endpoints.token_endpoint(BASE)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class KeyPair:
    alg: str
    kid: str
    private_pem: bytes = field(repr=False)
    public_jwk: dict[str, Any]


@cache
def key_pair(alg: str = "ES384", kid: str = "k1") -> KeyPair:
    """A fresh key pair for `alg` (made once per test session per alg and kid)."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg.startswith("RS"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1()}[alg]
        private = ec.generate_private_key(curve)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = jwk.construct(pem, alg).public_key().to_dict()
    public = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public.items()}
    public.update(kid=kid, alg=alg, use="sig")
    return KeyPair(alg, kid, pem, public)


def jwks(*pairs: KeyPair) -> dict[str, Any]:
    return {"keys": [p.public_jwk for p in pairs]}


def assertion(
    client_id: str,
    pair: KeyPair | None = None,
    *,
    header: dict[str, Any] | None = None,
    alg: str | None = None,
    **claims: Any,
) -> str:
    """A client assertion as SMART Backend Services asks, with `claims` on top (None removes)."""
    pair = pair or key_pair()
    now = int(time.time())
    made: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
    }
    made.update(claims)
    made = {k: v for k, v in made.items() if v is not None}
    headers = {"kid": pair.kid, "typ": "JWT", **(header or {})}
    signed: str = jwt.encode(
        made, pair.private_pem.decode(), algorithm=alg or pair.alg, headers=headers
    )
    return signed


def token_form(client_assertion: str, scope: str = "system/*.rs", **extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }
    form.update(extra)
    return {k: v for k, v in form.items() if v is not None}


async def register(
    conn: AsyncConnection,
    *,
    client_id: str | None = None,
    keys: dict[str, Any] | None = None,
    jwks_url: str | None = None,
    role: str = "hospital",
    organization: str = "Organization/hosp-001",
    scopes: str = "system/*.rs system/Encounter.cu",
    disabled: bool = False,
) -> Client:
    new = Client(
        client_id=client_id or str(uuid.uuid4()),
        name="Test hospital EHR",
        organization=organization,
        role=role,
        scopes=scopes,
        jwks=keys if keys is not None else (None if jwks_url else jwks(key_pair())),
        jwks_url=jwks_url,
        disabled=disabled,
        created=datetime.now(UTC),
    )
    await add_client(conn, new)
    return new


class JwksServer:
    """A client's JWK Set published over HTTP on the loopback interface (the outside world a
    client registered by URL lives in), whose keys a test may change."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
