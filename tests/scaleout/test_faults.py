"""Faults: Redis going away under two instances, and the database going away under one.

The Redis here is a `redis-server` the test starts itself, so stopping it disturbs nobody else;
the database sits behind a TCP proxy the test can close and reopen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from seam_api.messages.en import MESSAGES
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SHARED_REDIS, Databases, bearer
from tests.scaleout.conftest import (
    API,
    Cluster,
    Instance,
    Listener,
    OwnRedis,
    create_role,
    instance_env,
    login_user,
    permission_id,
    register_user,
    role_created,
    start_cluster,
    stop_instances,
    unique,
)
from tests.scaleout.proxy import TcpProxy

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

Listen = Callable[[str, str], Any]
RECOVERY_DEADLINE = 15.0


@pytest.fixture
async def redis_cluster(
    databases: Databases, own_redis: OwnRedis, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two instances on one PostgreSQL database and a Redis of the test's own."""
    database_url = await databases.create("postgresql")
    env = {**instance_env(database_url, own_redis.url), "SEAM_METRICS": "open"}
    running = await start_cluster(tmp_path_factory.mktemp("redis-fault"), env, 2)
    yield running
    await stop_instances(running.instances)


async def test_http_keeps_serving_while_redis_is_down(
    redis_cluster: Cluster, own_redis: OwnRedis
) -> None:
    admin = redis_cluster.admin
    users_read = await permission_id(redis_cluster.instances[0], admin, "GET /api/v1/users")

    await asyncio.to_thread(own_redis.stop)

    for instance in redis_cluster.instances:
        http = instance.http
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        role = await http.post(f"{API}/roles", json={"roleName": unique("role")}, headers=admin)
        assign = {"roleId": role.json()["data"]["idRole"], "permissionId": users_read}
        statuses = [
            (await http.get(f"{API}/users", headers=admin)).status_code,
            (await http.get(f"{API}/roles", headers=admin)).status_code,
            (await http.post(f"{API}/auth/login", json=login)).status_code,
            role.status_code,
            (await http.post(f"{API}/permission/assign", json=assign, headers=admin)).status_code,
        ]
        assert statuses == [200, 200, 200, 201, 200], instance.url


async def _crosses(origin: Instance, listener: Listener, headers: dict[str, str]) -> bool:
    """Whether a role created on `origin` reaches `listener` within a second."""
    name = unique("role")
    await create_role(origin, headers, name)
    try:
        await listener.wait_for(role_created(name), within=1)
    except AssertionError:
        return False
    return True


async def test_events_cross_instances_again_after_redis_restarts(
    redis_cluster: Cluster, own_redis: OwnRedis, listen: Listen
) -> None:
    a, b = redis_cluster.instances
    on_a = await listen(a.url, redis_cluster.admin_token)
    assert await _crosses(b, on_a, redis_cluster.admin)
    await asyncio.to_thread(own_redis.stop)
    await create_role(b, redis_cluster.admin, unique("outage"))

    await asyncio.to_thread(own_redis.start)

    deadline = time.monotonic() + RECOVERY_DEADLINE
    while not await _crosses(b, on_a, redis_cluster.admin):
        assert time.monotonic() < deadline, "events did not cross instances again in time"


async def test_user_disabled_during_redis_outage_loses_sockets_elsewhere_once_it_returns(
    redis_cluster: Cluster, own_redis: OwnRedis, listen: Listen
) -> None:
    a, b = redis_cluster.instances
    role_id = await create_role(a, redis_cluster.admin, unique("role"))
    user_id = await register_user(a, redis_cluster.admin, role_id)
    on_b = await listen(b.url, await login_user(a, redis_cluster.admin, user_id))
    await asyncio.to_thread(own_redis.stop)
    response = await a.http.put(
        f"{API}/users/{user_id}/state", json={"isActive": 0}, headers=redis_cluster.admin
    )
    assert response.status_code == 200, response.text

    await asyncio.to_thread(own_redis.start)

    assert await on_b.disconnected_within(RECOVERY_DEADLINE), "the socket on B stayed open"


# Within 2 s with Redis down: each instance learns revocations and changes from the event log.
LOG_DEADLINE = 2.0


