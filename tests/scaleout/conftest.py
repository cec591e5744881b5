"""Fixtures for the scale-out tests: several real `seam-api serve` processes sharing one database
and one Redis, Socket.IO clients that record what they receive, and a Redis of our own to stop.

The shared Redis is the test Redis with a database index of its own (5), flushed at the start.
Redis pub/sub channels are not per database index, so every event a test waits for carries a
name made for that test alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import socketio
from redis.asyncio import Redis

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    JWT_SECRET,
    REDIS_URL,
    Databases,
    Server,
    bearer,
    free_port,
    login,
    start_server,
    unavailable,
)

SCALEOUT_REDIS_URL = os.environ.get(
    "SEAM_TEST_SCALEOUT_REDIS", urlsplit(REDIS_URL)._replace(path="/5").geturl()
)
API = "/api/v1"
USER_PASSWORD = "user-password-1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- instances ------------------------------------------------------------------------------


@dataclass
class Instance:
    """One running server and an HTTP client for it."""

    server: Server
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Cluster:
    """Instances sharing one database and one Redis, and an admin token valid on all."""

    instances: list[Instance]
    admin_token: str

    @property
    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token)


def instance_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    return {
        "SEAM_DATABASE_URL": database_url,
        "SEAM_REDIS_URL": redis_url or "",
        "SEAM_JWT_SECRET": JWT_SECRET,
    }


async def start_instances(tmp: Path, env: dict[str, str], count: int) -> list[Instance]:
    """Start `count` servers at once and wait until each answers; on failure stop them all."""
    folders = [tmp / f"instance-{n}" for n in range(count)]
    for folder in folders:
        folder.mkdir()
    results = await asyncio.gather(
        *(asyncio.to_thread(start_server, folder, env) for folder in folders),
        return_exceptions=True,
    )
    servers = [result for result in results if isinstance(result, Server)]
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        await stop_servers(servers)
        raise failures[0]
    return [
        Instance(server, httpx.AsyncClient(base_url=server.url, timeout=30)) for server in servers
    ]


async def stop_servers(servers: list[Server]) -> None:
    await asyncio.gather(*(asyncio.to_thread(server.stop) for server in servers))


async def stop_instances(instances: list[Instance]) -> None:
    for instance in instances:
        await instance.http.aclose()
    await stop_servers([instance.server for instance in instances])


async def start_cluster(tmp: Path, env: dict[str, str], count: int) -> Cluster:
    instances = await start_instances(tmp, env, count)
    try:
        token = await login(instances[0].http, ADMIN_EMAIL, ADMIN_PASSWORD)
    except BaseException:
        await stop_instances(instances)
        raise
    return Cluster(instances, token)


async def fresh_shared_redis() -> str:
    """The shared test Redis, on our own database index, emptied."""
    redis = Redis.from_url(SCALEOUT_REDIS_URL)
    try:
        await asyncio.wait_for(redis.flushdb(), 5)
    except Exception as error:
        unavailable("Redis server", error)
    finally:
        await redis.aclose()
    return SCALEOUT_REDIS_URL


@pytest.fixture(scope="module")
async def cluster(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Three instances on one PostgreSQL database and the shared Redis."""
    redis_url = await fresh_shared_redis()
    database_url = await databases.create("postgresql")
    running = await start_cluster(
        tmp_path_factory.mktemp("cluster"), instance_env(database_url, redis_url), 3
    )
    yield running
    await stop_instances(running.instances)


# -- domain helpers -------------------------------------------------------------------------


async def create_role(instance: Instance, headers: dict[str, str], name: str) -> int:
    response = await instance.http.post(f"{API}/roles", json={"roleName": name}, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["idRole"])


async def register_user(instance: Instance, headers: dict[str, str], role_id: int) -> int:
    """A new active user holding `role_id`, with a unique email and USER_PASSWORD."""
    body = {
        "full_name": "Scale Out",
        "email": f"{unique('user')}@example.com",
        "password": USER_PASSWORD,
        "roleId": role_id,
    }
    response = await instance.http.post(f"{API}/auth/register", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["idUser"])


async def login_user(instance: Instance, headers: dict[str, str], user_id: int) -> str:
    response = await instance.http.get(f"{API}/users/{user_id}", headers=headers)
    assert response.status_code == 200, response.text
    return await login(instance.http, response.json()["data"]["email"], USER_PASSWORD)


async def permission_id(instance: Instance, headers: dict[str, str], name_uri: str) -> int:
    response = await instance.http.get(
        f"{API}/permission/getByNameUri", params={"nameUri": name_uri}, headers=headers
    )
    assert response.status_code == 200, response.text
    return int(response.json()["data"][0]["idPermission"])


def role_created(name: str) -> Callable[[str, Any], bool]:
    """Matches the `data:changed` of creating the role `name`."""

    def match(event: str, payload: Any) -> bool:
        return (
            event == "data:changed"
            and payload.get("operation") == "role:create"
            and (payload.get("data") or {}).get("roleName") == name
        )

    return match


# -- socket clients -------------------------------------------------------------------------


class Listener:
    """A Socket.IO client that records every event, disconnect and refusal it sees."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection_delay=0.2, reconnection_delay_max=1)
        self.events: list[tuple[str, Any]] = []
        self.refusals: list[Any] = []
        self.disconnected_at: float | None = None
        self.gone = asyncio.Event()
        self._arrived = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)
        self.sio.on("disconnect", self._disconnected)

    async def _record(self, event: str, *args: Any) -> None:
        self.events.append((event, args[0] if args else None))
        self._arrived.set()

    async def _refused(self, data: Any) -> None:
        self.refusals.append(data)

    async def _disconnected(self, *_reason: Any) -> None:
        self.disconnected_at = time.monotonic()
        self.gone.set()

    @property
    def sid(self) -> str:
        sid = self.sio.get_sid("/")
        assert sid is not None
        return str(sid)

    async def connect(self, url: str, token: str) -> None:
        await self.sio.connect(
            url, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )

    def matching(self, match: Callable[[str, Any], bool]) -> list[Any]:
        return [payload for event, payload in self.events if match(event, payload)]

    async def wait_for(self, match: Callable[[str, Any], bool], within: float = 10) -> Any:
        """The first recorded event that matches, waiting for it up to `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            self._arrived.clear()
            found = self.matching(match)
            if found:
                return found[0]
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [event for event, _ in self.events]
                raise AssertionError(f"no matching event in {within}s; received {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def disconnected_within(self, seconds: float) -> bool:
        """Whether the server has closed this socket, waiting up to `seconds` for it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gone.wait(), seconds)
        return self.gone.is_set()

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.sio.shutdown()


@pytest.fixture
async def listen() -> AsyncIterator[Callable[[str, str], Any]]:
    """`await listen(url, token)` -> a connected Listener, disconnected after the test."""
    listeners: list[Listener] = []

    async def connect(url: str, token: str) -> Listener:
        listener = Listener()
        listeners.append(listener)
        await listener.connect(url, token)
        return listener

    yield connect
    for listener in listeners:
        await listener.close()


# -- a Redis of our own ---------------------------------------------------------------------


class OwnRedis:
    """A `redis-server` subprocess on a free port, without persistence, to stop and restart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server", FileNotFoundError("redis-server is not on PATH"))
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
            )
        self._wait_until_answering()

    def _wait_until_answering(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited: {(self.folder / 'redis.log').read_text()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer in {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path)
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
