"""A real `seam-api serve` process on a free port, for the tests and for the bench.

Plain functions, no pytest: `bench/` starts its servers with the same code the tests trust.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn


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


@asynccontextmanager
async def served_here(asgi: Any, **options: Any) -> AsyncIterator[str]:
    """`asgi` on uvicorn in this process, on a free port (`options` go to uvicorn.Config), for
    tests that look inside the running app; yields its base URL and stops it afterwards."""
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # uvicorn offers no event to wait on
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task