async def test_revocations_reach_every_instance_from_the_log_while_redis_is_down(
    redis_cluster: Cluster, own_redis: OwnRedis, listen: Listen
) -> None:
    a, b = redis_cluster.instances
    admin = redis_cluster.admin
    role_id = await create_role(a, admin, unique("role"))
    disabled, deleted, moved, reset, signed_out = [
        await register_user(a, admin, role_id) for _ in range(5)
    ]
    tokens = {user: await login_user(a, admin, user) for user in (disabled, deleted, moved)}
    tokens |= {user: await login_user(a, admin, user) for user in (reset, signed_out)}
    sockets = {user: await listen(b.url, token) for user, token in tokens.items()}
    other_role = await create_role(a, admin, unique("other"))
    await asyncio.to_thread(own_redis.stop)

    http = a.http
    changes: list[tuple[int, Callable[[], Awaitable[httpx.Response]]]] = [
        (
            disabled,
            lambda: http.put(f"{API}/users/{disabled}/state", json={"isActive": 0}, headers=admin),
        ),
        (deleted, lambda: http.delete(f"{API}/users/{deleted}", headers=admin)),
        (
            moved,
            lambda: http.put(f"{API}/users/{moved}", json={"roleId": other_role}, headers=admin),
        ),
        (reset, lambda: http.put(f"{API}/users/{reset}/resetPassword", headers=admin)),
        (signed_out, lambda: http.post(f"{API}/auth/logout", headers=bearer(tokens[signed_out]))),
    ]
    for user, change in changes:
        response = await change()
        assert response.status_code == 200, response.text
        assert await sockets[user].disconnected_within(LOG_DEADLINE), f"user {user} stayed"
    refused = await b.http.get(f"{API}/roles", headers=bearer(tokens[signed_out]))
    assert refused.status_code == 401


async def test_caches_of_every_instance_follow_the_log_while_redis_is_down(
    redis_cluster: Cluster, own_redis: OwnRedis
) -> None:
    a, b = redis_cluster.instances
    admin = redis_cluster.admin
    role_id = await create_role(a, admin, unique("role"))
    users_read = await permission_id(a, admin, "GET /api/v1/users")
    assign = {"roleId": role_id, "permissionId": users_read}
    assert (await a.http.post(f"{API}/permission/assign", json=assign, headers=admin)).is_success
    member = bearer(await login_user(a, admin, await register_user(a, admin, role_id)))
    assert (await b.http.get(f"{API}/users", headers=member)).status_code == 200  # cached on B
    assert (await b.http.get(f"{API}/roles", headers=admin)).status_code == 200
    await asyncio.to_thread(own_redis.stop)

    name = unique("created-on-a")
    await create_role(a, admin, name)
    unassigned = await a.http.request(
        "DELETE", f"{API}/permission/unassign", json=assign, headers=admin
    )
    assert unassigned.status_code == 200
    deadline = time.monotonic() + LOG_DEADLINE
    while True:
        roles = (await b.http.get(f"{API}/roles", headers=admin)).json()["data"]
        listed = name in [role["roleName"] for role in roles]
        denied = (await b.http.get(f"{API}/users", headers=member)).status_code == 403
        if listed and denied:
            break
        assert time.monotonic() < deadline, f"B still shows the old state ({listed}, {denied})"
        await asyncio.sleep(0.1)


def _outage_lines(instance: Instance, dependency: str) -> tuple[list[str], list[str]]:
    """The log lines of `instance` that start and end an outage of `dependency`."""
    lines = instance.server.log.read_text().splitlines()
    started = [line for line in lines if f"{dependency} unavailable" in line]
    ended = [line for line in lines if f"{dependency} available again after" in line]
    return started, ended


async def _metric(instance: Instance, name: str) -> float:
    text = (await instance.http.get("/metrics")).text
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(values[0]) if values else 0.0


