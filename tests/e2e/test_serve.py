"""`tobiume serve` on the embedded default: a fresh SQLite file is migrated at start-up and
`/fhir/metadata` answers with no other step, and `tobiume demo load --if-empty` puts the
synthetic city in first, once; `tobiume token` run in the same directory gives a token the
server accepts (what `make run` relies on and prints)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


CLI = Path(sys.executable).with_name("tobiume")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOBIUME_")}


def test_serve_migrates_sqlite_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = _clean_env()
    env["TOBIUME_BASE_URL"] = f"http://127.0.0.1:{port}/fhir"
    cli = CLI
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, (tmp_path / "serve.log").read_text()
        assert response.status_code == 200
        assert response.json()["fhirVersion"] == "4.0.1"
        assert (tmp_path / "tobiume.db").exists()
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_demo_load_fills_an_empty_database_once(tmp_path: Path) -> None:
    load = [str(CLI), "demo", "load", "--citizens", "20", "--if-empty"]
    first = subprocess.run(load, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "0 failures" in first.stdout
    second = subprocess.run(load, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "was not loaded" in second.stdout
    port = _free_port()
    env = {**_clean_env(), "TOBIUME_BASE_URL": f"http://127.0.0.1:{port}/fhir"}
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/fhir/Patient/c000001"
            assert _wait_for(url).status_code == 401
            made = subprocess.run(
                [str(CLI), "token", "--role", "hospital", "--org", "Organization/hosp-001"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            bearer = {"Authorization": f"Bearer {made.stdout.strip()}"}
            response = httpx.get(url, headers=bearer, timeout=5)
            assert response.status_code == 200, (tmp_path / "serve.log").read_text()
            names = {n["extension"][0]["valueCode"]: n for n in response.json()["name"]}
            assert set(names) == {"IDE", "SYL"}
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for(url: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
