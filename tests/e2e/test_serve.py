"""`tobiume serve` on the embedded default: a fresh SQLite file is migrated at start-up and
`/fhir/metadata` answers with no other step (what `make run` relies on)."""

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


def test_serve_migrates_sqlite_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOBIUME_")}
    env["TOBIUME_BASE_URL"] = f"http://127.0.0.1:{port}/fhir"
    cli = Path(sys.executable).with_name("tobiume")
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
