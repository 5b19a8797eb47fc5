"""Access tokens for tests, in one line: `token(role="hospital")`, `auth(role="auditor",
scope="system/AuditEvent.rs")` (headers for httpx).

Every test server (`tests.conftest`) verifies with the key set in `KEY_FILE`, made once per
test session in a temporary directory, and the issuer and audience of the test base URL; the
helpers sign with the same set, so their tokens are accepted unless a test crafts them not to
be (`claims` overrides or adds any claim; `header` any header).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

from jose import jwt

from tobiume.auth import endpoints
from tobiume.auth.keys import KeySet, load_or_create
from tobiume.auth.tokens import TOKEN_TYPE

BASE = "http://test/fhir"
ISSUER = endpoints.issuer(BASE)
AUDIENCE = endpoints.audience(BASE)
_DIRECTORY = Path(tempfile.mkdtemp(prefix="tobiume-test-keys-"))
atexit.register(shutil.rmtree, _DIRECTORY, ignore_errors=True)
KEY_FILE = _DIRECTORY / "signing-keys.json"
"""The session's signing keys (tests that rotate keys copy them elsewhere first)."""


@cache
def keys() -> KeySet:
    return load_or_create(KEY_FILE)


def claims_for(
    role: str = "admin",
    org: str = "Organization/h1",
    scope: str = "system/*.cruds",
    **claims: Any,
) -> dict[str, Any]:
    """The claims of a valid token of this server, with `claims` on top (None removes one)."""
    now = int(time.time())
    made: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"{org}/{role}",
        "client_id": "tests",
        "iat": now,
        "exp": now + 300,
        "jti": f"test-{time.monotonic_ns()}",
        "scope": scope,
        "role": role,
        "organization": org,
    }
    made.update(claims)
    return {k: v for k, v in made.items() if v is not None}


def token(
    role: str = "admin",
    org: str = "Organization/h1",
    scope: str = "system/*.cruds",
    *,
    key_set: KeySet | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A token signed with the test keys (or `key_set`), ES384, its `kid` in the header."""
    signing = (key_set or keys()).current
    headers = {"kid": signing.kid, "typ": TOKEN_TYPE, **(header or {})}
    signed: str = jwt.encode(
        claims_for(role, org, scope, **claims), signing.signer, algorithm="ES384", headers=headers
    )
    return signed


def auth(
    role: str = "admin", org: str = "Organization/h1", scope: str = "system/*.cruds", **claims: Any
) -> dict[str, str]:
    """`Authorization: Bearer` headers with `token(...)`."""
    return {"Authorization": f"Bearer {token(role, org, scope, **claims)}"}


ADMIN = auth(exp=int(time.time()) + 7 * 86_400)
"""What the shared `client` fixture sends: an admin with `system/*.cruds`, valid for a week, so
that it outlives any test session (a token of the usual five minutes would expire in one)."""
