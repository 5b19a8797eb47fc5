"""`tobiume clients add | list | disable`, run as the command it is, against the test
database; a client it registers gets a token at `/auth/token`, and none once disabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clients import TOKEN_URL, assertion, jwks, key_pair, token_form
from tests.conftest import Backend, serve


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOBIUME_DATABASE_URL": database_url, "TOBIUME_AUTO_MIGRATE": "false"}
    command = Path(sys.executable).with_name("tobiume")
    return subprocess.run(
        [str(command), "clients", *args], env=env, capture_output=True, text=True, check=False
    )


async def test_register_list_use_and_disable(backend: Backend, tmp_path: Path) -> None:
    pair = key_pair("RS384", kid="cli-1")
    key_file = tmp_path / "jwks.json"
    key_file.write_text(json.dumps(jwks(pair)))
    added = _cli(
        backend.url,
        "add",
        "--name", "小倉中央病院 EHR",
        "--org", "Organization/hosp-001",
        "--role", "hospital",
        "--jwks", str(key_file),
        "--scopes", "system/*.rs system/Encounter.cu",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    client_id = added.stdout.strip().splitlines()[-1].split()[-1]
    listed = _cli(backend.url, "list")
    assert client_id in listed.stdout
    assert "active" in listed.stdout
    async with serve(backend.settings, headers=None) as http:
        answer = await http.post(TOKEN_URL, data=token_form(assertion(client_id, pair)))
        assert answer.status_code == 200, answer.text
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        assert (await http.get("Encounter", headers=bearer)).status_code == 200
        assert _cli(backend.url, "disable", client_id).returncode == 0
        again = await http.post(TOKEN_URL, data=token_form(assertion(client_id, pair)))
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_client"
    assert "disabled" in _cli(backend.url, "list").stdout
    assert _cli(backend.url, "disable", "no-such-client").returncode == 1


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"--org": "hosp-001"}, "Organization/ID"),
        ({"--scopes": "read write"}, "not SMART clinical scopes"),
        ({"--jwks": "http://192.0.2.1/jwks.json"}, "https"),
        ({"private": "yes"}, "private key"),
        ({"--jwks": "missing.json"}, "cannot read"),
    ],
)
def test_bad_registrations_are_refused(
    tmp_path: Path, change: dict[str, str], complaint: str
) -> None:
    """Refused before any database is opened (the URL names none that exists)."""
    public = key_pair("ES384", kid="cli-2").public_jwk
    key = {**public, "d": "c2VjcmV0"} if "private" in change else public
    key_file = tmp_path / "jwks.json"
    key_file.write_text(json.dumps({"keys": [key]}))
    options = {
        "--name": "x",
        "--org": "Organization/c1",
        "--role": "clinic",
        "--jwks": str(key_file),
        "--scopes": "system/*.rs",
    }
    options.update({k: v for k, v in change.items() if k.startswith("--")})
    if options["--jwks"] == "missing.json":
        options["--jwks"] = str(tmp_path / "missing.json")
    nowhere = f"sqlite+aiosqlite:///{tmp_path / 'never-created.db'}"
    refused = _cli(nowhere, "add", *[part for pair in options.items() for part in pair])
    assert refused.returncode == 2
    assert complaint in refused.stderr
    assert not (tmp_path / "never-created.db").exists()
