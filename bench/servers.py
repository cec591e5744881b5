"""Real `seam-api serve` processes, the throwaway databases under them, and their memory.

Servers start through `bench/serving.py`, the launcher the tests use too, so the bench
measures processes started exactly as the tests start theirs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.serving import Server, free_port, start_server

ADMIN_EMAIL = "admin@seam.bench"
ADMIN_PASSWORD = "bench-admin-password"
JWT_SECRET = "seam-bench-secret-that-is-longer-than-32-bytes"
NODE_DIR = Path(__file__).with_name("node")
POSTGRES_ADMIN_URL = os.environ.get(
    "SEAM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_BASE_URL = os.environ.get("SEAM_BENCH_REDIS", "redis://127.0.0.1:6379")


def rss_kib(server: Server) -> int:
    """Resident set size from /proc/<pid>/status (VmRSS, in KiB)."""
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("VmRSS not found")


def cpu_seconds(server: Server) -> float:
    """User plus system CPU time the server has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running(workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    """`seam-api serve` with the bench's admin and socket cap."""
    defaults = {
        "SEAM_ADMIN_EMAIL": ADMIN_EMAIL,
        "SEAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SEAM_JWT_SECRET": JWT_SECRET,
        # Every swarm client carries the admin's token, where real tabs would belong to many
        # users: the per-account socket cap would refuse the 51st.
        "SEAM_MAX_SOCKETS_PER_USER": "100000",
    }
    server = start_server(workdir, {**defaults, **env}, timeout=60)
    try:
        yield server
    finally:
        server.stop()


# -- the references: bare Node Socket.IO, raw ASGI --------------------------------------------


@contextmanager
def _reference(workdir: Path, name: str, command: list[str], probe: str) -> Iterator[Server]:
    """Start `command` (its last argument the port), wait until `probe` answers at all."""
    port = free_port()
    log = workdir / f"{name}-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=workdir
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()}")
            try:
                httpx.get(f"{server.url}{probe}", timeout=1, headers={"Authorization": "-"})
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield server
    finally:
        server.stop()


def node_available() -> str | None:
    """Why the Node reference cannot run, or None when it can."""
    if not (NODE_DIR / "node_modules" / "socket.io").is_dir():
        return "bench/node/node_modules is missing (`make bench` runs `npm ci` there)"
    return None


@contextmanager
def node_reference(workdir: Path) -> Iterator[Server]:
    """bench/node/server.js: bare Socket.IO 4.8 broadcasting `data:changed` on each PUT."""
    with _reference(workdir, "node", ["node", str(NODE_DIR / "server.js")], "/") as server:
        yield server


@contextmanager
def raw_asgi_reference(workdir: Path, rows: Path) -> Iterator[Server]:
    """bench/raw_asgi.py on uvicorn, answering the users list from `rows`."""
    command = [sys.executable, str(Path(__file__).with_name("raw_asgi.py")), str(rows)]
    with _reference(workdir, "raw-asgi", command, "/api/v1/users") as server:
        yield server


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
    """An empty Redis database index (8..15), flushed afterwards; the servers' channel names
    carry the index, so other deployments on this Redis are not heard."""
    index = asyncio.run(_pick_redis_index())
    try:
        yield f"{REDIS_BASE_URL}/{index}"
    finally:
        asyncio.run(_flush_redis(index))
