"""Real `seam-api serve` processes, the throwaway databases under them, and their memory."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_EMAIL = "admin@seam.bench"
ADMIN_PASSWORD = "bench-admin-password"
JWT_SECRET = "seam-bench-secret-that-is-longer-than-32-bytes"
POSTGRES_ADMIN_URL = os.environ.get(
    "SEAM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_BASE_URL = os.environ.get("SEAM_BENCH_REDIS", "redis://127.0.0.1:6379")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One running `seam-api serve`; `pid` is the process that serves (uvicorn runs in it)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        """Resident set size from /proc/<pid>/status (VmRSS, in KiB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("VmRSS not found")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(workdir: Path, env: dict[str, str], *, timeout: float = 60) -> Server:
    """Start `seam-api serve` on a free port and wait until it answers."""
    port = _free_port()
    log = workdir / f"server-{port}.log"
    full_env = {
        **os.environ,
        "SEAM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'seam.db'}",
        "SEAM_ADMIN_EMAIL": ADMIN_EMAIL,
        "SEAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SEAM_JWT_SECRET": JWT_SECRET,
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
            if httpx.get(f"{server.url}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"seam-api did not start in {timeout}s:\n{log.read_text()}")


@contextmanager
def running(workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    server = start_server(workdir, env)
    try:
        yield server
    finally:
        server.stop()


# -- throwaway PostgreSQL database ----------------------------------------------------------


async def _postgres(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create `seam_bench_<random>`, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"seam_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(asyncio.wait_for(_postgres(f'CREATE DATABASE "{name}"'), 10))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(
            asyncio.wait_for(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'), 30)
        )


# -- a Redis database index of our own -------------------------------------------------------


async def _pick_redis_index() -> int:
    from redis.asyncio import Redis

    for index in range(15, 7, -1):
        client = Redis.from_url(f"{REDIS_BASE_URL}/{index}")
        try:
            if await client.dbsize() == 0:
                return index
        finally:
            await client.aclose()
    raise RuntimeError("no empty Redis database index in 8..15")


async def _flush_redis(index: int) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(f"{REDIS_BASE_URL}/{index}")
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@contextmanager
def redis_database() -> Iterator[str]:
    """An empty Redis database index (8..15), flushed afterwards.

    Pub/sub channels are not per index, so instances of another run on the same Redis would
    still hear this run's events; the bench only counts events it made itself.
    """
    index = asyncio.run(_pick_redis_index())
    try:
        yield f"{REDIS_BASE_URL}/{index}"
    finally:
        asyncio.run(_flush_redis(index))
