"""What the login (and `GET /auth/capabilities`) says a caller may do matches what the server
then lets it do: the console offers only what will work."""

from __future__ import annotations

import httpx

from tests.helpers import API, PASSWORD, create_role, data, grant, member, register, role_id_named


async def _login_data(http: httpx.AsyncClient, email: str) -> dict[str, object]:
    body = {"email": email, "password": PASSWORD}
    return dict(data(await http.post(f"{API}/auth/login", json=body)))


async def test_the_admin_may_assign_every_role_and_manage_admins(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    extra = await create_role(client, admin_headers)
    every = sorted(
        role["idRole"] for role in data(await client.get(f"{API}/roles", headers=admin_headers))
    )
    reach = data(await client.get(f"{API}/auth/capabilities", headers=admin_headers))
    assert reach == {"assignableRoleIds": every, "mayManageAdmins": True}
    assert extra in reach["assignableRoleIds"]


async def test_a_delegated_role_is_offered_exactly_the_roles_the_server_accepts(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    editor_role = await create_role(client, admin_headers)
    for name_uri in ("GET /api/v1/users", "PUT /api/v1/users/:id"):
        await grant(client, admin_headers, role_id=editor_role, name_uri=name_uri)
    wider_role = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=wider_role, name_uri="DELETE /api/v1/users/:id")
    editor = await member(client, admin_headers, role_id=editor_role)
    reach = (await _login_data(client, editor.email))["capabilities"]
    assert isinstance(reach, dict)
    default_role = await role_id_named(client, admin_headers, "user")
    assert reach == {
        "assignableRoleIds": sorted([default_role, editor_role]),
        "mayManageAdmins": False,
    }
    every = [
        role["idRole"] for role in data(await client.get(f"{API}/roles", headers=admin_headers))
    ]
    target = await register(client, admin_headers)
    for role_id in every:
        response = await client.put(
            f"{API}/users/{target['idUser']}", headers=editor.headers, json={"roleId": role_id}
        )
        expected = 200 if role_id in reach["assignableRoleIds"] else 403
        assert response.status_code == expected, (role_id, response.text)
        if expected == 200:  # back to a role the editor may change again
            data(
                await client.put(
                    f"{API}/users/{target['idUser']}",
                    headers=admin_headers,
                    json={"roleId": default_role},
                )
            )


async def test_capabilities_follow_a_change_to_the_callers_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    other = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=other, name_uri="GET /api/v1/users")
    someone = await member(client, admin_headers, role_id=role)
    before = data(await client.get(f"{API}/auth/capabilities", headers=someone.headers))
    assert other not in before["assignableRoleIds"]
    await grant(client, admin_headers, role_id=role, name_uri="GET /api/v1/users")
    after = data(await client.get(f"{API}/auth/capabilities", headers=someone.headers))
    assert other in after["assignableRoleIds"] and role in after["assignableRoleIds"]
    login_reach = (await _login_data(client, someone.email))["capabilities"]
    assert login_reach == after


async def test_capabilities_need_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/auth/capabilities")
    assert response.status_code == 401
    assert response.json()["success"] is False
