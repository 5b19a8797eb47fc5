"""Processes the benchmark starts: each in its own session, bounded in time, always stopped.

Only processes started here are ever signalled, by their own process group id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def run(
    argv: Sequence[str | Path],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    what: str = "",
) -> subprocess.CompletedProcess[str]:
    """Runs a command to completion within `timeout` seconds, capturing its output."""
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what or argv[0]}: no answer within {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        raise BenchError(
            f"{what or argv[0]} exited {done.returncode}:\n{_tail(done.stdout)}{_tail(done.stderr)}"
        )
    return done


def _tail(text: str, lines: int = 30) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept) + ("\n" if kept else "")


class Service:
    """A long-running process (a server), its output sent to a log file."""

    def __init__(self, name: str, argv: Sequence[str | Path], env: Mapping[str, str], log: Path):
        self.name = name
        self.log = log
        self._log_handle = log.open("wb")
        self.proc = subprocess.Popen(
            [str(a) for a in argv],
            env=dict(env),
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return _tail(self.log.read_text(errors="replace"), lines)
        except OSError:
            return ""

    def wait_http(self, url: str, timeout: float) -> None:
        """Waits until GET `url` answers 2xx, or fails with the server's log."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise BenchError(
                    f"{self.name} exited ({self.proc.returncode}) before it was ready:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if 200 <= answer.status < 300:
                        return
                    last = f"HTTP {answer.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise BenchError(
            f"{self.name} not ready at {url} within {timeout:.0f} s ({last}):\n" + self.log_tail()
        )

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace` seconds."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
        else:
            # The leader is gone; stragglers in its group (workers) still get the signal.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log_handle.close()


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def memory_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) and VmRSS of one process, in MB (MiB)."""
    figures: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return figures
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            figures[key] = int(rest.split()[0]) / 1024
    return figures


def peak_memory_mb(pid: int) -> tuple[float, float, int]:
    """The largest VmHWM in the process tree under `pid` (with uvicorn --workers N the workers
    serve), with that process's VmRSS and pid."""
    best = (0.0, 0.0, pid)
    for each in descendants(pid):
        figures = memory_mb(each)
        if figures.get("VmHWM", 0.0) > best[0]:
            best = (figures["VmHWM"], figures.get("VmRSS", 0.0), each)
    return best


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) != 0
