"""Small builders the REST tests share: envelopes, roles, users logged in, permission lookups.

Everything goes through the public API, as a client would do it.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import bearer, login

API = "/api/v1"
PASSWORD = "member-password-1"
SECRET_MARKERS = ("password_hash", "$2b$", "$argon2")


def unique(prefix: str) -> str:
    """A name no other test row has."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email() -> str:
    return f"{unique('user')}@example.com"


def data(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a success envelope, after checking the status and the envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    assert isinstance(body["message"], str)
    return body["data"]


def failure(response: httpx.Response, status: int) -> dict[str, Any]:
    """The body of an error envelope, after checking the status and the envelope."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False, body
    assert isinstance(body["message"], str) and body["message"], body
    assert "data" not in body
    return body


def assert_no_secrets(response: httpx.Response) -> None:
    """No password hash (by field name or by its bcrypt form) in any answer."""
    for marker in SECRET_MARKERS:
        assert marker not in response.text, response.text


async def create_role(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    response = await http.post(f"{API}/roles", headers=admin, json={"roleName": unique("role")})
    return int(data(response, 201)["idRole"])


async def role_id_named(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    roles = data(await http.get(f"{API}/roles", headers=headers))
    return next(int(role["idRole"]) for role in roles if role["roleName"] == name)


async def register(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    role_id: int | None = None,
    email: str | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    """A new active user (registered by the admin); the user as the API shows it."""
    body: dict[str, Any] = {
        "full_name": "Test Member",
        "email": email or unique_email(),
        "password": password,
    }
    if role_id is not None:
        body["roleId"] = role_id
    return dict(data(await http.post(f"{API}/auth/register", headers=admin, json=body), 201))


@dataclass(frozen=True, slots=True)
class Member:
    """A registered, signed-in user."""

    id: int
    email: str
    password: str
    role_id: int
    headers: dict[str, str]


async def member(
    http: httpx.AsyncClient, admin: dict[str, str], *, role_id: int | None = None
) -> Member:
    """A user of `role_id` (default: the registration default role), signed in."""
    user = await register(http, admin, role_id=role_id)
    token = await login(http, user["email"], PASSWORD)
    return Member(
        id=int(user["idUser"]),
        email=user["email"],
        password=PASSWORD,
        role_id=int(user["roleId"]),
        headers=bearer(token),
    )


async def permission_id(http: httpx.AsyncClient, headers: dict[str, str], name_uri: str) -> int:
    response = await http.get(
        f"{API}/permission/getByNameUri", headers=headers, params={"nameUri": name_uri}
    )
    return int(data(response)[0]["idPermission"])


async def grant(
    http: httpx.AsyncClient, admin: dict[str, str], *, role_id: int, name_uri: str
) -> int:
    """Give `role_id` the permission `name_uri`; returns the permission id."""
    perm_id = await permission_id(http, admin, name_uri)
    body = {"roleId": role_id, "permissionId": perm_id}
    data(await http.post(f"{API}/permission/assign", headers=admin, json=body))
    return perm_id


async def revoke(
    http: httpx.AsyncClient, admin: dict[str, str], *, role_id: int, permission_id: int
) -> None:
    body = {"roleId": role_id, "permissionId": permission_id}
    data(await http.request("DELETE", f"{API}/permission/unassign", headers=admin, json=body))


async def role_permissions(
    http: httpx.AsyncClient, headers: dict[str, str], role_id: int
) -> set[str]:
    """The nameUris a role holds."""
    response = await http.get(
        f"{API}/permission/getByRoleId", headers=headers, params={"roleId": role_id}
    )
    return {permission["nameUri"] for permission in data(response)}


async def edit_at_once(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    bodies: list[dict[str, Any]],
    *,
    entity: str,
    field: str,
) -> list[list[Any]]:
    """PUT every body to `path` at once (each must answer 200), then the `[before, after]` of
    `field` in the audit entries of that entity, oldest first. Edits that each read what the
    one before left chain: every entry's before is the previous entry's after."""
    answers = await asyncio.gather(*(http.put(path, headers=headers, json=b) for b in bodies))
    assert [answer.status_code for answer in answers] == [200] * len(bodies)
    params = {"entity": entity, "entityId": path.rsplit("/", 1)[1], "operation": f"{entity}:edit"}
    entries = data(await http.get(f"{API}/audit", headers=headers, params=params))
    return [entry["changes"][field] for entry in reversed(entries)]


def chained(changes: list[list[Any]]) -> bool:
    return all(after[0] == before[1] for before, after in itertools.pairwise(changes))
