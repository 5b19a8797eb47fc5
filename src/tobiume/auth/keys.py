"""The server's signing keys: a JSON Web Key Set (RFC 7517 section 5) of private EC P-384 keys
for ES384 (RFC 7518 section 3.4), in one file that the server and `tobiume token` share.

Each key carries its `kid` (the RFC 7638 thumbprint of its public part), `created_at` and,
once a newer key has replaced it, `retired_at` (seconds since the epoch; members a JWK may
carry, RFC 7517 section 4). The newest key comes first and signs; the others only verify.
`rotate` puts a new key first and retires the old one; a retired key verifies until the
tokens it signed have expired (the token lifetime after its retirement), and the next rotation
after that prunes it. A token issued with a longer `--ttl` than the lifetime stops verifying
once its key is pruned.

The file is written with mode 0600 and atomically (a temporary file renamed into place), so a
reader sees the old set or the new one. The first set is created with `os.link`, which fails
when another process got there first: two workers starting at once agree on one key set.
A running server notices a rotation by the file's change (`KeyFile.refresh`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk
from jose.backends.base import Key

ALGORITHM = "ES384"
CURVE = "P-384"


class KeyFileError(Exception):
    """The key file cannot be read as this server's key set."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key of the set: its private JWK and, built once, the jose keys that use it."""

    kid: str
    private_jwk: dict[str, Any] = field(repr=False)
    created_at: int
    retired_at: int | None = None
    signer: Key = field(init=False, repr=False, compare=False)
    verifier: Key = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        signer = jwk.construct(self.private_jwk, ALGORITHM)
        object.__setattr__(self, "signer", signer)
        object.__setattr__(self, "verifier", signer.public_key())

    def public_jwk(self) -> dict[str, Any]:
        """The public part as a JWK, for a JWKS endpoint (RFC 7517 section 4)."""
        return {**self.verifier.to_dict(), "kid": self.kid, "use": "sig"}

    def stored(self) -> dict[str, Any]:
        return {
            **self.private_jwk,
            "kid": self.kid,
            "use": "sig",
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: tuple[SigningKey, ...]
    """Newest first; never empty."""

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def find(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def stored(self) -> dict[str, Any]:
        return {"keys": [k.stored() for k in self.keys]}


def thumbprint(public: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an EC public key: SHA-256 over its required members in
    lexicographic order, base64url without padding."""
    members = {name: public[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def new_key(now: float | None = None) -> SigningKey:
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_jwk = jwk.construct(pem, ALGORITHM).to_dict()
    created = int(time.time() if now is None else now)
    return SigningKey(thumbprint(private_jwk), private_jwk, created)


def parse(document: Any) -> KeySet:
    """The key set in a parsed key file."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise KeyFileError("the key file holds no keys")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "EC" or entry.get("crv") != CURVE:
            raise KeyFileError(f"only EC {CURVE} keys are used; found {entry!r:.60}")
        if not all(isinstance(entry.get(name), str) for name in ("kid", "x", "y", "d")):
            raise KeyFileError("every key needs kid, x, y and d")
        private_jwk = {
            "alg": ALGORITHM,
            "kty": "EC",
            "crv": CURVE,
            **{name: entry[name] for name in ("x", "y", "d")},
        }
        retired = entry.get("retired_at")
        try:
            keys.append(
                SigningKey(
                    entry["kid"],
                    private_jwk,
                    int(entry.get("created_at") or 0),
                    None if retired is None else int(retired),
                )
            )
        except Exception as exc:  # jose raises several kinds for a key it cannot use
            raise KeyFileError(f"key {entry['kid']!r} is not a usable {CURVE} key") from exc
    return KeySet(tuple(keys))


def load(path: Path) -> KeySet:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc}") from exc
    return parse(document)


def load_or_create(path: Path) -> KeySet:
    """The key set in `path`, made with one new key first if the file does not exist."""
    if not path.exists():
        fresh = KeySet((new_key(),))
        try:
            _write(path, fresh, exclusive=True)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            return fresh
    return load(path)


def rotate(path: Path, grace_seconds: int, now: float | None = None) -> KeySet:
    """Put a new key first, retire the one that signed until now, and prune keys retired more
    than `grace_seconds` ago (the token lifetime: no token they signed is still valid)."""
    at = int(time.time() if now is None else now)
    old = load_or_create(path)
    kept = []
    for key in old.keys:
        retired = at if key.retired_at is None else key.retired_at
        if retired + grace_seconds > at:
            kept.append(SigningKey(key.kid, key.private_jwk, key.created_at, retired))
    rotated = KeySet((new_key(at), *kept))
    _write(path, rotated, exclusive=False)
    return rotated


def _write(path: Path, keys: KeySet, *, exclusive: bool) -> None:
    """Write `keys` to a private temporary file beside `path`, then link it into place
    (`exclusive`: only if `path` does not exist) or rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            json.dump(keys.stored(), out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


class KeyFile:
    """The key set of one file as a running server holds it: loaded once, loaded again when
    the file changes (a rotation by `tobiume keys rotate`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys = load_or_create(path)
        self._seen = self._signature()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def refresh(self) -> bool:
        """Load the set again if the file changed since it was read; True if it did. A file
        gone or unreadable leaves the keys held as they are."""
        seen = self._signature()
        if seen is None or seen == self._seen:
            return False
        try:
            self.keys = load(self.path)
        except KeyFileError:
            return False
        self._seen = seen
        return True
