"""Route permissions (reference §3): nameUri derivation, and what the bootstrap seeds from the
route table."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Iterator

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from seam_api.app import Application, create_app
from seam_api.bootstrap import bootstrap
from seam_api.security.access import PermissionCache, may_register_any_role, name_uri, permitted
from seam_api.settings import Settings
from tests.conftest import JWT_SECRET
from tests.helpers import (
    API,
    PASSWORD,
    data,
    grant,
    member,
    permission_id,
    revoke,
    role_id_named,
    unique_email,
)
from tests.loaders import Gated

# The **perm** routes of reference §4 and §9.6, and registration (4.1), as the contract writes them.
CONTRACT_PERM_ROUTES = {
    "POST /api/v1/auth/register",
    "GET /api/v1/users",
    "GET /api/v1/users/:id",
    "PUT /api/v1/users/:id",
    "PUT /api/v1/users/:id/state",
    "PUT /api/v1/users/:id/resetPassword",
    "DELETE /api/v1/users/:id",
    "GET /api/v1/users/:id/sessions",
    "DELETE /api/v1/users/:id/sessions",
    "GET /api/v1/users/:id/keys",
    "DELETE /api/v1/users/:id/keys/:idKey",
    "GET /api/v1/users/:id/mfa",
    "DELETE /api/v1/users/:id/mfa",
    "POST /api/v1/users/:id/invite",
    "POST /api/v1/users/import",
    "GET /api/v1/sidebar/all",
    "POST /api/v1/roles",
    "PUT /api/v1/roles/:idRole",
    "DELETE /api/v1/roles/:idRole",
    "POST /api/v1/permission/register",
    "POST /api/v1/permission/assign",
    "DELETE /api/v1/permission/unassign",
    "DELETE /api/v1/permission/:id",
    "POST /api/v1/sidebar",
    "PUT /api/v1/sidebar/:idItem",
    "DELETE /api/v1/sidebar/:idItem",
    "POST /api/v1/sidebar/:idItem/role/:idRole",
    "DELETE /api/v1/sidebar/:idItem/role/:idRole",
    "GET /api/v1/audit",
    "GET /api/v1/audit/:eventId",
    "GET /api/v1/audit/export",
}
PERMISSION_GUARDS = (permitted, may_register_any_role)


# -- name_uri --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "template", "expected"),
    [
        ("PUT", "/api/v1/users/{id}", "PUT /api/v1/users/:id"),
        ("GET", "/api/v1/users", "GET /api/v1/users"),
        ("put", "/api/v1/users/{id}/state", "PUT /api/v1/users/:id/state"),
        (
            "POST",
            "/api/v1/sidebar/{idItem}/role/{idRole}",
            "POST /api/v1/sidebar/:idItem/role/:idRole",
        ),
        ("DELETE", "/api/v1/permission/{id:int}", "DELETE /api/v1/permission/:id"),
    ],
)
def test_name_uri_is_the_method_and_the_express_style_path(
    method: str, template: str, expected: str
) -> None:
    assert name_uri(method, template) == expected


# -- what the bootstrap seeds ----------------------------------------------------------------


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def guarded_by_route_table(routes: Iterable[object]) -> set[str]:
    """The nameUri of every route whose dependencies, at any depth, check a permission."""
    return {
        name_uri(method, route.path_format)
        for route in routes
        if isinstance(route, APIRoute)
        and any(call in PERMISSION_GUARDS for call in _calls(route.dependant))
        for method in route.methods
    }


async def seeded(http: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    permissions = data(await http.get(f"{API}/permission", headers=headers))
    return {permission["nameUri"] for permission in permissions}


async def test_bootstrap_seeds_exactly_the_permissions_the_guards_require(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    names = await seeded(client, admin_headers)
    assert len(names) == len(data(await client.get(f"{API}/permission", headers=admin_headers)))
    assert names == guarded_by_route_table(app.routes)


def test_the_guarded_routes_are_the_contracts_perm_routes() -> None:
    settings = Settings(
        _env_file=None, database_url="sqlite+aiosqlite:///:memory:", jwt_secret=JWT_SECRET
    )
    assert guarded_by_route_table(create_app(settings).routes) == CONTRACT_PERM_ROUTES


async def test_a_user_without_permissions_is_refused_exactly_on_the_seeded_routes(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    names = await seeded(client, admin_headers)
    plain = await member(client, admin_headers)
    calls = [
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]
    # Logout revokes the token the other calls need, so it goes last.
    calls.sort(key=lambda call: call[1].endswith("/logout"))
    # A body registration accepts, so that its refusal (a service rule) is not a 400 first.
    body = {"full_name": "Probe Person", "email": unique_email(), "password": PASSWORD}
    for method, template in calls:
        url = re.sub(r"\{\w+\}", "1", template)
        response = await client.request(method, url, headers=plain.headers, json=body)
        refused = response.status_code == 403
        assert refused == (name_uri(method, template) in names), (method, template, response.text)


async def test_bootstrap_gives_admin_every_permission_and_the_default_role_none(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    names = await seeded(client, admin_headers)
    admin_role = await role_id_named(client, admin_headers, "admin")
    user_role = await role_id_named(client, admin_headers, "user")
    for role_id, expected in ((admin_role, names), (user_role, set())):
        response = await client.get(
            f"{API}/permission/getByRoleId", headers=admin_headers, params={"roleId": role_id}
        )
        assert {permission["nameUri"] for permission in data(response)} == expected


async def test_bootstrap_run_again_changes_nothing(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    before = [
        data(await client.get(f"{API}/{path}", headers=admin_headers))
        for path in ("permission", "roles", "users")
    ]
    report = await bootstrap(app.seam, app.routes)
    after = [
        data(await client.get(f"{API}/{path}", headers=admin_headers))
        for path in ("permission", "roles", "users")
    ]
    assert (report.permissions_created, report.admin_created, report.admin_password) == (
        0,
        False,
        None,
    )
    assert after == before


async def test_bootstrap_run_again_keeps_a_permission_the_admin_unassigned(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    admin_role = await role_id_named(client, admin_headers, "admin")
    perm_id = await permission_id(client, admin_headers, "DELETE /api/v1/users/:id")
    await revoke(client, admin_headers, role_id=admin_role, permission_id=perm_id)
    await bootstrap(app.seam, app.routes)
    response = await client.get(
        f"{API}/permission/getByRoleId", headers=admin_headers, params={"roleId": admin_role}
    )
    assert "DELETE /api/v1/users/:id" not in {p["nameUri"] for p in data(response)}


async def test_bootstrap_run_again_keeps_a_permission_given_to_another_role(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user_role = await role_id_named(client, admin_headers, "user")
    await grant(client, admin_headers, role_id=user_role, name_uri="GET /api/v1/users")
    await bootstrap(app.seam, app.routes)
    response = await client.get(
        f"{API}/permission/getByRoleId", headers=admin_headers, params={"roleId": user_role}
    )
    assert [p["nameUri"] for p in data(response)] == ["GET /api/v1/users"]


async def test_bootstrap_run_again_gives_admin_a_missing_route_permission(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # A deleted route permission stands in for the permission of a route added by an upgrade.
    missing = "DELETE /api/v1/sidebar/:idItem/role/:idRole"
    perm_id = await permission_id(client, admin_headers, missing)
    data(await client.delete(f"{API}/permission/{perm_id}", headers=admin_headers))
    report = await bootstrap(app.seam, app.routes)
    assert report.permissions_created == 1
    admin_role = await role_id_named(client, admin_headers, "admin")
    response = await client.get(
        f"{API}/permission/getByRoleId", headers=admin_headers, params={"roleId": admin_role}
    )
    assert missing in {p["nameUri"] for p in data(response)}


# -- the permission cache: a change that lands during a load wins over what the load read --


async def test_permissions_cleared_during_their_load_are_not_cached_stale() -> None:
    loads = Gated([(9, "GET /api/v1/users")], [])
    permissions = PermissionCache(loads, Gated([1, 2]), Gated(1))  # type: ignore[arg-type]
    racing = asyncio.create_task(permissions.holds(2, "GET /api/v1/users"))
    await asyncio.sleep(0)
    permissions.clear()  # the permission was unassigned while the query ran
    loads.release.set()

    assert await racing is True  # the request that raced the change saw the old state
    assert await permissions.holds(2, "GET /api/v1/users") is False
    assert loads.calls == 2


async def test_role_ids_cleared_during_their_load_are_not_cached_stale() -> None:
    role_ids = Gated([1, 2], [1, 2, 3])
    granted = Gated([(9, "GET /api/v1/users")])
    granted.release.set()
    permissions = PermissionCache(granted, role_ids, Gated(1))  # type: ignore[arg-type]
    racing = asyncio.create_task(permissions.split_roles("GET /api/v1/users"))
    await asyncio.sleep(0)
    permissions.clear()  # a role was created while the query ran
    role_ids.release.set()
    assert await racing == ([1, 2], [])

    assert await permissions.split_roles("GET /api/v1/users") == ([1, 2, 3], [])


async def test_the_admin_role_is_loaded_once_and_not_cached_stale() -> None:
    admin_role = Gated(1, None)
    permissions = PermissionCache(Gated([]), Gated([1]), admin_role)  # type: ignore[arg-type]
    racing = asyncio.create_task(permissions.is_admin(1))
    await asyncio.sleep(0)
    permissions.clear()  # the admin role was deleted while the query ran
    admin_role.release.set()
    assert await racing is True  # the request that raced the change saw the old state

    assert await permissions.is_admin(1) is False
    assert await permissions.is_admin(1) is False
    assert admin_role.calls == 2  # once for the race, once since: then from memory


# -- the permission cache drops only what a change can touch -------------------------------

# (operation, entity id) -> reloads of (role 1's permissions, role 2's, the role ids, admin)
SCOPED_CHANGES = [
    ("permission:assign", "2", (0, 1, 0, 0)),
    ("permission:unassign", "2", (0, 1, 0, 0)),
    ("permission:create", "9", (0, 0, 0, 0)),
    ("permission:delete", "9", (1, 0, 0, 0)),  # role 1's permission 9
    ("permission:delete", "8", (0, 0, 0, 0)),  # no role's
    ("role:create", "3", (0, 0, 1, 1)),
    ("role:edit", "2", (0, 0, 0, 0)),
    ("role:delete", "2", (0, 1, 1, 1)),
    ("something:new", "2", (1, 1, 1, 1)),  # a change it does not know: everything
]


async def _loaded_cache() -> tuple[PermissionCache, Counter[int], Gated, Gated]:
    reloads: Counter[int] = Counter()

    async def load_role(role_id: int) -> list[tuple[int, str]]:
        reloads[role_id] += 1
        return [(9, "GET /api/v1/users")] if role_id == 1 else []

    role_ids, admin_role = Gated([1, 2]), Gated(1)
    role_ids.release.set()
    admin_role.release.set()
    permissions = PermissionCache(load_role, role_ids, admin_role)  # type: ignore[arg-type]
    assert await permissions.split_roles("GET /api/v1/users") == ([1], [2])
    assert await permissions.is_admin(1)
    return permissions, reloads, role_ids, admin_role


@pytest.mark.parametrize(("operation", "entity_id", "expected"), SCOPED_CHANGES)
async def test_a_change_drops_only_what_it_can_touch(
    operation: str, entity_id: str, expected: tuple[int, int, int, int]
) -> None:
    permissions, reloads, role_ids, admin_role = await _loaded_cache()
    permissions.changed(operation, entity_id)
    await permissions.split_roles("GET /api/v1/users")
    await permissions.is_admin(1)
    assert (
        reloads[1] - 1,
        reloads[2] - 1,
        role_ids.calls - 1,
        admin_role.calls - 1,
    ) == expected


async def test_a_rename_reloads_the_admin_role_only_while_no_role_is_admin() -> None:
    permissions = PermissionCache(Gated([]), Gated([1]), admin_role := Gated(None, 2))  # type: ignore[arg-type]
    admin_role.release.set()
    assert not await permissions.is_admin(2)
    permissions.changed("role:edit", "2")  # renamed `admin`
    assert await permissions.is_admin(2)
    permissions.changed("role:edit", "3")  # any other edit: `admin` is known
    assert await permissions.is_admin(2)
    assert admin_role.calls == 2


async def test_a_scoped_change_during_a_load_keeps_that_load_from_being_cached() -> None:
    loads = Gated([(9, "GET /api/v1/users")], [])
    permissions = PermissionCache(loads, Gated([1, 2]), Gated(1))  # type: ignore[arg-type]
    racing = asyncio.create_task(permissions.holds(2, "GET /api/v1/users"))
    await asyncio.sleep(0)
    permissions.changed("permission:unassign", "2")
    loads.release.set()
    assert await racing is True
    assert await permissions.holds(2, "GET /api/v1/users") is False
