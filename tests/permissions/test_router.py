"""The permission routes (reference §4) and how assignments rule the **perm** routes (§3)."""

from __future__ import annotations

import httpx

from tests.conftest import bearer, login
from tests.helpers import (
    API,
    create_role,
    data,
    failure,
    grant,
    member,
    permission_id,
    revoke,
    role_id_named,
    role_permissions,
    unique,
)

USERS_READ = "GET /api/v1/users"


async def create_permission(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, object]:
    body = {"nameUri": f"GET /api/v1/{unique('reports')}", "description": "Read reports"}
    return dict(data(await http.post(f"{API}/permission/register", headers=admin, json=body), 201))


# -- list and register -----------------------------------------------------------------------


async def test_any_signed_in_user_lists_the_permissions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    plain = await member(client, admin_headers)
    permissions = data(await client.get(f"{API}/permission", headers=plain.headers))
    assert USERS_READ in {permission["nameUri"] for permission in permissions}
    assert all(set(p) == {"idPermission", "nameUri", "description"} for p in permissions)


async def test_register_answers_the_new_permission_with_201(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create_permission(client, admin_headers)
    assert set(created) == {"idPermission", "nameUri", "description"}
    assert created in data(await client.get(f"{API}/permission", headers=admin_headers))


async def test_register_with_a_taken_name_uri_in_any_case_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name_uri in (USERS_READ, USERS_READ.lower(), "get /API/V1/USERS"):
        body = {"nameUri": name_uri, "description": "again"}
        response = await client.post(f"{API}/permission/register", headers=admin_headers, json=body)
        failure(response, 409)


async def test_register_with_a_short_name_uri_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in ({"nameUri": "G"}, {"nameUri": "x" * 101}, {}):
        response = await client.post(f"{API}/permission/register", headers=admin_headers, json=body)
        failure(response, 400)


# -- lookups ---------------------------------------------------------------------------------


async def test_get_by_role_id_lists_what_the_role_holds(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    everything = data(await client.get(f"{API}/permission", headers=admin_headers))
    admin_role = await role_id_named(client, admin_headers, "admin")
    user_role = await role_id_named(client, admin_headers, "user")
    assert await role_permissions(client, admin_headers, admin_role) == {
        permission["nameUri"] for permission in everything
    }
    assert await role_permissions(client, admin_headers, user_role) == set()


async def test_get_by_role_id_needs_a_valid_role_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    path = f"{API}/permission/getByRoleId"
    failure(await client.get(path, headers=admin_headers), 400)
    failure(await client.get(path, headers=admin_headers, params={"roleId": "abc"}), 400)
    failure(await client.get(path, headers=admin_headers, params={"roleId": 999_999}), 404)


async def test_get_by_name_uri_ignores_case(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        f"{API}/permission/getByNameUri",
        headers=admin_headers,
        params={"nameUri": "get /API/v1/Users"},
    )
    assert [permission["nameUri"] for permission in data(response)] == [USERS_READ]


async def test_get_by_name_uri_with_no_match_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        f"{API}/permission/getByNameUri",
        headers=admin_headers,
        params={"nameUri": "GET /api/v1/nothing"},
    )
    failure(response, 404)


# -- assign, unassign, delete ----------------------------------------------------------------


async def test_assign_is_idempotent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    body = {
        "roleId": role_id,
        "permissionId": await permission_id(client, admin_headers, USERS_READ),
    }
    for _ in range(2):
        response = await client.post(f"{API}/permission/assign", headers=admin_headers, json=body)
        assert data(response) is None
    assert await role_permissions(client, admin_headers, role_id) == {USERS_READ}


async def test_assign_with_an_unknown_role_or_permission_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    known = await permission_id(client, admin_headers, USERS_READ)
    for body in (
        {"roleId": 999_999, "permissionId": known},
        {"roleId": role_id, "permissionId": 999_999},
    ):
        response = await client.post(f"{API}/permission/assign", headers=admin_headers, json=body)
        failure(response, 400)


async def test_unassign_takes_the_ids_from_a_json_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    perm_id = await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    body = {"roleId": role_id, "permissionId": perm_id}
    response = await client.request(
        "DELETE", f"{API}/permission/unassign", headers=admin_headers, json=body
    )
    assert data(response) is None
    assert await role_permissions(client, admin_headers, role_id) == set()


async def test_unassign_without_a_body_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    failure(await client.delete(f"{API}/permission/unassign", headers=admin_headers), 400)


async def test_delete_removes_the_permission_and_its_assignments(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create_permission(client, admin_headers)
    role_id = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=role_id, name_uri=str(created["nameUri"]))
    path = f"{API}/permission/{created['idPermission']}"
    assert data(await client.delete(path, headers=admin_headers)) is None
    assert await role_permissions(client, admin_headers, role_id) == set()
    failure(await client.delete(path, headers=admin_headers), 404)


# -- enforcement: every change counts from the next request ----------------------------------


async def test_a_role_without_the_permission_is_refused_with_403(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    failure(await client.get(f"{API}/users", headers=user.headers), 403)


async def test_an_assigned_permission_counts_from_the_next_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    failure(await client.get(f"{API}/users", headers=user.headers), 403)
    await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    data(await client.get(f"{API}/users", headers=user.headers))


async def test_an_unassigned_permission_is_refused_from_the_next_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    perm_id = await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    data(await client.get(f"{API}/users", headers=user.headers))
    await revoke(client, admin_headers, role_id=role_id, permission_id=perm_id)
    failure(await client.get(f"{API}/users", headers=user.headers), 403)


async def test_a_deleted_permission_is_refused_from_the_next_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    perm_id = await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    data(await client.get(f"{API}/users", headers=user.headers))
    data(await client.delete(f"{API}/permission/{perm_id}", headers=admin_headers))
    failure(await client.get(f"{API}/users", headers=user.headers), 403)


async def test_a_user_moved_to_a_role_lacking_the_permission_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    allowed = await create_role(client, admin_headers)
    lacking = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=allowed)
    await grant(client, admin_headers, role_id=allowed, name_uri=USERS_READ)
    data(await client.get(f"{API}/users", headers=user.headers))
    body = {"roleId": lacking}
    data(await client.put(f"{API}/users/{user.id}", headers=admin_headers, json=body))
    # The role change ends the old session; a new one carries the new role.
    failure(await client.get(f"{API}/users", headers=user.headers), 401)
    token = await login(client, user.email, user.password)
    failure(await client.get(f"{API}/users", headers=bearer(token)), 403)


async def test_permission_names_match_the_route_case_insensitively(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    admin = admin_headers
    # Replace the seeded permission by one written in another case.
    seeded = await permission_id(client, admin, "GET /api/v1/users/:id")
    data(await client.delete(f"{API}/permission/{seeded}", headers=admin))
    body = {"nameUri": "get /API/v1/users/:ID", "description": "odd case"}
    created = data(await client.post(f"{API}/permission/register", headers=admin, json=body), 201)
    assign = {"roleId": role_id, "permissionId": created["idPermission"]}
    data(await client.post(f"{API}/permission/assign", headers=admin, json=assign))
    data(await client.get(f"{API}/users/{user.id}", headers=user.headers))


async def test_a_name_uri_too_long_once_lower_cased_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """`İ` lower-cases to two characters: 65 characters become 125 in the stored key."""
    body = {"nameUri": "GET /" + "İ" * 60}

    answer = await client.post(f"{API}/permission/register", headers=admin_headers, json=body)

    assert "in lower case" in failure(answer, 400)["errors"][0]["message"]
