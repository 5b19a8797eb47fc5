"""Rotating the signing keys under a running server: tokens of the retired key verify until
its grace period is over, new tokens carry the new `kid`, and a pruned key verifies nothing
(`tobiume.auth.keys`, `tobiume keys rotate`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from jose import jwt

from tests.conftest import Backend, serve
from tests.tokens import BASE, token
from tobiume.auth.keys import load, load_or_create, rotate

GRACE = 300


def _bearer(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}


async def test_rotation_under_a_running_server(backend: Backend, tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    settings = backend.settings.model_copy(update={"signing_key_file": key_file})
    first = load_or_create(key_file)
    old = token(key_set=first)
    async with serve(settings, headers=None) as http:
        assert (await http.get("Patient", headers=_bearer(old))).status_code == 200
        second = rotate(key_file, GRACE)
        new = token(key_set=second)
        assert jwt.get_unverified_header(new)["kid"] == second.current.kid != first.current.kid
        assert (await http.get("Patient", headers=_bearer(new))).status_code == 200
        assert (await http.get("Patient", headers=_bearer(old))).status_code == 200
        unseen_old = token(key_set=first, jti="never-seen")  # verified now, not from the cache
        assert (await http.get("Patient", headers=_bearer(unseen_old))).status_code == 200
        rotate(key_file, GRACE, now=time.time() + GRACE + 1)  # the first key's grace is over
        assert first.current.kid not in {k.kid for k in load(key_file).keys}
        pruned = token(key_set=first, jti="after-pruning")
        refused = await http.get("Patient", headers=_bearer(pruned))
        assert refused.status_code == 401
        assert "kid" in refused.headers["www-authenticate"]
        assert (await http.get("Patient", headers=_bearer(new))).status_code == 200
    async with serve(settings, headers=None) as http:  # a server started after the pruning
        assert (await http.get("Patient", headers=_bearer(old))).status_code == 401
        assert (await http.get("Patient", headers=_bearer(new))).status_code == 200


async def test_cached_tokens_of_a_pruned_key_are_dropped_within_a_second(
    backend: Backend, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys.json"
    settings = backend.settings.model_copy(update={"signing_key_file": key_file})
    first = load_or_create(key_file)
    old = token(key_set=first)
    async with serve(settings, headers=_bearer(old)) as http:
        assert (await http.get("Patient")).status_code == 200
        rotate(key_file, GRACE, now=time.time() - GRACE - 1)
        rotate(key_file, GRACE)
        await asyncio.sleep(1.1)
        assert (await http.get("Patient")).status_code == 401


def test_the_cli_rotates_the_file_the_server_reads(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    first = load_or_create(key_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOBIUME_")}
    env |= {"TOBIUME_SIGNING_KEY_FILE": str(key_file), "TOBIUME_BASE_URL": BASE}
    cli = Path(sys.executable).with_name("tobiume")
    done = subprocess.run([str(cli), "keys", "rotate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rotated = load(key_file)
    assert rotated.current.kid in done.stdout
    assert [k.kid for k in rotated.keys] == [rotated.current.kid, first.current.kid]
    made = subprocess.run(
        [str(cli), "token", "--role", "admin", "--org", "Organization/h1"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert jwt.get_unverified_header(made.stdout.strip())["kid"] == rotated.current.kid
