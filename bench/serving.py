"""A real `seam-api serve` process on a free port, for the bench and for the tests.

Plain functions, no pytest: the tests (`tests/server_process.py`) start their servers with this
code too, so the bench measures processes started exactly as the tests start theirs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `seam-api serve`; `pid` is the process that serves (uvicorn runs in it)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(
    workdir: Path,
    env: dict[str, str],
    *,
    timeout: float = 30,
    port: int | None = None,
) -> Server:
    """Start `seam-api serve` on `port` (default: a free one) with `env` over the environment,
    and wait until it answers. The database defaults to a SQLite file in `workdir`."""
    port = port or free_port()
    log = workdir / f"server-{port}.log"
    full_env = {
        **os.environ,
        "SEAM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'seam.db'}",
        **env,
        "SEAM_HOST": "127.0.0.1",
        "SEAM_PORT": str(port),
    }
    seam_api = Path(sys.executable).with_name("seam-api")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(seam_api), "serve"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"seam-api exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/openapi.json", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"seam-api did not start in {timeout}s:\n{log.read_text()}")
