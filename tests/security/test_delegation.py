"""Delegated administration never escalates: a caller grants only what its role holds, never
changes its own role or what it holds, and leaves alone accounts holding more than it does."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from seam_api.app import Application
from seam_api.models import users
from tests.helpers import (
    API,
    create_role,
    data,
    failure,
    grant,
    member,
    permission_id,
    register,
    role_id_named,
)

EDIT_USER = "PUT /api/v1/users/:id"
ASSIGN = "POST /api/v1/permission/assign"
REGISTER = "POST /api/v1/auth/register"
CREATE_ROLE = "POST /api/v1/roles"


async def delegate(
    http: httpx.AsyncClient, admin: dict[str, str], *name_uris: str
) -> tuple[int, dict[str, str], int]:
    """A new role holding `name_uris`, a signed-in member of it, and the member's id."""
    role_id = await create_role(http, admin)
    for name_uri in name_uris:
        await grant(http, admin, role_id=role_id, name_uri=name_uri)
    user = await member(http, admin, role_id=role_id)
    return role_id, user.headers, user.id


async def test_an_editor_of_users_cannot_give_the_admin_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, editor, _me = await delegate(client, admin_headers, EDIT_USER)
    peer = await register(client, admin_headers)
    admin_role = await role_id_named(client, admin_headers, "admin")

    answer = await client.put(
        f"{API}/users/{peer['idUser']}", headers=editor, json={"roleId": admin_role}
    )

    failure(answer, 403)


async def test_an_editor_of_users_cannot_touch_an_account_holding_more(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, editor, _me = await delegate(client, admin_headers, EDIT_USER)
    admin_role = await role_id_named(client, admin_headers, "admin")
    other_admin = await register(client, admin_headers, role_id=admin_role)

    answer = await client.put(
        f"{API}/users/{other_admin['idUser']}", headers=editor, json={"password": "taken-over-1"}
    )

    assert "more than your role" in failure(answer, 403)["message"]


async def test_an_editor_of_users_may_edit_an_account_holding_less(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, editor, _me = await delegate(client, admin_headers, EDIT_USER)
    peer = await register(client, admin_headers)

    answer = await client.put(
        f"{API}/users/{peer['idUser']}", headers=editor, json={"full_name": "Renamed"}
    )

    assert data(answer)["full_name"] == "Renamed"


async def test_a_caller_cannot_change_its_own_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, editor, me = await delegate(client, admin_headers, EDIT_USER)
    lesser = await create_role(client, admin_headers)

    answer = await client.put(f"{API}/users/{me}", headers=editor, json={"roleId": lesser})

    failure(answer, 403)


async def test_an_assigner_cannot_give_its_own_role_more(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    own_role, assigner, _me = await delegate(client, admin_headers, ASSIGN)
    wanted = await permission_id(client, admin_headers, EDIT_USER)

    answer = await client.post(
        f"{API}/permission/assign",
        headers=assigner,
        json={"roleId": own_role, "permissionId": wanted},
    )

    failure(answer, 403)


async def test_an_assigner_grants_only_what_it_holds(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, assigner, _me = await delegate(client, admin_headers, ASSIGN, CREATE_ROLE)
    other = await create_role(client, admin_headers)
    held = await permission_id(client, admin_headers, CREATE_ROLE)
    lacked = await permission_id(client, admin_headers, EDIT_USER)

    refused = await client.post(
        f"{API}/permission/assign", headers=assigner, json={"roleId": other, "permissionId": lacked}
    )
    granted = await client.post(
        f"{API}/permission/assign", headers=assigner, json={"roleId": other, "permissionId": held}
    )

    failure(refused, 403)
    data(granted)


async def test_a_registrar_cannot_create_admins(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _role, registrar, _me = await delegate(client, admin_headers, REGISTER)
    admin_role = await role_id_named(client, admin_headers, "admin")
    body = {
        "full_name": "Would-be Admin",
        "email": "would-be-admin@example.com",
        "password": "admin-password-2",
        "roleId": admin_role,
    }

    failure(await client.post(f"{API}/auth/register", headers=registrar, json=body), 403)


async def test_a_role_renamed_admin_once_admin_is_gone_has_admins_power_at_once(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Which role is `admin` is cached beside the permissions (PermissionCache.is_admin):
    deleting a role and renaming one both drop that cache."""
    ops, operator, _me = await delegate(
        client,
        admin_headers,
        EDIT_USER,
        "DELETE /api/v1/roles/:idRole",
        "PUT /api/v1/roles/:idRole",
    )
    _other, _peer_headers, peer = await delegate(client, admin_headers, ASSIGN)
    admin_role = await role_id_named(client, admin_headers, "admin")
    async with app.seam.db.transaction() as conn:  # nobody holds `admin` any more
        await conn.execute(update(users).where(users.c.role_id == admin_role).values(role_id=ops))
    edit = {"full_name": "Edited By Ops"}

    failure(await client.put(f"{API}/users/{peer}", headers=operator, json=edit), 403)
    data(await client.delete(f"{API}/roles/{admin_role}", headers=operator))
    # With no `admin` role, the operator's role is still an ordinary one.
    failure(await client.put(f"{API}/users/{peer}", headers=operator, json=edit), 403)
    data(await client.put(f"{API}/roles/{ops}", headers=operator, json={"roleName": "admin"}))
    data(await client.put(f"{API}/users/{peer}", headers=operator, json=edit))
