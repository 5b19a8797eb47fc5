"""The signing key set: made once, private, atomic, rotated with a grace period
(`tobiume.auth.keys`)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tobiume.auth.keys import KeyFile, load, load_or_create, rotate, thumbprint


def test_first_use_makes_a_private_key_set(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (key,) = keys.keys
    stored = json.loads(path.read_text())["keys"][0]
    assert stored["kty"] == "EC"
    assert stored["crv"] == "P-384"
    assert stored["alg"] == "ES384"
    assert stored["kid"] == key.kid == thumbprint(stored)
    assert "d" in stored
    assert "d" not in key.public_jwk()
    assert load_or_create(path) == keys  # made once, then read
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary file left


def test_rotation_retires_then_prunes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = load_or_create(path).current
    second = rotate(path, grace_seconds=300, now=1_000_000)
    assert [k.kid for k in second.keys][1:] == [first.kid]
    assert second.current.kid != first.kid
    assert second.keys[1].retired_at == 1_000_000
    assert second.current.retired_at is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    third = rotate(path, grace_seconds=300, now=1_000_299)  # the first is still in its grace
    assert [k.kid for k in third.keys][1:] == [second.current.kid, first.kid]
    fourth = rotate(path, grace_seconds=300, now=1_000_300)  # its tokens have all expired
    assert [k.kid for k in fourth.keys][1:] == [third.current.kid, second.current.kid]
    assert load(path) == fourth


def test_a_running_server_sees_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    held = KeyFile(path)
    assert not held.refresh()
    rotated = rotate(path, grace_seconds=300)
    assert held.refresh()
    assert held.keys == rotated
    assert not held.refresh()