async def test_a_redis_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    redis_cluster: Cluster, own_redis: OwnRedis, listen: Listen
) -> None:
    a, b = redis_cluster.instances
    await listen(b.url, redis_cluster.admin_token)  # a socket, so emits have a reader
    await asyncio.to_thread(own_redis.stop)
    for _ in range(30):  # each publishes a notice and a Socket.IO emit
        await create_role(a, redis_cluster.admin, unique("outage"))
    await asyncio.to_thread(own_redis.start)
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while not _outage_lines(a, "redis")[1]:
        assert time.monotonic() < deadline, "the end of the outage was not logged"
        await asyncio.sleep(0.2)

    started, ended = _outage_lines(a, "redis")
    assert len(started) == 1 and len(ended) == 1, (started, ended)
    assert "notices" in ended[0]  # what it affected
    log = a.server.log.read_text()
    assert "Cannot publish to redis" not in log and "bus publish failed" not in log
    assert await _metric(a, 'seam_outages_total{dependency="redis"}') == 1


# -- the database behind a proxy ------------------------------------------------------------


@dataclass
class Proxied:
    instance: Instance
    proxy: TcpProxy
    admin: dict[str, str]


@pytest.fixture
async def proxied(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Proxied]:
    """One instance whose PostgreSQL connection runs through a TcpProxy."""
    database_url = urlsplit(await databases.create("postgresql"))
    proxy = TcpProxy(database_url.hostname or "127.0.0.1", database_url.port or 5432)
    await proxy.open()
    netloc = f"{database_url.username}@127.0.0.1:{proxy.port}"
    env = {
        **instance_env(database_url._replace(netloc=netloc).geturl(), None),
        "SEAM_METRICS": "open",
    }
    try:
        cluster = await start_cluster(tmp_path_factory.mktemp("db-fault"), env, 1)
        try:
            yield Proxied(cluster.instances[0], proxy, cluster.admin)
        finally:
            await stop_instances(cluster.instances)
    finally:
        await proxy.close()


async def test_database_outage_answers_503_envelope_and_the_server_stays_up(
    proxied: Proxied,
) -> None:
    http, admin = proxied.instance.http, proxied.admin
    assert (await http.get(f"{API}/users/1", headers=admin)).status_code == 200

    await proxied.proxy.close()

    login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    # A read the cache already holds still answers (nothing can change it while the database
    # is away); one it does not hold needs the database.
    assert (await http.get(f"{API}/users/1", headers=admin)).status_code == 200
    responses = [
        await http.get(f"{API}/users?search=adm", headers=admin),
        await http.post(f"{API}/roles", json={"roleName": unique("role")}, headers=admin),
        await http.post(f"{API}/auth/login", json=login),
    ]
    assert [r.status_code for r in responses] == [503, 503, 503]
    expected = {"success": False, "message": MESSAGES["errors.unavailable"]}
    assert [r.json() for r in responses] == [expected] * 3
    assert proxied.instance.server.process.poll() is None


async def _create_role_status(proxied: Proxied) -> int:
    """A mutation always needs the database, whatever reads are cached."""
    body = {"roleName": unique("role")}
    response = await proxied.instance.http.post(f"{API}/roles", json=body, headers=proxied.admin)
    return response.status_code


async def test_a_database_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    proxied: Proxied,
) -> None:
    assert await _create_role_status(proxied) == 201
    await proxied.proxy.close()
    for _ in range(20):
        assert await _create_role_status(proxied) == 503
    await asyncio.sleep(2)  # the log follower polls meanwhile
    await proxied.proxy.open()
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while await _create_role_status(proxied) != 201:
        assert time.monotonic() < deadline, "the service did not recover in time"
        await asyncio.sleep(0.2)

    started, ended = _outage_lines(proxied.instance, "database")
    assert len(started) == 1 and len(ended) == 1, (started, ended)
    assert "requests" in ended[0]
    log = proxied.instance.server.log.read_text()
    assert "database unreachable" not in log and "reading the event log failed" not in log
    metric = 'seam_outages_total{dependency="database"}'
    assert await _metric(proxied.instance, metric) == 1


async def test_service_recovers_by_itself_when_the_database_returns(proxied: Proxied) -> None:
    assert await _create_role_status(proxied) == 201
    await proxied.proxy.close()
    assert await _create_role_status(proxied) == 503

    await proxied.proxy.open()

    deadline = time.monotonic() + RECOVERY_DEADLINE
    while await _create_role_status(proxied) != 201:
        assert time.monotonic() < deadline, "the service did not recover in time"
        await asyncio.sleep(0.2)
