"""Contract 5.3: several instances sharing one database and one Redis behave as one.

Every test talks to real `seam-api serve` processes over HTTP and Socket.IO. "Exactly once" is
checked without sleeping: after the mutation under test the same instance makes a second one,
and Redis delivers an instance's events in order, so once the second has arrived any duplicate
of the first would have arrived too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from tests.conftest import SHARED_REDIS, Databases, bearer
from tests.scaleout.conftest import (
    API,
    Cluster,
    Instance,
    Listener,
    create_role,
    fresh_shared_redis,
    instance_env,
    login_user,
    permission_id,
    register_user,
    role_created,
    start_cluster,
    stop_instances,
    unique,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

Listen = Callable[[str, str], Any]
USERS_READ = "GET /api/v1/users"


def progress_of(operation: str, status: str | None = None) -> Callable[[str, Any], bool]:
    def match(event: str, payload: Any) -> bool:
        return (
            event == "operation:progress"
            and payload.get("operation") == operation
            and (status is None or payload.get("status") == status)
        )

    return match


async def assert_changed_once_on_each(
    listeners: list[Listener], origin: Instance, headers: dict[str, str]
) -> None:
    """Create a role on `origin`; every listener gets its `data:changed` exactly once."""
    name, sentinel = unique("role"), unique("sentinel")
    await create_role(origin, headers, name)
    await create_role(origin, headers, sentinel)
    for listener in listeners:
        await listener.wait_for(role_created(sentinel))
        assert len(listener.matching(role_created(name))) == 1, listener.events


async def test_data_changed_reaches_a_client_on_another_instance_exactly_once(
    cluster: Cluster, listen: Listen
) -> None:
    a, b = cluster.instances[:2]
    on_a = await listen(a.url, cluster.admin_token)

    await assert_changed_once_on_each([on_a], b, cluster.admin)


async def test_data_changed_reaches_clients_on_every_instance_exactly_once(
    cluster: Cluster, listen: Listen
) -> None:
    listeners = [await listen(i.url, cluster.admin_token) for i in cluster.instances]

    await assert_changed_once_on_each(listeners, cluster.instances[1], cluster.admin)


async def test_socket_id_held_by_another_instance_alone_receives_the_progress(
    cluster: Cluster, listen: Listen
) -> None:
    a, b, c = cluster.instances
    token = cluster.admin_token
    target = await listen(a.url, token)
    others = [await listen(a.url, token), await listen(b.url, token), await listen(c.url, token)]
    name = unique("role")

    response = await b.http.post(
        f"{API}/roles",
        json={"roleName": name},
        headers={**cluster.admin, "X-Socket-ID": target.sid},
    )
    assert response.status_code == 201, response.text
    # Without X-Socket-ID this read's progress goes to every socket of the admin, after the
    # events of the request above: once it has arrived, those would have arrived too.
    assert (await b.http.get(f"{API}/roles", headers=cluster.admin)).status_code == 200
    for listener in [target, *others]:
        await listener.wait_for(progress_of("role:fetchAll", "success"))

    events = target.matching(progress_of("role:create"))
    statuses = [event["status"] for event in events]
    assert statuses[0] == "start" and statuses[-1] == "success", statuses
    assert set(statuses[1:-1]) <= {"processing"}, statuses
    assert events[-1]["data"]["roleName"] == name
    assert [other.matching(progress_of("role:create")) for other in others] == [[], [], []]


async def _user_with_role(cluster: Cluster, *, can_read_users: bool) -> tuple[int, int, str]:
    """(role id, permission id of GET /users, token of a new user holding the role)."""
    a = cluster.instances[0]
    role_id = await create_role(a, cluster.admin, unique("role"))
    users_read = await permission_id(a, cluster.admin, USERS_READ)
    if can_read_users:
        body = {"roleId": role_id, "permissionId": users_read}
        response = await a.http.post(f"{API}/permission/assign", json=body, headers=cluster.admin)
        assert response.status_code == 200, response.text
    user_id = await register_user(a, cluster.admin, role_id)
    return role_id, users_read, await login_user(a, cluster.admin, user_id)


async def test_permission_unassigned_on_one_instance_is_refused_by_another_next_request(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances[:2]
    role_id, users_read, token = await _user_with_role(cluster, can_read_users=True)
    assert (
        await b.http.get(f"{API}/users", headers=bearer(token))
    ).status_code == 200  # B caches it

    body = {"roleId": role_id, "permissionId": users_read}
    response = await a.http.request(
        "DELETE", f"{API}/permission/unassign", json=body, headers=cluster.admin
    )
    assert response.status_code == 200, response.text

    assert (await b.http.get(f"{API}/users", headers=bearer(token))).status_code == 403


async def test_permission_assigned_on_one_instance_is_honoured_by_another_next_request(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances[:2]
    role_id, users_read, token = await _user_with_role(cluster, can_read_users=False)
    assert (
        await b.http.get(f"{API}/users", headers=bearer(token))
    ).status_code == 403  # B caches it

    body = {"roleId": role_id, "permissionId": users_read}
    response = await a.http.post(f"{API}/permission/assign", json=body, headers=cluster.admin)
    assert response.status_code == 200, response.text

    assert (await b.http.get(f"{API}/users", headers=bearer(token))).status_code == 200


async def _active_user(cluster: Cluster) -> tuple[int, str]:
    """A new user and their token, already known (cached) by every instance."""
    a = cluster.instances[0]
    role_id = await create_role(a, cluster.admin, unique("role"))
    user_id = await register_user(a, cluster.admin, role_id)
    token = await login_user(a, cluster.admin, user_id)
    for instance in cluster.instances:
        assert (await instance.http.get(f"{API}/roles", headers=bearer(token))).status_code == 200
    return user_id, token


async def _disable(cluster: Cluster, user_id: int) -> None:
    response = await cluster.instances[0].http.put(
        f"{API}/users/{user_id}/state", json={"isActive": 0}, headers=cluster.admin
    )
    assert response.status_code == 200, response.text


async def test_disabled_user_loses_every_socket_on_every_instance_within_one_second(
    cluster: Cluster, listen: Listen
) -> None:
    user_id, token = await _active_user(cluster)
    sockets = [await listen(i.url, token) for i in cluster.instances for _ in range(2)]

    sent = time.monotonic()
    await _disable(cluster, user_id)

    assert all([await s.disconnected_within(10) for s in sockets]), "some sockets stayed open"
    delays = [round(s.disconnected_at - sent, 3) for s in sockets if s.disconnected_at]
    assert max(delays) <= 1.0, delays


async def test_disabled_users_token_is_refused_by_every_instance(cluster: Cluster) -> None:
    user_id, token = await _active_user(cluster)

    await _disable(cluster, user_id)

    statuses = [
        (await instance.http.get(f"{API}/roles", headers=bearer(token))).status_code
        for instance in cluster.instances
    ]
    assert statuses == [401, 401, 401]


async def test_disabled_users_token_is_refused_at_the_handshake_of_every_instance(
    cluster: Cluster,
) -> None:
    user_id, token = await _active_user(cluster)

    await _disable(cluster, user_id)

    refusals = []
    for instance in cluster.instances:
        listener = Listener()
        try:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await listener.connect(instance.url, token)
        finally:
            await listener.close()
        refusals.append(listener.refusals)
    assert refusals == [[{"message": "Invalid or expired token"}]] * 3


@pytest.fixture
async def mariadb_cluster(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two instances on one MariaDB database and the shared Redis."""
    redis_url = await fresh_shared_redis()
    database_url = await databases.create("mariadb")
    running = await start_cluster(
        tmp_path_factory.mktemp("mariadb"), instance_env(database_url, redis_url), 2
    )
    yield running
    await stop_instances(running.instances)


async def test_data_changed_crosses_instances_on_mariadb(
    mariadb_cluster: Cluster, listen: Listen
) -> None:
    a, b = mariadb_cluster.instances
    on_a = await listen(a.url, mariadb_cluster.admin_token)

    await assert_changed_once_on_each([on_a], b, mariadb_cluster.admin)
