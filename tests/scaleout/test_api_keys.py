"""Contract 9.5 across instances (conftest.py's PostgreSQL cluster over Redis): a key cached by
one instance stops working there the moment another instance revokes it (the bus drops it and
closes its sockets), and a demotion made on one instance shrinks the key on another at its
next request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import bearer
from tests.scaleout.conftest import (
    API,
    Cluster,
    create_role,
    login_user,
    permission_id,
    register_user,
    unique,
)

Listen = Callable[[str, str], Any]
USERS_READ = "GET /api/v1/users"


async def _owner_key(cluster: Cluster) -> tuple[int, int, dict[str, Any]]:
    """A role holding GET /users, a user of it, and their key for that permission."""
    a = cluster.instances[0]
    role_id = await create_role(a, cluster.admin, unique("role"))
    body = {"roleId": role_id, "permissionId": await permission_id(a, cluster.admin, USERS_READ)}
    assigned = await a.http.post(f"{API}/permission/assign", json=body, headers=cluster.admin)
    assert assigned.is_success, assigned.text
    user_id = await register_user(a, cluster.admin, role_id)
    token = await login_user(a, cluster.admin, user_id)
    body = {"name": unique("key"), "permissions": [USERS_READ]}
    created = await a.http.post(f"{API}/auth/keys", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    return role_id, user_id, {**created.json()["data"], "headers": bearer(token)}


async def test_a_key_revoked_on_one_instance_is_refused_by_another_at_once(
    cluster: Cluster, listen: Listen
) -> None:
    a, b = cluster.instances[:2]
    _role_id, _user_id, key = await _owner_key(cluster)
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 200
    socket = await listen(b.url, key["key"])

    revoked = await a.http.delete(f"{API}/auth/keys/{key['idKey']}", headers=key["headers"])

    assert revoked.status_code == 200, revoked.text
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 401
    assert await socket.disconnected_within(2)


async def test_a_demotion_on_one_instance_shrinks_the_key_on_another(cluster: Cluster) -> None:
    a, b = cluster.instances[:2]
    role_id, _user_id, key = await _owner_key(cluster)
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 200

    body = {"roleId": role_id, "permissionId": await permission_id(a, cluster.admin, USERS_READ)}
    unassigned = await a.http.request(
        "DELETE", f"{API}/permission/unassign", json=body, headers=cluster.admin
    )

    assert unassigned.status_code == 200, unassigned.text
    assert (await b.http.get(f"{API}/users", headers=bearer(key["key"]))).status_code == 403
