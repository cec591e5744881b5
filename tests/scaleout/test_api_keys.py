"""Contract 9.5 across instances: a key cached by one instance stops working there the moment
another instance revokes it (the bus drops it and closes its sockets), and a demotion made on
one instance shrinks the key on the other at its next request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.conftest import SHARED_REDIS, Databases, bearer
from tests.scaleout.conftest import (
    API,
    Cluster,
    create_role,
    fresh_shared_redis,
    instance_env,
    login_user,
    permission_id,
    register_user,
    start_cluster,
    stop_instances,
    unique,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

Listen = Callable[[str, str], Any]
USERS_READ = "GET /api/v1/users"


@pytest.fixture(scope="module")
async def pair(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two instances on one PostgreSQL database and the shared Redis (two, not conftest's three:
    enough to prove a notice crosses, and quicker to start on a busy machine)."""
    redis_url = await fresh_shared_redis()
    database_url = await databases.create("postgresql")
    running = await start_cluster(
        tmp_path_factory.mktemp("keys"), instance_env(database_url, redis_url), 2
    )
    yield running
    await stop_instances(running.instances)


async def _owner_key(pair: Cluster) -> tuple[int, int, dict[str, Any]]:
    """A role holding GET /users, a user of it, and their key for that permission."""
    a = pair.instances[0]
    role_id = await create_role(a, pair.admin, unique("role"))
    body = {"roleId": role_id, "permissionId": await permission_id(a, pair.admin, USERS_READ)}
    assigned = await a.http.post(f"{API}/permission/assign", json=body, headers=pair.admin)
    assert assigned.is_success, assigned.text
    user_id = await register_user(a, pair.admin, role_id)
    token = await login_user(a, pair.admin, user_id)
    body = {"name": unique("key"), "permissions": [USERS_READ]}
    created = await a.http.post(f"{API}/auth/keys", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    return role_id, user_id, {**created.json()["data"], "headers": bearer(token)}


async def test_a_key_revoked_on_one_instance_is_refused_by_another_at_once(
    pair: Cluster, listen: Listen
) -> None:
    a, b = pair.instances
    _role_id, _user_id, key = await _owner_key(pair)
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 200
    socket = await listen(b.url, key["key"])

    revoked = await a.http.delete(f"{API}/auth/keys/{key['idKey']}", headers=key["headers"])

    assert revoked.status_code == 200, revoked.text
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 401
    assert await socket.disconnected_within(2)


async def test_a_demotion_on_one_instance_shrinks_the_key_on_another(pair: Cluster) -> None:
    a, b = pair.instances
    role_id, _user_id, key = await _owner_key(pair)
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 200

    body = {"roleId": role_id, "permissionId": await permission_id(a, pair.admin, USERS_READ)}
    unassigned = await a.http.request(
        "DELETE", f"{API}/permission/unassign", json=body, headers=pair.admin
    )

    assert unassigned.status_code == 200, unassigned.text
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 403
